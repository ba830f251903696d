#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for tests/test_explorer_browser.py and
# benchmarks/explorer_page.py: the explorer page must render and select in a real browser.
# The tests drive Chromium's own DevTools protocol (--remote-debugging-port), so no WebDriver
# (chromium-driver) and no browser download by a Python package are needed.
# Run as root from anywhere:  bash tests/servers/chromium/provision.sh
# Idempotent: once chromium is on PATH it returns at once.
set -euo pipefail

log() { printf '[provision-chromium] %s\n' "$*"; }

if command -v chromium >/dev/null; then
  log "chromium already installed"
  exit 0
fi
log "installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null || { log "chromium not on PATH after installing it" >&2; exit 1; }
log "installed $(chromium --version 2>/dev/null)"

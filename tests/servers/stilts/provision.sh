#!/usr/bin/env bash
# STILTS (and the Java it runs on) from Debian's packages, for tests/test_catalogue_stilts.py: the
# embedding catalogue must open in the tools astronomers use (TOPCAT reads tables with the same library).
# Run as root from anywhere:  bash tests/servers/stilts/provision.sh
# Idempotent: once stilts is on PATH it returns at once.
set -euo pipefail

log() { printf '[provision-stilts] %s\n' "$*"; }

if command -v stilts >/dev/null; then
  log "stilts already installed"
  exit 0
fi
log "installing stilts"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends stilts >/dev/null
command -v stilts >/dev/null || { log "stilts not on PATH after installing it" >&2; exit 1; }
log "installed $(stilts -version 2>/dev/null | grep -m 1 "STILTS version")"

#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for tests/test_explorer_browser.py and
# benchmarks/explorer_page.py: the explorer page must render and select in a real browser.
# The tests drive Chromium's own DevTools protocol (--remote-debugging-port), so no WebDriver
# (chromium-driver) and no browser download by a Python package are needed.
# Run as root from anywhere:  bash tests/servers/chromium/provision.sh
exec bash "$(dirname "$0")/../install_command.sh" chromium chromium "chromium --version"

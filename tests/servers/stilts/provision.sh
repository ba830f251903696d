#!/usr/bin/env bash
# STILTS (and the Java it runs on) from Debian's packages, for tests/test_catalogue_stilts.py: the
# embedding catalogue must open in the tools astronomers use (TOPCAT reads tables with the same library).
# Run as root from anywhere:  bash tests/servers/stilts/provision.sh
exec bash "$(dirname "$0")/../install_command.sh" stilts stilts 'stilts -version | grep -m 1 "STILTS version"'

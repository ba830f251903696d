#!/usr/bin/env bash
# Installs one Debian package for the command a test runs, as root:
#   bash tests/servers/install_command.sh COMMAND PACKAGE VERSION_COMMAND
# Idempotent: once COMMAND is on PATH it returns at once. VERSION_COMMAND's output ends the log.
set -euo pipefail
command_name="$1" package="$2" version_command="$3"

log() { printf '[provision-%s] %s\n' "$command_name" "$*"; }

if command -v "$command_name" >/dev/null; then
  log "$command_name already installed"
  exit 0
fi
log "installing $package"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$package" >/dev/null
command -v "$command_name" >/dev/null || { log "$command_name not on PATH after installing $package" >&2; exit 1; }
log "installed $(bash -c "$version_command" 2>/dev/null)"

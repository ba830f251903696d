#!/usr/bin/env bash
# Write /etc/gavo.rc for the test DaCHS: bind 127.0.0.1:<port> (arg 1 or $DACHS_PORT, default 8765),
# and MAXREC limits. Used by provision.sh and by start.sh when the port changes. Needs root.
set -euo pipefail
PORT="${1:-${DACHS_PORT:-8765}}"
case "$PORT" in ''|*[!0-9]*) echo "configure.sh: bad port '$PORT'" >&2; exit 2;; esac
tmp=$(mktemp /etc/gavo.rc.XXXXXX)
cat >"$tmp" <<RC
# written by dimred-flow tests/servers/dachs/configure.sh -- test server only
[general]
maintainerAddress: dimred-flow-tests@localhost

[web]
bindAddress: 127.0.0.1
serverPort: $PORT
serverURL: http://127.0.0.1:$PORT
sitename: dimred-flow test TAP

[async]
# MAXREC when the client gives none, and the most any client may ask for
defaultMAXREC: 1000000
hardMAXREC: 10000000

[ivoa]
# the same for sync TAP queries
dalDefaultLimit: 1000000
dalHardLimit: 10000000
RC
chmod 0644 "$tmp"
mv -f "$tmp" /etc/gavo.rc

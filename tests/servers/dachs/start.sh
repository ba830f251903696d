#!/usr/bin/env bash
# Start the test DaCHS TAP server in the background on 127.0.0.1:<port>.
#
#   tests/servers/dachs/start.sh [PORT]      # PORT default: $DACHS_PORT or 8765
#
# Starts PostgreSQL 15/main if needed, rewrites /etc/gavo.rc when the port differs,
# runs `dachs serve start -f` in the background (pid in $DACHS_PIDFILE), waits until
# the TAP endpoint answers and prints its URL (last line of stdout):
#   http://127.0.0.1:<port>/tap
# Stop it with tests/servers/dachs/stop.sh. Needs root (as provision.sh).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${1:-${DACHS_PORT:-8765}}"
PIDFILE="${DACHS_PIDFILE:-/var/gavo/state/dimred-serve.pid}"
LOGFILE="${DACHS_LOGFILE:-/var/gavo/logs/dimred-serve.log}"
WAIT="${DACHS_START_WAIT:-60}"
TAP_URL="http://127.0.0.1:${PORT}/tap"

die() { echo "dachs start: ERROR: $*" >&2; exit 1; }
command -v dachs >/dev/null || die "DaCHS not provisioned: run tests/servers/dachs/provision.sh as root"

answers() {  # TAP availability endpoint answers 200
  curl -fsS -o /dev/null --max-time 3 "$TAP_URL/availability" 2>/dev/null
}

# PostgreSQL
if ! pg_lsclusters -h | awk '$1==15 && $2=="main" {print $4}' | grep -qx online; then
  echo "dachs start: starting PostgreSQL 15/main" >&2
  pg_ctlcluster 15 main start || die "pg_ctlcluster 15 main start failed"
fi

# already running on this port?
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  if answers && [ "$(dachs config web serverPort 2>/dev/null)" = "$PORT" ]; then
    echo "dachs start: already running (pid $(cat "$PIDFILE"))" >&2
    echo "$TAP_URL"; exit 0
  fi
  "$HERE/stop.sh"
fi

# port config
if [ "$(dachs config web serverPort 2>/dev/null)" != "$PORT" ]; then
  echo "dachs start: configuring port $PORT in /etc/gavo.rc" >&2
  "$HERE/configure.sh" "$PORT"
fi
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${PORT}/" 2>/dev/null; then
  die "something else already listens on 127.0.0.1:$PORT"
fi

mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOGFILE")"
setsid dachs serve start -f >>"$LOGFILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"
for _ in $(seq 1 $((WAIT * 4))); do
  if answers; then
    echo "dachs start: up (pid $pid, log $LOGFILE)" >&2
    echo "$TAP_URL"; exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$LOGFILE" >&2; rm -f "$PIDFILE"; die "dachs serve exited during start (log above)"; }
  sleep 0.25
done
tail -n 30 "$LOGFILE" >&2
"$HERE/stop.sh" || true
die "TAP endpoint $TAP_URL did not answer within ${WAIT}s"

#!/usr/bin/env bash
# Stop the test DaCHS server started by start.sh (PostgreSQL is left running).
#   tests/servers/dachs/stop.sh
set -euo pipefail
PIDFILE="${DACHS_PIDFILE:-/var/gavo/state/dimred-serve.pid}"
[ -f "$PIDFILE" ] || { echo "dachs stop: not running (no $PIDFILE)" >&2; exit 0; }
pid=$(cat "$PIDFILE")
if kill -0 "$pid" 2>/dev/null; then
  # setsid made pid a process-group leader: signal the group (dachs and any child)
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
fi
rm -f "$PIDFILE"
echo "dachs stop: stopped (pid $pid)" >&2

#!/usr/bin/env bash
# Stop the single-node Slurm started by provision.sh (by pid file only).
#   bash tests/servers/slurm/stop.sh          # slurmd, slurmctld, slurmdbd
#   bash tests/servers/slurm/stop.sh --all    # also munged and mariadb
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "stop.sh: must run as root" >&2; exit 1; }

stop_pidfile() {  # stop_pidfile PIDFILE NAME
  local pid i
  [ -s "$1" ] || { echo "[stop-slurm] $2 not running (no pid file)"; return 0; }
  pid=$(cat "$1")
  if ! kill -0 "$pid" 2>/dev/null; then echo "[stop-slurm] $2 not running"; rm -f "$1"; return 0; fi
  echo "[stop-slurm] stopping $2 (pid $pid)"
  kill "$pid" 2>/dev/null
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; fi
  rm -f "$1"
}

stop_pidfile /run/slurm/slurmd.pid slurmd
stop_pidfile /run/slurm/slurmctld.pid slurmctld
stop_pidfile /run/slurm/slurmdbd.pid slurmdbd
if [ "${1:-}" = "--all" ]; then
  stop_pidfile /run/munge/munged.pid munged
  if mysqladmin --protocol=socket ping >/dev/null 2>&1; then
    echo "[stop-slurm] stopping mariadb"
    mysqladmin --protocol=socket shutdown || echo "[stop-slurm] mariadb shutdown failed" >&2
  fi
fi
exit 0

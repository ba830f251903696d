#!/usr/bin/env bash
# Provision a local GAVO DaCHS TAP server for the dimred-flow tests (Debian 12, run as root).
#
#   sudo tests/servers/dachs/provision.sh            # install + configure + import
#   DACHS_PORT=8765 tests/servers/dachs/provision.sh # port written to /etc/gavo.rc
#
# Idempotent: safe to run again (re-imports the table). Does not leave a server
# running; start it with tests/servers/dachs/start.sh, stop it with stop.sh.
#
# What it does:
#   1. PostgreSQL 15 installed (if missing: the bookworm *main* version, see TRAP) and started
#      with pg_ctlcluster (there is no systemd).
#   2. gavodachs2-server (+ pgsphere, q3c) installed; its postinst needs the running cluster.
#   3. pg_sphere checked to load (TRAP: Debian 12's pgsphere 1.1.1 fails CREATE EXTENSION on
#      PostgreSQL >= 15.20 from bookworm-security; then postgresql-15 is pinned back to the
#      bookworm main version).
#   4. /etc/gavo.rc written (127.0.0.1:$DACHS_PORT, MAXREC limits), the RD + CSV copied to
#      /var/gavo/inputs/dimred_test/ and imported with `dachs imp q` -> ADQL table dimred_test.main.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${DACHS_PORT:-${1:-8765}}"
RES_NAME="dimred_test"
RES_DIR="/var/gavo/inputs/${RES_NAME}"
PGVER=15
export DEBIAN_FRONTEND=noninteractive
# DPkg::Lock::Timeout: wait for another apt/dpkg run (e.g. a concurrent provisioning) instead of failing
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
T0=$(date +%s)

log()  { printf '[dachs-provision %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die()  { printf '[dachs-provision] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; [ $rc -ne 0 ] && printf "[dachs-provision] FAILED (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, /etc/gavo.rc, /var/gavo)"
[ -f "$HERE/q.rd" ] || die "missing $HERE/q.rd"
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || log "warning: not Debian 12 (bookworm); continuing anyway"

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

# version of postgresql-15 offered by bookworm main (not -security/-updates); empty if none
main_pg_version() {
  apt-cache madison "postgresql-$PGVER" 2>/dev/null \
    | awk -F'|' '$3 ~ /debian bookworm\/main/ && $3 !~ /security|updates/ {gsub(/ /,"",$2); print $2; exit}'
}

apt_lists_fresh=0
apt_update_once() {
  if [ "$apt_lists_fresh" -eq 0 ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || die "apt-get update failed (no access to the Debian mirror?)"
    apt_lists_fresh=1
  fi
}

start_cluster() {
  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PGVER" '$1==v && $2=="main"' | grep -q .; then
    log "creating PostgreSQL cluster $PGVER/main"
    pg_createcluster "$PGVER" main >/dev/null
  fi
  if pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    log "PostgreSQL $PGVER/main already running"
  else
    log "starting PostgreSQL $PGVER/main"
    pg_ctlcluster "$PGVER" main start || die "pg_ctlcluster $PGVER main start failed; see /var/log/postgresql/postgresql-$PGVER-main.log"
  fi
}

pgsphere_ok() {
  # the running server must be the installed binary (a package upgrade without a restart
  # leaves the old one running, and the probe would pass on the wrong version)
  local running installed_v
  running=$(su postgres -c "psql -qAtX -c 'SHOW server_version'" 2>/dev/null | awk '{print $1}')
  installed_v=$(dpkg-query -W -f='${Version}' "postgresql-$PGVER" | sed 's/-.*//')
  if [ -n "$running" ] && [ "$running" != "$installed_v" ]; then
    log "PostgreSQL running $running but $installed_v installed: restarting the cluster"
    pg_ctlcluster "$PGVER" main restart || die "pg_ctlcluster $PGVER main restart failed"
  fi
  # CREATE EXTENSION pg_sphere in a throwaway database (the DaCHS one may not exist yet)
  su postgres -c "psql -qAtX -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS dachs_pgsphere_probe' -c 'CREATE DATABASE dachs_pgsphere_probe'" >/dev/null 2>&1 || return 1
  local out rc=0
  out=$(su postgres -c "psql -qAtX -v ON_ERROR_STOP=1 -d dachs_pgsphere_probe -c 'CREATE EXTENSION pg_sphere'" 2>&1) || rc=$?
  su postgres -c "psql -qAtX -c 'DROP DATABASE IF EXISTS dachs_pgsphere_probe'" >/dev/null 2>&1 || true
  [ $rc -eq 0 ] || { PGSPHERE_ERR="$out"; return 1; }
}

# ---------------------------------------------------------------- 1. PostgreSQL
if ! apt-cache show gavodachs2-server >/dev/null 2>&1 || [ -z "$(main_pg_version)" ]; then
  apt_update_once
fi
if installed "postgresql-$PGVER"; then
  log "postgresql-$PGVER $(dpkg-query -W -f='${Version}' postgresql-$PGVER) already installed (not upgraded)"
else
  v=$(main_pg_version)
  [ -n "$v" ] || { apt_update_once; v=$(main_pg_version); }
  [ -n "$v" ] || die "no postgresql-$PGVER in bookworm main (apt sources?)"
  log "installing postgresql-$PGVER=$v (bookworm main version; newer ones break pgsphere 1.1.1)"
  apt-get install "${APT_OPTS[@]}" --no-install-recommends \
    "postgresql-$PGVER=$v" "postgresql-client-$PGVER=$v" postgresql-common postgresql-client-common >/dev/null \
    || die "installing postgresql-$PGVER=$v failed"
fi
start_cluster

# ---------------------------------------------------------------- 2. DaCHS
if installed gavodachs2-server && command -v dachs >/dev/null; then
  log "gavodachs2-server $(dpkg-query -W -f='${Version}' gavodachs2-server) already installed"
else
  log "installing gavodachs2-server, postgresql-$PGVER-pgsphere, postgresql-$PGVER-q3c (takes about a minute)"
  # apt keeps an installed postgresql-15 at its version here (no upgrade needed by the deps); step 3 checks it
  if ! apt-get install "${APT_OPTS[@]}" --no-install-recommends \
        gavodachs2-server "postgresql-$PGVER-pgsphere" "postgresql-$PGVER-q3c" >/tmp/dachs-apt.log 2>&1; then
    log "apt-get install failed; retrying after apt-get update (log: /tmp/dachs-apt.log)"
    apt_update_once
    start_cluster
    apt-get install "${APT_OPTS[@]}" --no-install-recommends \
        gavodachs2-server "postgresql-$PGVER-pgsphere" "postgresql-$PGVER-q3c" >>/tmp/dachs-apt.log 2>&1 || true
  fi
fi

# ---------------------------------------------------------------- 3. pgsphere vs PostgreSQL version
if ! pgsphere_ok; then
  log "pg_sphere does not load on postgresql-$PGVER $(dpkg-query -W -f='${Version}' postgresql-$PGVER): ${PGSPHERE_ERR:-?}"
  v=$(main_pg_version)
  [ -n "$v" ] || die "pg_sphere broken and no bookworm-main postgresql-$PGVER to pin back to"
  log "pinning postgresql-$PGVER back to $v"
  pg_ctlcluster "$PGVER" main stop || true
  apt-get install "${APT_OPTS[@]}" --allow-downgrades --no-install-recommends \
    "postgresql-$PGVER=$v" "postgresql-client-$PGVER=$v" >>/tmp/dachs-apt.log 2>&1 \
    || die "downgrading postgresql-$PGVER to $v failed (log: /tmp/dachs-apt.log)"
  apt-mark hold "postgresql-$PGVER" "postgresql-client-$PGVER" >/dev/null
  start_cluster
  pgsphere_ok || die "pg_sphere still fails after pinning postgresql-$PGVER=$v: ${PGSPHERE_ERR:-?}"
fi
log "pg_sphere loads"

# finish a postinst that failed earlier (e.g. cluster was down, pgsphere broken)
DACHS_PKGS=(gavodachs2-server python3-gavo "postgresql-$PGVER-pgsphere" "postgresql-$PGVER-q3c")
all_configured() { for p in "${DACHS_PKGS[@]}"; do installed "$p" || return 1; done; }
if ! all_configured; then
  log "dpkg --configure -a (finishing interrupted package configuration)"
  for _ in $(seq 1 120); do  # dpkg has no lock timeout: wait for a concurrent apt/dpkg run
    if dpkg --configure -a >>/tmp/dachs-apt.log 2>&1; then break; fi
    grep -q 'lock' <(tail -n 5 /tmp/dachs-apt.log) || break
    sleep 5
  done
  all_configured || die "DaCHS packages not configured (${DACHS_PKGS[*]}); see /tmp/dachs-apt.log"
fi
installed gavodachs2-server || die "gavodachs2-server not installed; see /tmp/dachs-apt.log"
command -v dachs >/dev/null || die "dachs command missing after install"
id dachsroot >/dev/null 2>&1 || die "user dachsroot missing (gavodachs2-server postinst did not complete)"

# ---------------------------------------------------------------- 4. configuration
log "writing /etc/gavo.rc (http://127.0.0.1:$PORT)"
"$HERE/configure.sh" "$PORT"

# ---------------------------------------------------------------- 5. resource + import
CSV="$HERE/gaia_sample.csv"
if [ ! -s "$CSV" ]; then
  log "generating $CSV"
  PY="${PYTHON:-$(cd "$HERE/../../.." && pwd)/.venv/bin/python}"
  [ -x "$PY" ] || PY=python3
  "$PY" "$HERE/make_table.py" --output "$CSV" || die "make_table.py failed"
fi
log "installing resource into $RES_DIR"
install -d -o dachsroot -g gavo -m 2775 "$RES_DIR"
install -o dachsroot -g gavo -m 0664 "$HERE/q.rd" "$RES_DIR/q.rd"
install -o dachsroot -g gavo -m 0664 "$CSV" "$RES_DIR/gaia_sample.csv"

log "importing (dachs imp q)"
su dachsroot -s /bin/sh -c "cd '$RES_DIR' && dachs imp q" >/tmp/dachs-imp.log 2>&1 \
  || { cat /tmp/dachs-imp.log >&2; die "dachs imp q failed (log above, /tmp/dachs-imp.log)"; }
n=$(su postgres -c "psql -qAtX -d gavo -c 'SELECT count(*) FROM ${RES_NAME}.main'") \
  || die "cannot count rows of ${RES_NAME}.main"
[ "$n" -gt 0 ] || die "${RES_NAME}.main is empty after import"
log "imported ${RES_NAME}.main: $n rows"
log "done in $(( $(date +%s) - T0 )) s; start with: $HERE/start.sh $PORT"

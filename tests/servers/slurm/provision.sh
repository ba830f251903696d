#!/usr/bin/env bash
# Provision a real single-node Slurm cluster (with slurmdbd accounting) on a
# Debian 12 machine without systemd, for the dimred-flow CI tests.
#
# Run as root:   bash tests/servers/slurm/provision.sh
# Idempotent: packages are installed only when missing, configs are rewritten
# only when they change, daemons that already run with an unchanged config
# are kept; otherwise they are restarted cleanly (via their pid files).
#
# Environment knobs (defaults in brackets):
#   SLURM_CLUSTER    cluster name in slurm.conf / slurmdbd     [dimred]
#   SLURM_PARTITION  the one (default) partition               [debug]
#   SLURM_ACCOUNT    accounting account for the test jobs      [dimred]
#   SLURM_USERS      users added to SLURM_ACCOUNT (must exist) [root, plus $SUDO_USER]
#   SLURM_MEM_HEADROOM_MB  memory kept away from Slurm         [max(1024, 10% of RAM)]
#   SLURM_SMOKE_TEST set to 0 to skip the final `srun` check   [1]
#   SLURM_WAIT_S     seconds to wait for each daemon / the node [90]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLUSTER="${SLURM_CLUSTER:-dimred}"
PARTITION="${SLURM_PARTITION:-debug}"
ACCOUNT="${SLURM_ACCOUNT:-dimred}"
USERS="${SLURM_USERS:-root ${SUDO_USER:-}}"
WAIT_S="${SLURM_WAIT_S:-90}"
SMOKE="${SLURM_SMOKE_TEST:-1}"
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=dimred-ci-slurmdbd   # local test cluster only, DB listens on the unix socket / loopback
LOGDIR=/var/log/slurm
SLURM_PKGS=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)

log() { printf '[provision-slurm] %s\n' "$*"; }
dump_logs() {
  local f
  for f in "$LOGDIR/slurmdbd.log" "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" \
           /var/log/munge/munged.log "$LOGDIR/daemons.out"; do
    [ -s "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 25 "$f" >&2 || true
  done
}
die() {
  printf '[provision-slurm] ERROR: %s\n' "$*" >&2
  dump_logs
  exit 1
}
# wait_for SECONDS DESCRIPTION CMD... : retry CMD every 0.5 s until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${secs}s waiting for: $what"
    sleep 0.5
  done
}
pid_alive() {  # pid_alive PIDFILE
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
stop_pidfile() {  # stop_pidfile PIDFILE NAME
  local pid i
  pid_alive "$1" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  log "stopping $2 (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}
# Start a daemon detached from our stdout/stderr so callers that capture our
# output (CI, subprocess.run) do not hang on inherited pipes.
detach() { setsid "$@" </dev/null >>"$LOGDIR/daemons.out" 2>&1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
[ -r /etc/debian_version ] || die "expects Debian 12 (apt); /etc/debian_version missing"

# --------------------------------------------------------------------------- packages
need_install=0
for b in munged slurmctld slurmd slurmdbd sinfo sacct sacctmgr mariadbd; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || need_install=1
done
if [ "$need_install" -eq 1 ]; then
  log "installing ${SLURM_PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/tmp/provision-slurm-apt.log 2>&1 \
    || { tail -20 /tmp/provision-slurm-apt.log >&2; die "apt-get update failed"; }
  apt-get install -y -q --no-install-recommends "${SLURM_PKGS[@]}" >>/tmp/provision-slurm-apt.log 2>&1 \
    || { tail -20 /tmp/provision-slurm-apt.log >&2; die "apt-get install failed"; }
else
  log "packages already installed"
fi
export PATH="/usr/sbin:/sbin:$PATH"
id slurm >/dev/null 2>&1 || die "user 'slurm' missing after install"
id munge >/dev/null 2>&1 || die "user 'munge' missing after install"

# --------------------------------------------------------------------------- configs
CPUS=$(nproc)
MEM_TOTAL_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
HEADROOM=${SLURM_MEM_HEADROOM_MB:-$(( MEM_TOTAL_MB / 10 > 1024 ? MEM_TOTAL_MB / 10 : 1024 ))}
MEM_MB=$(( MEM_TOTAL_MB - HEADROOM ))
[ "$MEM_MB" -ge 256 ] || die "too little memory: ${MEM_TOTAL_MB} MB total, ${HEADROOM} MB headroom"
CTLD_HOST=$(hostname -s 2>/dev/null || hostname)
[ -n "$CTLD_HOST" ] || die "cannot determine the short host name"

install -d -m 0755 /etc/slurm
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld "$LOGDIR" /run/slurm
install -d -m 0755 /var/spool/slurmd
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge

render() {  # render TEMPLATE -> stdout
  sed -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@CTLD_HOST@|$CTLD_HOST|g" \
      -e "s|@PARTITION@|$PARTITION|g" -e "s|@CPUS@|$CPUS|g" -e "s|@MEM_MB@|$MEM_MB|g" \
      -e "s|@DB_USER@|$DB_USER|g" -e "s|@DB_PASS@|$DB_PASS|g" -e "s|@DB_NAME@|$DB_NAME|g" "$1"
}
conf_changed=0
put_conf() {  # put_conf TEMPLATE DEST OWNER MODE
  local tmp; tmp=$(mktemp)
  render "$1" >"$tmp"
  if [ -f "$2" ] && cmp -s "$tmp" "$2"; then
    rm -f "$tmp"
  else
    log "writing $2"
    install -o "$3" -g "$3" -m "$4" "$tmp" "$2"
    rm -f "$tmp"
    conf_changed=1
  fi
  chown "$3:$3" "$2"; chmod "$4" "$2"
}
put_conf "$HERE/slurm.conf.in" /etc/slurm/slurm.conf root 0644
put_conf "$HERE/slurmdbd.conf.in" /etc/slurm/slurmdbd.conf slurm 0600

# --------------------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating munge key"
  if command -v mungekey >/dev/null 2>&1; then
    runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
if pid_alive /run/munge/munged.pid && munge -n </dev/null | unmunge >/dev/null 2>&1; then
  log "munged already running"
else
  stop_pidfile /run/munge/munged.pid munged
  rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  log "starting munged"
  detach runuser -u munge -- /usr/sbin/munged || die "munged failed to start"
  wait_for "$WAIT_S" "munge credential round trip" bash -c 'munge -n </dev/null | unmunge'
fi

# --------------------------------------------------------------------------- mariadb
if mysqladmin --protocol=socket ping >/dev/null 2>&1; then
  log "mariadb already running"
else
  log "starting mariadb"
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  # mysqld_safe stays in the foreground: background it, detached.
  # (redirect on the background job itself, so no subshell keeps our stdout open)
  setsid /usr/bin/mysqld_safe --user=mysql </dev/null >>"$LOGDIR/daemons.out" 2>&1 &
  wait_for "$WAIT_S" "mariadb to answer ping" mysqladmin --protocol=socket ping
fi
mysql --protocol=socket -u root <<SQL || die "could not create the slurm accounting database user"
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# --------------------------------------------------------------------------- slurmdbd
if [ "$conf_changed" -eq 0 ] && pid_alive /run/slurm/slurmdbd.pid \
   && sacctmgr -n -P show cluster format=cluster >/dev/null 2>&1; then
  log "slurmdbd already running"
else
  stop_pidfile /run/slurm/slurmdbd.pid slurmdbd
  log "starting slurmdbd"
  detach /usr/sbin/slurmdbd || die "slurmdbd failed to start"
  wait_for "$WAIT_S" "slurmdbd (sacctmgr show cluster)" sacctmgr -n -P show cluster format=cluster
fi

# --------------------------------------------------------------------------- accounting
sacct_has() { [ -n "$(sacctmgr -n -P "$@" 2>/dev/null)" ]; }
if ! sacct_has show cluster "$CLUSTER" format=cluster; then
  log "sacctmgr: adding cluster $CLUSTER"
  sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
fi
if ! sacct_has show account "$ACCOUNT" format=account; then
  log "sacctmgr: adding account $ACCOUNT"
  sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="dimred-flow tests" \
    Organization=dimred >/dev/null || die "sacctmgr add account $ACCOUNT failed"
fi
added_users=()
for u in $USERS; do
  id "$u" >/dev/null 2>&1 || { log "skipping unknown user '$u'"; continue; }
  if ! sacct_has show assoc where cluster="$CLUSTER" account="$ACCOUNT" user="$u" format=user; then
    log "sacctmgr: adding user $u to account $ACCOUNT"
    if [ "$u" = root ]; then
      sacctmgr -i add user "$u" Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null
    else
      sacctmgr -i add user "$u" Account="$ACCOUNT" Cluster="$CLUSTER" DefaultAccount="$ACCOUNT" >/dev/null
    fi || die "sacctmgr add user $u failed"
  fi
  added_users+=("$u")
done

# --------------------------------------------------------------------------- slurmctld
if [ "$conf_changed" -eq 0 ] && pid_alive /run/slurm/slurmctld.pid && scontrol ping 2>/dev/null | grep -q UP; then
  log "slurmctld already running"
else
  stop_pidfile /run/slurm/slurmctld.pid slurmctld
  log "starting slurmctld"
  detach /usr/sbin/slurmctld || die "slurmctld failed to start"
  wait_for "$WAIT_S" "slurmctld (scontrol ping)" bash -c 'scontrol ping | grep -q UP'
fi

# --------------------------------------------------------------------------- slurmd
if [ "$conf_changed" -eq 0 ] && pid_alive /run/slurm/slurmd.pid; then
  log "slurmd already running"
else
  stop_pidfile /run/slurm/slurmd.pid slurmd
  log "starting slurmd -N localhost"
  detach /usr/sbin/slurmd -N localhost || die "slurmd failed to start"
fi
node_ready() {
  local st; st=$(sinfo -h -n localhost -o %T 2>/dev/null | head -1)
  case "$st" in
    idle|mixed|allocated|completing) return 0 ;;
    drain*|down*|fail*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true; return 1 ;;
    *) return 1 ;;
  esac
}
wait_for "$WAIT_S" "node localhost to become idle (sinfo)" node_ready

# --------------------------------------------------------------------------- smoke test
if [ "$SMOKE" = 1 ]; then
  log "smoke test: srun -A $ACCOUNT -p $PARTITION true"
  timeout 60 srun -A "$ACCOUNT" -p "$PARTITION" -N1 -n1 -t 1 --mem=10 true \
    || die "smoke test job failed (srun)"
  sacct -n -X -P -o JobID >/dev/null || die "sacct does not work"
fi

# --------------------------------------------------------------------------- summary
cat <<EOF
[provision-slurm] ===================== Slurm is up =====================
$(sinfo --version)   cluster=$CLUSTER  controller=$CTLD_HOST
$(sinfo -N -o '%N %P %T cpus=%c mem=%mMB')
accounting associations (account $ACCOUNT):
$(sacctmgr -n -P show assoc where account="$ACCOUNT" format=cluster,account,user | sed 's/^/  /')
snakemake (executor plugin slurm) flags:
  --executor slurm --default-resources slurm_account=$ACCOUNT slurm_partition=$PARTITION \\
  --slurm-init-seconds-before-status-checks 2
logs: $LOGDIR/{slurmctld,slurmd,slurmdbd}.log  stop: bash $HERE/stop.sh
EOF

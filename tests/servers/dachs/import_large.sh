#!/usr/bin/env bash
# Fill the test DaCHS table dimred_test.large with N rows (gaia_sample.csv repeated, see
# make_large_table.py) and print N as counted by the database. Needs root, after provision.sh.
#
#   tests/servers/dachs/import_large.sh 50000
#
# Skips the import when the table already holds exactly N rows from the same generator.
# The running server sees the table after a restart (the fixture and the benchmark restart it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
N="${1:?usage: import_large.sh N}"
RES_DIR="/var/gavo/inputs/dimred_test"

die() { echo "dachs import_large: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (as provision.sh)"
[ -d "$RES_DIR" ] || die "DaCHS not provisioned: run tests/servers/dachs/provision.sh as root"
if ! pg_lsclusters -h | awk '$1==15 && $2=="main" {print $4}' | grep -qx online; then
  pg_ctlcluster 15 main start || die "pg_ctlcluster 15 main start failed"
fi

count() { su postgres -c "psql -qAtX -d gavo -c 'SELECT count(*) FROM dimred_test.large'" 2>/dev/null; }
stamp="$RES_DIR/large.csv.sha256"
generator_sum=$(cat "$HERE/make_large_table.py" "$HERE/gaia_sample.csv" | sha256sum | cut -c1-64)
if [ "$(count || true)" = "$N" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$N $generator_sum" ] \
    && cmp -s "$HERE/q.rd" "$RES_DIR/q.rd"; then
  echo "$N"; exit 0
fi

install -o dachsroot -g gavo -m 0664 "$HERE/q.rd" "$RES_DIR/q.rd"
python3 "$HERE/make_large_table.py" --rows "$N" --output "$RES_DIR/large.csv"
chown dachsroot:gavo "$RES_DIR/large.csv"
su dachsroot -s /bin/sh -c "cd '$RES_DIR' && dachs imp q import_large" >/tmp/dachs-imp-large.log 2>&1 \
  || { cat /tmp/dachs-imp-large.log >&2; die "dachs imp q import_large failed (log above)"; }
rm -f "$RES_DIR/large.csv"
n=$(count) || die "cannot count the rows of dimred_test.large"
[ "$n" = "$N" ] || die "dimred_test.large holds $n rows after the import, not $N"
echo "$N $generator_sum" >"$stamp"
echo "$n"

#!/usr/bin/env bash
# Validate a REANA specification offline with reana-client 0.9.6.
#
#   tests/servers/reana/validate.sh [--lint] [SPEC]     (SPEC defaults to reana.yaml in the repo root)
#
# `reana-client validate` checks the reana.yaml schema and then does a real
# Snakemake 7.32.4 dry run (the version reana-client 0.9.6 pins) of the
# workflow, with inputs.parameters.input loaded as the config file. It needs no
# REANA server, access token or network. It is run from the directory holding
# SPEC, because REANA resolves workflow.file and all inputs relative to it.
# --lint additionally runs `snakemake --lint` (7.32.4) on workflow.file; that
# exits 1 when any lint is reported.
#
# The tool lives in its own venv, created once and cached in
#   ${REANA_VENV:-<repo>/.cache/reana-venv}
# (needs PyPI the first time). Exit codes: 0 valid, 1 invalid spec or workflow
# (or lints with --lint), 2 usage error / missing spec, 3 venv setup failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV="${REANA_VENV:-$REPO/.cache/reana-venv}"
PYTHON="${PYTHON:-python3}"
# pulp<2.8: Snakemake 7.32.4 crashes with PuLP >= 2.8 (list_solvers removed).
# setuptools<81: reana-commons 0.9 imports pkg_resources, removed in setuptools 81.
PINS=("reana-client==0.9.6" "pulp<2.8" "setuptools<81")
STAMP="$VENV/.dimred-pins"

lint=0
spec=""
while [ $# -gt 0 ]; do
  case "$1" in
    --lint) lint=1 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "validate.sh: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$spec" ] || { echo "validate.sh: only one SPEC allowed" >&2; exit 2; }; spec=$1 ;;
  esac
  shift
done
spec="${spec:-$REPO/reana.yaml}"
[ -f "$spec" ] || { echo "validate.sh: REANA spec not found: $spec" >&2; exit 2; }

# ---------------------------------------------------------------- cached venv
if [ ! -x "$VENV/bin/reana-client" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]; then
  echo "validate.sh: creating $VENV with ${PINS[*]} (once; needs PyPI)" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! { "$PYTHON" -m venv "$VENV" \
         && "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"; } >"$VENV.log" 2>&1; then
    tail -n 30 "$VENV.log" >&2
    rm -rf "$VENV"
    echo "validate.sh: could not create the reana-client venv (log: $VENV.log)" >&2
    exit 3
  fi
  rm -f "$VENV.log"
  printf '%s' "${PINS[*]}" >"$STAMP"
fi

# ---------------------------------------------------------------- validate
spec_dir="$(cd "$(dirname "$spec")" && pwd)"
spec_base="$(basename "$spec")"
cd "$spec_dir"
export PYTHONWARNINGS="ignore:pkg_resources is deprecated"
rc=0
"$VENV/bin/reana-client" validate -f "$spec_base" || rc=$?
if [ "$rc" -eq 0 ] && [ "$lint" -eq 1 ]; then
  wf_file="$("$VENV/bin/python" - "$spec_base" <<'PY'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
print((spec.get("workflow") or {}).get("file") or "Snakefile")
PY
)"
  echo "==> snakemake --lint (Snakemake $("$VENV/bin/snakemake" --version)) on $wf_file"
  "$VENV/bin/snakemake" --lint -s "$wf_file" || rc=$?
fi
exit "$rc"

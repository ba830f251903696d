#!/usr/bin/env python3
"""Benchmark: fetching an archive-scale table through TAP, whole against chunked, in the same run.

Fills the test DaCHS table dimred_test.large with N rows (tests/servers/dachs/import_large.sh,
gaia_sample.csv repeated with unique source_id and a shuffled random_index), restarts the server,
then runs the workflow's fetch twice in fresh working directories, each measured for wall time and
the peak RSS of its process tree (Snakemake and its jobs; the DaCHS server is not in it):

  whole    results/data/tap_table.parquet: one async job for all N rows (the baseline)
  chunked  results/data/tap_chunked_table.parquet: --chunks jobs over ranges of random_index, run
           --cores at a time, then concatenated

and prints the chunked run's ratios to the whole one. Needs root and a provisioned DaCHS
(tests/servers/dachs/provision.sh). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from run_benchmark import REPO, environment, rule_breakdown, run_measured, subprocess_env, tail

DACHS_DIR = REPO / "tests" / "servers" / "dachs"
COLUMNS = "source_id, ra, dec, parallax, pmra, pmdec, xgal, ygal, zgal, bprp0, mg0, random_index"
WHOLE_TARGET = "results/data/tap_table.parquet"
CHUNKED_TARGET = "results/data/tap_chunked_table.parquet"


def fetch_config(url: str, n_rows: int, n_chunks: int | None) -> dict:
    """config/dachs_local.yaml aimed at dimred_test.large, whole or in `n_chunks` ranges of random_index."""
    profile = yaml.safe_load((REPO / "config" / "dachs_local.yaml").read_text())
    tap = profile["source"]["tap"]
    # DaCHS flags OVERFLOW when the row count equals maxrec, hence the + 1.
    tap.update(url=url, maxrec=n_rows + 1, timeout=3600, retries=1)
    if n_chunks is None:
        tap["query"] = f"SELECT {COLUMNS} FROM dimred_test.large ORDER BY source_id"
    else:
        tap["query"] = f"SELECT {COLUMNS} FROM dimred_test.large WHERE {{chunk_condition}} ORDER BY source_id"
        tap["chunks"] = {"column": "random_index", "edges": [*(i * n_rows // n_chunks for i in range(n_chunks)), n_rows - 1]}
    return profile


def run_fetch(workroot: Path, name: str, target: str, config: dict, cores: int) -> dict:
    workdir = workroot / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config_path = workroot / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(config_path), "--cores", str(cores), target]
    run = run_measured(command, env=subprocess_env(workroot / "numba_cache"), cwd=workroot,
                       log_path=workroot / f"{name}.log")
    if run.returncode != 0:
        raise SystemExit(f"{name} fetch failed (exit {run.returncode}); log {run.log}:\n{tail(run.log)}")
    table = workdir / target
    print(f"  {name}: wall {run.wall_s:.1f} s, peak tree RSS {run.peak_tree_rss / 1e6:.0f} MB "
          f"(largest process {run.peak_single_rss / 1e6:.0f} MB)", flush=True)
    return {"wall_s": round(run.wall_s, 2), "peak_tree_rss": run.peak_tree_rss,
            "peak_single_rss": run.peak_single_rss, "rows": pq.read_metadata(table).num_rows,
            "parquet_bytes": table.stat().st_size, "rules": rule_breakdown(workdir / "results" / "benchmarks")}


def fill_large_table(n_rows: int, port: int) -> float:
    started = time.perf_counter()
    subprocess.run([str(DACHS_DIR / "import_large.sh"), str(n_rows)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(DACHS_DIR / "stop.sh")], check=True)
    subprocess.run([str(DACHS_DIR / "start.sh"), str(port)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="N, the rows of dimred_test.large")
    parser.add_argument("--chunks", type=int, default=10, help="chunks of the chunked fetch")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--port", type=int, default=8765, help="the DaCHS server's port")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_tap_fetch.json")
    args = parser.parse_args(argv)

    env = environment()
    print(f"filling dimred_test.large with {args.rows:,} rows and restarting DaCHS", flush=True)
    import_s = fill_large_table(args.rows, args.port)
    url = f"http://127.0.0.1:{args.port}/tap"
    with tempfile.TemporaryDirectory(prefix="dimred-tap-bench-") as scratch:
        workroot = Path(scratch)
        whole = run_fetch(workroot, "whole", WHOLE_TARGET, fetch_config(url, args.rows, None), args.cores)
        chunked = run_fetch(workroot, "chunked", CHUNKED_TARGET, fetch_config(url, args.rows, args.chunks),
                            args.cores)
    for run in (whole, chunked):
        if run["rows"] != args.rows:
            raise SystemExit(f"fetched {run['rows']} rows, not {args.rows}")
    ratios = {key: round(chunked[key] / whole[key], 3) for key in ("wall_s", "peak_tree_rss", "peak_single_rss")}
    report = (f"{args.rows:,} rows from DaCHS, --cores {args.cores}: whole {whole['wall_s']:.1f} s / "
              f"{whole['peak_tree_rss'] / 1e6:,.0f} MB; {args.chunks} chunks {chunked['wall_s']:.1f} s / "
              f"{chunked['peak_tree_rss'] / 1e6:,.0f} MB (largest process {chunked['peak_single_rss'] / 1e6:,.0f} "
              f"MB against {whole['peak_single_rss'] / 1e6:,.0f} MB); ratios chunked/whole: wall "
              f"{ratios['wall_s']}, tree RSS {ratios['peak_tree_rss']}, largest process {ratios['peak_single_rss']}")
    print(report)
    args.out.write_text(json.dumps({
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "settings": {"rows": args.rows, "chunks": args.chunks, "cores": args.cores},
        "environment": env,
        "import_and_restart_s": round(import_s, 1),
        "whole": whole,
        "chunked": chunked,
        "ratios_chunked_to_whole": ratios,
        "report": report,
    }, indent=2, default=str) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

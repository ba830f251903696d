#!/usr/bin/env python3
"""Write the run's provenance as a Workflow Run RO-Crate (ro-crate-metadata.json) in the results folder, with
the workflow's files (results/workflow/) and a README.md beside it."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import key_value, read_json, run, setup_logging, write_json
from dimred_flow.clock import utc_now
from dimred_flow.crate import build_run_crate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config-json", required=True, help="the resolved configuration as JSON")
    parser.add_argument("--seeds", required=True, nargs="+", type=key_value(int, int), metavar="ITERATION=SEED")
    parser.add_argument("--stability", required=True, type=Path, help="stability.json, which records the data source")
    parser.add_argument(
        "--output", nargs=2, action="append", default=[], metavar=("FILE", "DESCRIPTION"),
        help="a result file of the run (repeatable)",
    )
    parser.add_argument(
        "--plot-records", nargs="+", default=[], type=Path, help="each staged plot's record (what made it)"
    )
    parser.add_argument("--snakemake-version", required=True)
    parser.add_argument(
        "--executor-file", required=True, type=Path, help="the executor and start time, written by the Snakefile's onstart"
    )
    parser.add_argument("--repo", required=True, type=Path, help="the workflow repository (for its git commit)")
    parser.add_argument("--benchmarks", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="ro-crate-metadata.json at the crate root")
    args = parser.parse_args()
    log = setup_logging("write_run_crate")

    started = read_json(args.executor_file) if args.executor_file.exists() else {}
    crate = build_run_crate(
        crate_root=args.out.parent,
        config=json.loads(args.config_json),
        seeds=dict(args.seeds),
        source=read_json(args.stability)["data"]["source"],
        outputs=[(Path(path), description) for path, description in args.output],
        snakemake_version=args.snakemake_version,
        envs_dir=args.repo / "envs",
        repo=args.repo,
        executor=started.get("executor", "unknown"),
        start_time=started.get("started"),
        benchmark_dir=args.benchmarks,
        end_time=utc_now(),
        plot_records={path.with_suffix(".png"): read_json(path) for path in args.plot_records},
    )
    write_json(args.out, crate)
    log.info("wrote %s with %d entities", args.out, len(crate["@graph"]))


if __name__ == "__main__":
    run(main)

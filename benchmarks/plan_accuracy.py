#!/usr/bin/env python3
"""How close the plan's estimate (dimred_flow/estimate.py) comes to measured runs (issue 27).

For each run in the given benchmark files (benchmarks/run_benchmark.py's JSON), the plan is made for the
same config (config/config.yaml with the benchmark's n_test, methods and table) and its row count, with
nothing in storage, as the run started; then set beside what the run measured: the wall time with the
benchmark's cores, the CPU time of the jobs, and for each rule the largest peak RSS against the memory
its jobs asked for. Prints a table and writes it as JSON.

    python benchmarks/plan_accuracy.py benchmarks/results_shipped.json benchmarks/results_methods.json \\
        benchmarks/results_methods_archive.json --out benchmarks/plan_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from dimred_flow.config import validate_config  # noqa: E402
from dimred_flow.estimate import TAP_TABLE_BYTES_PER_ROW, Stored, estimate_run  # noqa: E402


def benchmark_config(settings: dict) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["n_test"] = settings["n_test"]
    if settings.get("projections"):
        config["projections"] = settings["projections"]
    # The benchmark's tables are Parquet of the snapshot's columns, resampled.
    config["source"] = {"kind": "file", "path": "table.parquet"}
    return validate_config(config)


def rule_of(label: str) -> str:
    """A plan job's label as the benchmark names its rule: project_embeddings:<method>."""
    parts = label.split()
    if parts[0] in ("project_embeddings", "prepare_method_input"):
        return f"{parts[0]}:{parts[1]}"
    return parts[0]


def compare(settings: dict, result: dict) -> dict:
    config = benchmark_config(settings)
    rows = int(result["n"])
    estimate = estimate_run(config, rows, "benchmark table", rows * TAP_TABLE_BYTES_PER_ROW, Stored())
    summary = estimate.as_dict(settings["cores"])
    measured = result["workflow"]
    planned_seconds: dict[str, float] = defaultdict(float)
    planned_memory: dict[str, int] = defaultdict(int)
    for job in estimate.jobs:
        planned_seconds[rule_of(job.label)] += job.seconds * job.threads
        planned_memory[rule_of(job.label)] = max(planned_memory[rule_of(job.label)], job.mem_mb)
    rules = {
        name: {
            "planned_s": round(planned_seconds.get(name, 0.0), 1),
            "measured_s": figures["sum_s"],
            "asked_mb": planned_memory.get(name),
            "peak_rss_mb": figures["max_rss_mb"],
        }
        for name, figures in measured["rules"].items()
    }
    busy = [rule for rule in rules.values() if rule["measured_s"] >= 5]
    asked = [rule["asked_mb"] / rule["peak_rss_mb"] for rule in rules.values() if rule["asked_mb"] and rule["peak_rss_mb"] > 50]
    return {
        "rows": rows,
        "n_test": settings["n_test"],
        "methods": config["projections"],
        "cores": settings["cores"],
        "wall_s": {"planned": summary["wall_seconds"]["local"], "measured": measured["wall_s"],
                   "ratio": round(summary["wall_seconds"]["local"] / measured["wall_s"], 2)},
        "job_seconds": {"planned": round(summary["core_hours"] * 3600, 1), "measured": measured["rule_seconds_sum"],
                        "ratio": round(summary["core_hours"] * 3600 / measured["rule_seconds_sum"], 2)},
        "rule_seconds_ratio_range": [round(min(r["planned_s"] / r["measured_s"] for r in busy), 2),
                                     round(max(r["planned_s"] / r["measured_s"] for r in busy), 2)],
        "asked_over_used_memory_range": [round(min(asked), 2), round(max(asked), 2)],
        "memory_at_once_mb": {"planned_asked": summary["memory_at_once_mb"]["local"],
                              "measured_peak_rss": round(measured["peak_tree_rss"] / 2**20)},
        "rules": rules,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="run_benchmark.py JSON files")
    parser.add_argument("--out", type=Path, help="write the comparison as JSON")
    args = parser.parse_args()
    rows = []
    for path in args.results:
        data = json.loads(path.read_text())
        for result in data["results"]:
            rows.append({"benchmark": path.name, **compare(data["settings"], result)})
    print(f"{'benchmark':34} {'rows':>9} {'methods':>7} {'wall plan/meas':>18} {'job-s plan/meas':>18}"
          f" {'per-rule ratio':>15} {'asked/used mem':>15}")
    for row in rows:
        print(f"{row['benchmark']:34} {row['rows']:>9,} {len(row['methods']):>7}"
              f" {row['wall_s']['planned']:>7.0f}/{row['wall_s']['measured']:<6.0f} x{row['wall_s']['ratio']:<4}"
              f" {row['job_seconds']['planned']:>7.0f}/{row['job_seconds']['measured']:<6.0f} x{row['job_seconds']['ratio']:<4}"
              f" {row['rule_seconds_ratio_range'][0]:>6}-{row['rule_seconds_ratio_range'][1]:<8}"
              f" {row['asked_over_used_memory_range'][0]:>6}-{row['asked_over_used_memory_range'][1]:<8}")
    if args.out:
        args.out.write_text(json.dumps({"command": sys.argv, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

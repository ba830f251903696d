#!/usr/bin/env python3
"""How each rule's cost grows with the table: the per-rule figures of run_benchmark.py's measured runs at
several sizes, side by side, with the exponent b of time ~ N^b (and of peak RSS) fitted by least squares
on their logarithms. b = 1 is linear; a rule whose cost is mostly fixed (a fit on fit_rows rows) fits
below 1.

    python benchmarks/scaling_fit.py benchmarks/results_scale_1m_3m.json benchmarks/results_scale_10m.json
    python benchmarks/scaling_fit.py --from-rows 1000000 benchmarks/results_methods_archive.json \
        benchmarks/results_scale_pacmap_trimap.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

# Rules whose time grows with the table: the ones the table above shows first.
MIN_SECONDS_SHOWN = 1.0


def measured_runs(paths: list[Path], from_rows: int = 0) -> dict[int, dict]:
    """Each measured workflow run of at least `from_rows` rows by its size; a size measured twice keeps
    the later file's run."""
    runs = {}
    for path in paths:
        for result in json.loads(path.read_text())["results"]:
            if result.get("workflow") and result["n"] >= from_rows:
                runs[result["n"]] = {**result["workflow"], "quality": result.get("quality")}
    return dict(sorted(runs.items()))


def exponent(sizes: list[int], values: list[float]) -> float | None:
    """The least-squares slope of log(value) on log(size); None with fewer than two positive values."""
    points = [(math.log(n), math.log(v)) for n, v in zip(sizes, values, strict=True) if v and v > 0]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def scaling(runs: dict[int, dict]) -> dict:
    """Per rule family: seconds (summed over its jobs) and peak RSS at each size, and their exponents."""
    sizes = list(runs)
    families = sorted({family for run in runs.values() for family in run["rules"]})
    table = {}
    for family in families:
        seconds = [runs[n]["rules"].get(family, {}).get("sum_s") for n in sizes]
        memory = [runs[n]["rules"].get(family, {}).get("max_rss_mb") for n in sizes]
        table[family] = {"seconds": seconds, "max_rss_mb": memory,
                         "time_exponent": exponent(sizes, seconds), "memory_exponent": exponent(sizes, memory)}
    table["(workflow wall)"] = {
        "seconds": [runs[n]["wall_s"] for n in sizes],
        "max_rss_mb": [runs[n]["peak_tree_rss"] / 1e6 for n in sizes],
        "time_exponent": exponent(sizes, [runs[n]["wall_s"] for n in sizes]),
        "memory_exponent": exponent(sizes, [runs[n]["peak_tree_rss"] for n in sizes]),
    }
    return {"sizes": sizes, "rules": table}


def _figure(value, unit: str) -> str:
    return "-" if value is None else f"{value:,.1f}{unit}"


def format_table(result: dict) -> str:
    sizes = result["sizes"]
    header = ["rule", *(f"{n:,} rows" for n in sizes), "b (time)", "b (RSS)"]
    rows = []
    for family, figures in sorted(result["rules"].items(), key=lambda item: -(item[1]["seconds"][-1] or 0)):
        if max(value or 0 for value in figures["seconds"]) < MIN_SECONDS_SHOWN:
            continue
        cells = [f"{_figure(s, ' s')} / {_figure(m, ' MB')}" for s, m in zip(figures["seconds"], figures["max_rss_mb"], strict=True)]
        exponents = ["-" if b is None else f"{b:.2f}" for b in (figures["time_exponent"], figures["memory_exponent"])]
        rows.append([family, *cells, *exponents])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="run_benchmark.py result files")
    parser.add_argument("--from-rows", type=int, default=0,
                        help="only runs of at least this many rows (a file's fully fitted sizes left out)")
    parser.add_argument("--out", type=Path, help="write the figures and exponents as JSON here too")
    args = parser.parse_args()
    result = scaling(measured_runs(args.results, args.from_rows))
    print(format_table(result))
    if args.out:
        args.out.write_text(json.dumps({"from": [str(path) for path in args.results], **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark: the explorer page's size, the time to write it and its load time in headless Chromium.

Synthetic catalogues (the layout write_embedding_catalogue writes: source_id, a five-category label,
8 features, 3 methods x 3 iterations of coordinates in clusters) of each --rows are written as FITS,
then drawn as pages with the row limit (explorer.ROW_LIMIT) and, up to --full-up-to rows, without it:
the pages without the limit are what the limit was chosen from. Load time is from navigation start
until BokehJS has rendered the page, the median of --loads loads in a fresh headless Chromium
(tests/servers/chromium/provision.sh). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]

from dimred_flow.catalogue import (  # noqa: E402
    ProjectedMethod,
    RunDescription,
    colour_parameters,
    embedding_column,
    run_parameters,
    write_fits,
)
from dimred_flow.explorer import ROW_LIMIT, SOURCE_NAME, write_explorer_page  # noqa: E402
from dimred_flow.methods import REGISTRY  # noqa: E402
from headless_chromium import HeadlessChromium  # noqa: E402

FEATURES = 8
ITERATIONS = 3
LABELS = np.array(["Hyades", "Pleiades", "Praesepe", "field", "halo"])


def synthetic_catalogue(rows: int, methods: list[ProjectedMethod]) -> Table:
    generator = np.random.default_rng(rows)
    labels = generator.integers(0, len(LABELS), rows)
    catalogue = Table()
    catalogue["source_id"] = generator.integers(2**40, 2**62, rows, dtype=np.int64)
    catalogue["Cluster"] = LABELS[labels]
    for k in range(FEATURES):
        catalogue[f"feature_{k}"] = generator.normal(labels, 1.0, rows)
    seeds = {i: 1000 + i for i in range(1, ITERATIONS + 1)}
    centres = generator.normal(0, 10, (len(LABELS), 2))
    for projected in methods:
        for i in seeds:
            points = centres[labels] + generator.normal(0, 1, (rows, 2))
            for axis, values in zip("xy", points.T):
                catalogue[embedding_column(projected.name, i, axis)] = values.astype(np.float32)
    catalogue.meta["embeddings"] = {projected.name: sorted(seeds) for projected in methods}
    run = RunDescription("0" * 64, seeds, methods, "benchmark")
    catalogue.meta["parameters"] = run_parameters(run) + colour_parameters("Cluster", True)
    return catalogue


def measure(browser: HeadlessChromium, catalogue: Path, page: Path, row_limit: int, loads: int) -> dict:
    started = time.perf_counter()
    shown, total = write_explorer_page(catalogue, page, row_limit)
    write_s = time.perf_counter() - started
    load_ms, select_ms = [], []
    for _ in range(loads):
        load_ms.append(browser.open(page))
        select_ms.append(browser.evaluate(SELECT_HALF))
    return {
        "rows": total,
        "shown": shown,
        "row_limit": row_limit,
        "page_mb": round(page.stat().st_size / 1e6, 2),
        "write_s": round(write_s, 2),
        "load_ms": round(statistics.median(load_ms)),
        "load_ms_each": [round(ms) for ms in load_ms],
        "select_ms": round(statistics.median(select_ms)),
    }


# Select every other shown star, as a lasso might, and time until the panels have repainted.
SELECT_HALF = f"""
new Promise(resolve => {{
    const source = Bokeh.documents[0].get_model_by_name("{SOURCE_NAME}");
    const started = performance.now();
    source.selected.indices = [...Array(source.get_length()).keys()].filter(k => k % 2 == 0);
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
}})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 100_000, 1_000_000])
    parser.add_argument("--full-rows", type=int, nargs="*", default=[5_000, 20_000, 50_000, 100_000],
                        help="pages drawn without the row limit, to choose the limit from")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_explorer.json")
    args = parser.parse_args()
    methods = [ProjectedMethod(name, REGISTRY[name].label, {}) for name in sorted(REGISTRY)[:3]]
    results = {"with_limit": [], "without_limit": []}
    with tempfile.TemporaryDirectory() as scratch, HeadlessChromium(args.chromium) as browser:
        for rows in sorted({*args.rows, *args.full_rows}):
            catalogue = Path(scratch) / f"catalogue_{rows}.fits"
            write_fits(synthetic_catalogue(rows, methods), catalogue)
            page = Path(scratch) / f"explorer_{rows}.html"
            if rows in args.rows:
                results["with_limit"].append(measure(browser, catalogue, page, ROW_LIMIT, args.loads))
                print(json.dumps(results["with_limit"][-1]), flush=True)
            if rows in args.full_rows:
                results["without_limit"].append(measure(browser, catalogue, page, rows, args.loads))
                print(json.dumps(results["without_limit"][-1]), flush=True)
    results["setup"] = {
        "methods": len(methods), "iterations": ITERATIONS, "features": FEATURES, "label_categories": len(LABELS),
        "browser": browser.version, "machine": platform.machine(), "cpus": os.cpu_count(),
        "note": "load: navigation start until BokehJS has rendered every document, median of the loads",
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

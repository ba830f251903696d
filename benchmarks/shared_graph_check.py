#!/usr/bin/env python3
"""Quality and cost of UMAP on the workflow's shared neighbour graph against UMAP's own search.

On a resampled table of N rows (as run_benchmark.py builds it), in one process: the workflow's graph
once (an exact KD-tree search), then for each seed a UMAP fit searching its own
neighbours (pynndescent above 4,095 rows) and one on the shared graph, each timed, with
trustworthiness and kNN preservation on the metrics' subsample. The first fit of each kind carries
that path's compilation; later fits show the steady cost.

    python benchmarks/shared_graph_check.py --rows 20000 --seeds 1 2 --out benchmarks/shared_graph_check.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "benchmarks"))


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, round(time.perf_counter() - started, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n-neighbors", type=int, default=15)
    parser.add_argument("--perplexity", type=float, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from dimred_flow import metrics, projections
    from dimred_flow.config import validate_config
    from dimred_flow.features import prepare_features
    from dimred_flow.methods.umap import fit_umap
    from dimred_flow.tables import read_table_file
    from run_benchmark import SNAPSHOT, resample_table

    config = validate_config({})
    matrix = prepare_features(
        resample_table(read_table_file(SNAPSHOT), args.rows, seed=config["seed"]),
        config["features"], derive=config["derive"], label_column=config["label_column"],
        color_by=config["color_by"], standardize=True, max_rows=None,
    ).matrix
    k = projections.neighbour_count(matrix.shape[0], max(args.n_neighbors - 1, int(3 * args.perplexity)))
    graph, graph_s = timed(projections.neighbour_graph, matrix, k, seed=config["seed"])
    neighbourhoods = metrics.FeatureNeighbourhoods(matrix, n_neighbors=10, max_rows=5000)

    def scores(embedding):
        return {
            "trustworthiness": round(neighbourhoods.trustworthiness(embedding), 4),
            "knn_preservation": round(neighbourhoods.knn_preservation(embedding), 4),
        }

    fits = []
    for seed in args.seeds:
        for search, shared in (("own", None), ("shared graph", graph)):
            embedding, seconds = timed(
                fit_umap, matrix, seed, n_neighbors=args.n_neighbors, min_dist=0.1, graph=shared
            )
            fits.append({"seed": seed, "neighbours": search, "seconds": seconds, **scores(embedding)})
            print(json.dumps(fits[-1]), flush=True)
    report = {"rows": int(matrix.shape[0]), "graph_neighbours": k, "graph_seconds": graph_s, "fits": fits}
    print(json.dumps({key: report[key] for key in ("rows", "graph_neighbours", "graph_seconds")}))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

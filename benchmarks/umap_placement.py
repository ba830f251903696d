#!/usr/bin/env python3
"""Benchmark (issue 26): how UMAP places the rows above fit_rows, against umap-learn's own `transform`.

On the shipped snapshot resampled to --rows rows (run_benchmark.resample_table, the same table the
workflow benchmark uses), with the workflow's default features, the neighbour graph of --fit-rows fitted
rows and, for each of --seeds seeds, one UMAP fit of the fitted rows, the other rows are placed by
umap-learn's transform (the weighted mean of their nearest fitted rows, then --transform-epochs epochs
that move only them) two ways: with umap-learn's own initialisation (a Python loop over the rows) and with
the workflow's vectorised one (methods/umap.py). It prints each one's seconds per seed, trustworthiness
and k-NN preservation (k = 10) on the workflow's fixed 2,000-row evaluation subsample and the time ratio;
--full-fit also fits every row. Results: benchmarks/results_umap_placement.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "benchmarks")]

from dimred_flow.config import validate_config  # noqa: E402
from dimred_flow.features import prepare_features  # noqa: E402
from dimred_flow.methods.umap import fit_umap, vectorised_transform_init  # noqa: E402
from dimred_flow.metrics import FeatureNeighbourhoods  # noqa: E402
from dimred_flow.projections import neighbour_graph  # noqa: E402
from run_benchmark import LABEL_COLUMN, RESAMPLE_SEED, SNAPSHOT, environment, resample_table  # noqa: E402

# umap-learn's transform of more than 10,000 rows, with the model's n_epochs unset.
DEFAULT_TRANSFORM_EPOCHS = 30


class PlacementIndex:
    """The search index umap-learn's transform queries, answered from the graph's placement neighbours."""

    _angular_trees = False

    def __init__(self, graph):
        self._graph = graph

    def query(self, rows, k: int, epsilon: float = 0.0):
        return self._graph.placement_indices[:, :k], self._graph.placement_distances[:, :k]


def umap_model(graph, seed: int, n_neighbors: int, min_dist: float):
    """The workflow's UMAP of the fitted rows (as fit_umap), kept as a model so that transform can run."""
    import umap

    nearest = graph.nearest(n_neighbors - 1)
    rows = np.arange(graph.fitted_rows.size, dtype=np.int32)[:, None]
    precomputed = (np.hstack([rows, nearest.indices]), np.hstack([np.zeros_like(rows, dtype=np.float32), nearest.distances]))
    return umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed,
                     transform_seed=seed, n_jobs=1, precomputed_knn=precomputed)


def quality(evaluation: FeatureNeighbourhoods, embedding: np.ndarray) -> dict:
    return {"trustworthiness": round(evaluation.trustworthiness(embedding), 4),
            "knn_preservation": round(evaluation.knn_preservation(embedding), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fit-rows", type=int, help="default: the config's fit_rows")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="UMAP's seeds")
    parser.add_argument("--resample-seed", type=int, default=RESAMPLE_SEED, help="as run_benchmark.py's --seed")
    parser.add_argument("--transform-epochs", type=int, nargs="+", default=[DEFAULT_TRANSFORM_EPOCHS],
                        help="epochs of transform's optimisation, each measured")
    parser.add_argument("--full-fit", action="store_true", help="also fit every row (slow above 100,000)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_umap_placement.json")
    args = parser.parse_args()
    import yaml

    config = validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    settings, stability = config["methods"]["umap"], config["stability"]
    fit_rows = args.fit_rows or config["fit_rows"]
    from astropy.table import Table

    table = resample_table(Table.read(SNAPSHOT, format="ascii.csv"), args.rows, seed=args.resample_seed)
    prepared = prepare_features(
        table, config["features"], derive=config["derive"], label_column=LABEL_COLUMN, color_by=config["color_by"],
        standardize=config["standardize"], max_rows=None,
    )
    matrix = prepared.matrix.astype(np.float32)
    evaluation = FeatureNeighbourhoods(matrix, n_neighbors=stability["n_neighbors"], max_rows=stability["max_rows"])
    started = time.perf_counter()
    graph = neighbour_graph(matrix, settings["n_neighbors"] - 1, seed=0, threads=2, fit_rows=fit_rows,
                            placement_neighbors=settings["n_neighbors"])
    result = {"rows": int(matrix.shape[0]), "resample_seed": args.resample_seed, "fit_rows": fit_rows, "graph_s": round(time.perf_counter() - started, 1),
              "seeds": []}
    others = graph.other_rows(matrix.shape[0])
    for seed in args.seeds:
        model = umap_model(graph, seed, settings["n_neighbors"], settings["min_dist"])
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            fitted = model.fit_transform(graph.fitted(matrix)).astype(np.float32)
        fit_s = time.perf_counter() - started
        model._knn_search_index = PlacementIndex(graph)
        row = {"seed": seed, "fit_s": round(fit_s, 1)}
        for epochs in args.transform_epochs:
            # transform runs a third of the model's n_epochs (30 when it is unset, as in the workflow).
            model.n_epochs = None if epochs == DEFAULT_TRANSFORM_EPOCHS else 3 * epochs
            for name, initialisation in (("umap_learn", contextlib.nullcontext), ("vectorised", vectorised_transform_init)):
                started = time.perf_counter()
                with initialisation():
                    transformed = model.transform(matrix[others]).astype(np.float32)
                row[f"transform_{epochs}_epochs_{name}_init"] = {
                    "place_s": round(time.perf_counter() - started, 2),
                    **quality(evaluation, graph.whole(fitted, transformed)),
                }
            row[f"time_ratio_{epochs}_epochs"] = round(
                row[f"transform_{epochs}_epochs_vectorised_init"]["place_s"]
                / row[f"transform_{epochs}_epochs_umap_learn_init"]["place_s"], 3)
        result["seeds"].append(row)
        print(json.dumps(row), flush=True)
    if args.full_fit:
        full_graph = neighbour_graph(matrix, settings["n_neighbors"] - 1, seed=0, threads=2)
        started = time.perf_counter()
        full = fit_umap(matrix, args.seeds[0], n_neighbors=settings["n_neighbors"], min_dist=settings["min_dist"],
                        graph=full_graph)
        result["full_fit"] = {"seed": args.seeds[0], "fit_s": round(time.perf_counter() - started, 1),
                              **quality(evaluation, full)}
        print(json.dumps(result["full_fit"]), flush=True)
    result["environment"] = environment()
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

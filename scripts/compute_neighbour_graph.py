#!/usr/bin/env python3
"""Compute the k-nearest-neighbour graph once; every method that reads it (and its fitted subsample) reuses it."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.derivation import check_derivation, read_carried
from dimred_flow.features import load_features
from dimred_flow.projections import neighbour_count, neighbour_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.graph_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects these settings to make")
    parser.add_argument("--threads", type=int, default=1, help="threads of the search")
    parser.add_argument("--out", required=True, type=Path, help=".npz with indices and distances")
    args = parser.parse_args()
    log = setup_logging("compute_neighbour_graph")

    inputs = {"features": read_carried(args.features)}
    fingerprint = check_derivation("compute_neighbour_graph", args.settings, inputs, args.fingerprint, [args.features])
    settings = args.settings
    matrix = load_features(args.features).matrix
    k = neighbour_count(matrix.shape[0], settings["neighbours"])
    graph = neighbour_graph(
        matrix,
        k,
        seed=settings["seed"],
        threads=args.threads,
        fit_rows=settings["fit_rows"],
        placement_neighbors=settings["placement_neighbours"],
    )
    graph.save(args.out, fingerprint)
    log.info("%d nearest neighbours of each of %d fitted rows (table: %d rows)", k, graph.indices.shape[0], matrix.shape[0])


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Compute one method's 2-D embedding for a batch of iterations in one process."""

import argparse
import json
from functools import cache, partial
from pathlib import Path

from dimred_flow import projections
from dimred_flow.cli import key_value, run, setup_logging
from dimred_flow.derivation import check_derivation, read_carried, seeded_settings
from dimred_flow.features import load_features
from dimred_flow.methods import REGISTRY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("method", choices=sorted(REGISTRY))
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: the method's settings")
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument("--graph", type=Path, help="neighbour graph from compute_neighbour_graph")
    parser.add_argument("--prepared", type=Path, help="the method's input from prepare_method_input")
    parser.add_argument("--iterations", required=True, nargs="+", type=int)
    parser.add_argument("--seeds", required=True, nargs="+", type=int)
    parser.add_argument(
        "--fingerprints", required=True, nargs="+", type=key_value(int, str), metavar="ITERATION=FINGERPRINT",
        help="what the plan expects each iteration's embedding to be",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging(f"project_{args.method}")

    given = {"features": args.features, "graph": args.graph, "prepared": args.prepared}
    paths = {name: path for name, path in given.items() if path is not None}
    inputs = {name: read_carried(path) for name, path in paths.items()}
    expected = dict(args.fingerprints)
    fingerprints = {
        i: check_derivation(
            "project_embeddings",
            seeded_settings(args.method, args.settings, seed, REGISTRY[args.method].stochastic),
            inputs,
            expected[i],
            paths.values(),
        )
        for i, seed in zip(args.iterations, args.seeds, strict=True)
    }
    matrix = load_features(args.features).matrix
    graph = None if args.graph is None else projections.NeighbourGraph.load(args.graph)
    prepared = None if args.prepared is None else projections.load_prepared(args.prepared)
    fit = partial(REGISTRY[args.method].fit, matrix, graph=graph, prepared=prepared, threads=args.threads, **args.settings)
    if not REGISTRY[args.method].stochastic:
        # Seed-invariant: fitted once for the whole batch, and only if an iteration is not reused.
        fit_once = cache(partial(fit, 0))
        fit = lambda seed: fit_once()  # noqa: E731
    fitted = matrix.shape[0] if graph is None else graph.fitted(matrix).shape[0]
    log.info("%s: %d rows (%d fitted), iterations %s", args.method, matrix.shape[0], fitted, args.iterations)
    projections.run_batch(fit, args.iterations, args.seeds, fingerprints, args.out_dir, log=log.info)


if __name__ == "__main__":
    run(main)

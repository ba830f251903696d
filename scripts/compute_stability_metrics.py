#!/usr/bin/env python3
"""Compute each method's seed-stability metrics across the iterations and write them as JSON."""

import argparse
from pathlib import Path

from dimred_flow.checksums import file_sha256
from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.embeddings import embedding_name, load_embedding
from dimred_flow.features import load_features
from dimred_flow.methods import METHODS
from dimred_flow.metrics import FeatureNeighbourhoods, method_stability


def find_embedding(directories: list[Path], iteration: int):
    for directory in directories:
        if (directory / embedding_name(iteration)).exists():
            return load_embedding(directory, iteration)
    raise FileNotFoundError(f"no {embedding_name(iteration)} in {', '.join(map(str, directories))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    for method in METHODS:
        parser.add_argument(f"--{method}", required=True, nargs="+", type=Path, help=f"{method} batch directories")
    parser.add_argument("--iterations", required=True, nargs="+", type=int)
    parser.add_argument("--seeds", required=True, nargs="+", type=int)
    parser.add_argument("--n-neighbors", required=True, type=int)
    parser.add_argument("--max-rows", required=True, type=int, help="subsample size for the neighbour metrics")
    parser.add_argument("--fingerprint", required=True, help="identifies the embeddings and settings measured")
    parser.add_argument("--source-provenance", required=True, type=Path, help="results/data/*_table.json")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("compute_stability_metrics")
    if len(args.iterations) != len(args.seeds):
        parser.error("--iterations and --seeds must have the same length")

    features = load_features(args.features).matrix
    seeds = dict(zip(args.iterations, args.seeds))
    neighbourhoods = FeatureNeighbourhoods(features, n_neighbors=args.n_neighbors, max_rows=args.max_rows)
    methods = {}
    for method in METHODS:
        embeddings = {i: find_embedding(getattr(args, method), i) for i in args.iterations}
        methods[method] = method_stability(neighbourhoods, embeddings, seeds)
        log.info("%s: %s", method, methods[method]["summary"])
    source = {key: value for key, value in read_json(args.source_provenance).items() if key != "columns"}
    write_json(
        args.out,
        {
            "fingerprint": args.fingerprint,
            "seeds": {str(i): seed for i, seed in seeds.items()},
            # The data behind the metrics travels with them, so a run that only downloads
            # them can still cite its source.
            "data": {
                "source": source,
                "features": {"sha256": file_sha256(args.features), "rows": int(features.shape[0])},
            },
            "methods": methods,
        },
    )


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Compute the k-nearest-neighbour graph once; UMAP and the t-SNE affinities reuse it."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.features import load_features
from dimred_flow.projections import neighbour_count, neighbour_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument("--umap-neighbors", required=True, type=int, help="UMAP's n_neighbors (the row included)")
    parser.add_argument("--perplexity", required=True, type=float, help="t-SNE perplexity (3 x perplexity neighbours)")
    parser.add_argument("--seed", required=True, type=int, help="seed of the fitted rows' subsample")
    parser.add_argument("--fit-rows", required=True, type=int, help="larger tables are fitted on this many rows")
    parser.add_argument("--threads", type=int, default=1, help="threads of the search")
    parser.add_argument("--out", required=True, type=Path, help=".npz with indices and distances")
    args = parser.parse_args()
    log = setup_logging("compute_neighbour_graph")

    matrix = load_features(args.features).matrix
    k = neighbour_count(matrix.shape[0], umap_neighbors=args.umap_neighbors, perplexity=args.perplexity)
    graph = neighbour_graph(
        matrix, k, seed=args.seed, threads=args.threads, fit_rows=args.fit_rows, placement_neighbors=args.umap_neighbors
    )
    graph.save(args.out)
    log.info("%d nearest neighbours of each of %d fitted rows (table: %d rows)", k, graph.indices.shape[0], matrix.shape[0])


if __name__ == "__main__":
    run(main)

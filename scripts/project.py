#!/usr/bin/env python3
"""Compute one method's 2-D embedding for a batch of iterations in one process."""

import argparse
from functools import partial
from pathlib import Path

from dimred_flow import projections
from dimred_flow.cli import run, setup_logging
from dimred_flow.features import load_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    methods = parser.add_subparsers(dest="method", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--features", required=True, type=Path)
    common.add_argument("--iterations", required=True, nargs="+", type=int)
    common.add_argument("--seeds", required=True, nargs="+", type=int)
    common.add_argument("--out-dir", required=True, type=Path)
    umap = methods.add_parser("umap", parents=[common])
    umap.add_argument("--n-neighbors", required=True, type=int)
    umap.add_argument("--min-dist", required=True, type=float)
    methods.add_parser("pca", parents=[common])
    tsne = methods.add_parser("tsne", parents=[common])
    for fitted_method in (umap, tsne):
        fitted_method.add_argument(
            "--graph", required=True, type=Path, help="neighbour graph from compute_neighbour_graph"
        )
    tsne.add_argument("--implementation", required=True, choices=["opentsne", "sklearn"])
    tsne.add_argument("--affinities", type=Path, help="precomputed affinities (openTSNE)")
    tsne.add_argument("--perplexity", required=True, type=float)
    tsne.add_argument("--n-iter", required=True, type=int)
    tsne.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    log = setup_logging(f"project_{args.method}")

    matrix = load_features(args.features).matrix
    graph = None if args.method == "pca" else projections.NeighbourGraph.load(args.graph)
    if args.method == "umap":
        fit = partial(projections.fit_umap, matrix, n_neighbors=args.n_neighbors, min_dist=args.min_dist, graph=graph)
    elif args.method == "pca":
        embedding = projections.fit_pca(matrix)
        fit = lambda seed: embedding  # noqa: E731 - seed-invariant: fitted once for the whole batch
    elif args.implementation == "opentsne":
        import scipy.sparse

        if args.affinities is None:
            parser.error("--affinities is required with --implementation opentsne")
        affinities = scipy.sparse.load_npz(args.affinities)
        fit = partial(
            projections.fit_tsne_opentsne, affinities, n_iter=args.n_iter, threads=args.threads, graph=graph
        )
    else:
        fit = partial(
            projections.fit_tsne_sklearn, matrix, perplexity=args.perplexity, n_iter=args.n_iter, graph=graph
        )
    fitted = matrix.shape[0] if graph is None else graph.fitted(matrix).shape[0]
    log.info("%s: %d rows (%d fitted), iterations %s", args.method, matrix.shape[0], fitted, args.iterations)
    projections.run_batch(fit, args.iterations, args.seeds, args.out_dir, log=log.info)


if __name__ == "__main__":
    run(main)

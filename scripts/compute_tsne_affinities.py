#!/usr/bin/env python3
"""Compute openTSNE's perplexity affinities once; every t-SNE seed reuses them."""

import argparse
from pathlib import Path

import scipy.sparse

from dimred_flow.cli import run, setup_logging
from dimred_flow.features import load_features
from dimred_flow.projections import tsne_affinities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument("--perplexity", required=True, type=float)
    parser.add_argument("--seed", required=True, type=int, help="seed of the approximate neighbour search")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, type=Path, help=".npz sparse matrix")
    args = parser.parse_args()
    log = setup_logging("compute_tsne_affinities")

    matrix = load_features(args.features).matrix
    affinities = tsne_affinities(matrix, perplexity=args.perplexity, seed=args.seed, threads=args.threads)
    partial = args.out.with_name(args.out.stem + ".partial.npz")
    scipy.sparse.save_npz(partial, affinities)
    partial.replace(args.out)
    log.info("affinities for %d rows, %d non-zeros", affinities.shape[0], affinities.nnz)


if __name__ == "__main__":
    run(main)

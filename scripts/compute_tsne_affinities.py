#!/usr/bin/env python3
"""Compute openTSNE's perplexity affinities once; every t-SNE seed reuses them."""

import argparse
from pathlib import Path

import scipy.sparse

from dimred_flow.atomic import replaced_atomically
from dimred_flow.cli import run, setup_logging
from dimred_flow.projections import NeighbourGraph, tsne_affinities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graph", required=True, type=Path, help="neighbour graph from compute_neighbour_graph")
    parser.add_argument("--perplexity", required=True, type=float)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, type=Path, help=".npz sparse matrix")
    args = parser.parse_args()
    log = setup_logging("compute_tsne_affinities")

    affinities = tsne_affinities(NeighbourGraph.load(args.graph), perplexity=args.perplexity, threads=args.threads)
    with replaced_atomically(args.out) as partial:
        scipy.sparse.save_npz(partial, affinities)
    log.info("affinities for %d rows, %d non-zeros", affinities.shape[0], affinities.nnz)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Compute openTSNE's perplexity affinities once; every t-SNE seed reuses them."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.derivation import check_derivation, read_carried
from dimred_flow.projections import NeighbourGraph, save_affinities, tsne_affinities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graph", required=True, type=Path, help="neighbour graph from compute_neighbour_graph")
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.affinities_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects these settings to make")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, type=Path, help=".npz sparse matrix")
    args = parser.parse_args()
    log = setup_logging("compute_tsne_affinities")

    inputs = {"graph": read_carried(args.graph)}
    fingerprint = check_derivation("compute_tsne_affinities", args.settings, inputs, args.fingerprint, [args.graph])
    affinities = tsne_affinities(NeighbourGraph.load(args.graph), threads=args.threads, **args.settings)
    save_affinities(args.out, affinities, fingerprint)
    log.info("affinities for %d rows, %d non-zeros", affinities.shape[0], affinities.nnz)


if __name__ == "__main__":
    run(main)

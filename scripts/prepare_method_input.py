#!/usr/bin/env python3
"""Prepare a method's input once from the neighbour graph (openTSNE's affinities); every seed reuses it."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.derivation import check_derivation, read_carried
from dimred_flow.methods import method
from dimred_flow.projections import NeighbourGraph, save_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graph", required=True, type=Path, help="neighbour graph from compute_neighbour_graph")
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: the method and its prepared_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects these settings to make")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, type=Path, help=".npz sparse matrix")
    args = parser.parse_args()
    log = setup_logging("prepare_method_input")

    inputs = {"graph": read_carried(args.graph)}
    fingerprint = check_derivation("prepare_method_input", args.settings, inputs, args.fingerprint, [args.graph])
    settings = dict(args.settings)
    preparing = method(settings.pop("method"))
    prepared = preparing.prepare(NeighbourGraph.load(args.graph), threads=args.threads, **settings)
    save_prepared(args.out, prepared, fingerprint)
    log.info("%s: prepared %d x %d, %d non-zeros", preparing.name, *prepared.shape, prepared.nnz)


if __name__ == "__main__":
    run(main)

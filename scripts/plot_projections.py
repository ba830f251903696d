#!/usr/bin/env python3
"""Plot one iteration's embeddings side by side, one panel per method; record the fingerprint it was made with."""

import argparse
import json
from pathlib import Path

from dimred_flow.checksums import file_sha256
from dimred_flow.cli import key_value, run, setup_logging, write_json
from dimred_flow.derivation import check_derivation, read_batch_fingerprints, read_carried
from dimred_flow.embeddings import embedding_provenance, load_embedding
from dimred_flow.features import load_features
from dimred_flow.plotting import plot_projections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument(
        "--embeddings", required=True, nargs="+", type=key_value(str, Path), metavar="METHOD=DIRECTORY",
        help="each method's batch directory holding this iteration",
    )
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.plot_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects this plot to be")
    parser.add_argument("--out", required=True, type=Path, help="the plot (PNG)")
    parser.add_argument("--record", required=True, type=Path, help="JSON: fingerprint, iteration, seed, sha256")
    args = parser.parse_args()
    log = setup_logging("plot_projections")

    settings = args.settings
    iteration = settings["iteration"]
    directories = dict(args.embeddings)
    inputs = {"features": read_carried(args.features)}
    for method, directory in directories.items():
        carried = read_batch_fingerprints(directory)
        if iteration not in carried:
            parser.error(f"{directory} holds no embedding of iteration {iteration}")
        inputs[method] = carried[iteration]
    fingerprint = check_derivation(
        "plot_projections", settings, inputs, args.fingerprint, [args.features, *directories.values()]
    )
    embeddings = {method: load_embedding(directory, iteration) for method, directory in directories.items()}
    plot_projections(embeddings, load_features(args.features), out_path=args.out, **settings)
    write_json(
        args.record,
        {
            "fingerprint": fingerprint,
            "iteration": iteration,
            "seed": settings["seed"],
            "sha256": file_sha256(args.out),
            "size": args.out.stat().st_size,
            # What the plot shows, and what made it: travels to storage with the record, into the crate.
            "embeddings": {
                method: embedding_provenance(directory, iteration, inputs[method])
                for method, directory in directories.items()
            },
        },
    )
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Compute each method's seed-stability metrics across the iterations and write them as JSON."""

import argparse
import json
from pathlib import Path

from dimred_flow.checksums import file_sha256
from dimred_flow.cli import key_value, read_json, run, setup_logging, write_json
from dimred_flow.derivation import check_derivation, read_batch_fingerprints, read_carried
from dimred_flow.embeddings import find_batch, load_embedding
from dimred_flow.features import load_features
from dimred_flow.metrics import FeatureNeighbourhoods, method_stability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument(
        "--embeddings", required=True, nargs="+", type=key_value(str, Path), metavar="METHOD=DIRECTORY",
        help="every batch directory of every method",
    )
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.stability_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects these metrics to be")
    parser.add_argument("--source-provenance", required=True, type=Path, help="results/data/*_table.json")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("compute_stability_metrics")
    settings = args.settings
    seeds = {int(i): seed for i, seed in settings["seeds"].items()}
    labels = dict(settings["labels"])
    directories_of = {name: [directory for method, directory in args.embeddings if method == name] for name in labels}
    batches = {name: {i: find_batch(directories_of[name], i) for i in seeds} for name in labels}
    inputs = {"features": read_carried(args.features)}
    for method, batch_of in batches.items():
        inputs[method] = [read_batch_fingerprints(batch_of[i])[i] for i in seeds]
    directories = sorted({directory for batch_of in batches.values() for directory in batch_of.values()})
    fingerprint = check_derivation("compute_stability_metrics", settings, inputs, args.fingerprint, [args.features, *directories])

    features = load_features(args.features).matrix
    neighbourhoods = FeatureNeighbourhoods(features, n_neighbors=settings["n_neighbors"], max_rows=settings["max_rows"])
    methods = {}
    for method in labels:
        embeddings = {i: load_embedding(batches[method][i], i) for i in seeds}
        methods[method] = method_stability(neighbourhoods, embeddings, seeds)
        log.info("%s: %s", method, methods[method]["summary"])
    source = {key: value for key, value in read_json(args.source_provenance).items() if key != "columns"}
    write_json(
        args.out,
        {
            "fingerprint": fingerprint,
            "seeds": {str(i): seed for i, seed in seeds.items()},
            # The data behind the metrics travels with them, so a run that only downloads
            # them can still cite its source.
            "data": {
                "source": source,
                "features": {"sha256": file_sha256(args.features), "rows": int(features.shape[0])},
            },
            "methods": methods,
            # The table's rows, in the configured order, as the run named them.
            "labels": settings["labels"],
        },
    )


if __name__ == "__main__":
    run(main)

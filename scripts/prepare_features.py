#!/usr/bin/env python3
"""Derive, select and standardise the features; record how many rows were dropped."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.derivation import check_derivation
from dimred_flow.features import MIN_ROWS, columns_read, prepare_features
from dimred_flow.tables import read_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, type=Path)
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.features_settings")
    parser.add_argument("--fingerprint", required=True, help="what the plan expects these settings to make")
    parser.add_argument(
        "--min-distinct-rows",
        type=int,
        default=MIN_ROWS,
        help="a check, not a setting: one more than the largest neighbour count of the methods and metrics",
    )
    parser.add_argument("--out", required=True, type=Path, help="features .npz")
    parser.add_argument("--summary", required=True, type=Path, help="JSON summary")
    args = parser.parse_args()
    log = setup_logging("prepare_features")

    # The source's identity names the table in the fingerprint; the table itself is the input.
    fingerprint = check_derivation("prepare_features", args.settings, {}, args.fingerprint, [args.table])
    options = {key: value for key, value in args.settings.items() if key != "source"}
    features = options.pop("features")
    columns = columns_read(features, options["derive"], options["label_column"] or options["color_by"])
    prepared = prepare_features(
        read_parquet(args.table, columns), features, min_distinct_rows=args.min_distinct_rows, **options
    )
    prepared.save(args.out, fingerprint)
    write_json(args.summary, {**prepared.summary, "fingerprint": fingerprint})
    log.info(
        "kept %d of %d rows (%d dropped for missing features)",
        prepared.summary["rows_kept"],
        prepared.summary["rows_in"],
        prepared.summary["rows_dropped_incomplete"],
    )


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Derive, select and standardise the features; record how many rows were dropped."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.features import MIN_ROWS, prepare_features
from dimred_flow.tables import read_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, type=Path)
    parser.add_argument("--features", required=True, nargs="+")
    parser.add_argument("--derive", nargs="*", default=[])
    parser.add_argument("--label-column", default="")
    parser.add_argument("--color-by", required=True)
    parser.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--max-rows", type=int, default=0, help="0 keeps every row")
    parser.add_argument(
        "--min-distinct-rows",
        type=int,
        default=MIN_ROWS,
        help="one more than the largest neighbour count of the methods and metrics",
    )
    parser.add_argument("--out", required=True, type=Path, help="features .npz")
    parser.add_argument("--summary", required=True, type=Path, help="JSON summary")
    args = parser.parse_args()
    log = setup_logging("prepare_features")

    prepared = prepare_features(
        read_parquet(args.table),
        args.features,
        derive=args.derive,
        label_column=args.label_column or None,
        color_by=args.color_by,
        standardize=args.standardize,
        max_rows=args.max_rows or None,
        min_distinct_rows=args.min_distinct_rows,
    )
    prepared.save(args.out)
    write_json(args.summary, prepared.summary)
    log.info(
        "kept %d of %d rows (%d dropped for missing features)",
        prepared.summary["rows_kept"],
        prepared.summary["rows_in"],
        prepared.summary["rows_dropped_incomplete"],
    )


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Run an ADQL query on a TAP service; write the table as Parquet and its provenance as JSON."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.tables import write_parquet
from dimred_flow.tap import fetch_chunk, fetch_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="TAP service base URL")
    parser.add_argument("--query", required=True, help="ADQL")
    parser.add_argument("--maxrec", type=int, help="row limit asked of the service; omitted: the service's own")
    parser.add_argument("--mode", choices=["auto", "sync", "async"], default="auto")
    parser.add_argument("--async-threshold", type=int, default=20000, help="auto mode: async above this maxrec")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole fetch, retries included")
    parser.add_argument("--retries", type=int, default=3, help="re-tries after a transient fault")
    parser.add_argument("--on-overflow", choices=["fail", "warn"], default="fail")
    parser.add_argument(
        "--chunk-condition", help="fetch one chunk: this ADQL condition replaces {chunk_condition} in the query"
    )
    parser.add_argument("--table", required=True, type=Path, help="Parquet output")
    parser.add_argument("--provenance", required=True, type=Path, help="JSON output")
    args = parser.parse_args()
    log = setup_logging("fetch_tap_table")

    options = {
        "maxrec": args.maxrec,
        "mode": args.mode,
        "async_threshold": args.async_threshold,
        "timeout": args.timeout,
        "retries": args.retries,
        "on_overflow": args.on_overflow,
    }
    if args.chunk_condition:
        table, provenance = fetch_chunk(args.url, args.query, args.chunk_condition, **options)
    else:
        table, provenance = fetch_table(args.url, args.query, **options)
    if provenance["truncated_warning"]:
        log.warning(provenance["truncated_warning"])
    write_parquet(table, args.table)
    write_json(args.provenance, provenance)
    log.info("fetched %d rows x %d columns from %s (%s)", len(table), len(table.columns), args.url, provenance["mode"])


if __name__ == "__main__":
    run(main)

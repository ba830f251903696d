#!/usr/bin/env python3
"""Concatenate the Parquet chunks of a TAP query into one table; its provenance lists the chunks."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.tables import concatenate_parquet
from dimred_flow.tap import combine_chunk_provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", required=True, nargs="+", type=Path, help="chunk Parquet files, in order")
    parser.add_argument("--chunk-provenances", required=True, nargs="+", type=Path, help="their JSON, same order")
    parser.add_argument("--table", required=True, type=Path, help="Parquet output")
    parser.add_argument("--provenance", required=True, type=Path, help="JSON output")
    args = parser.parse_args()
    log = setup_logging("concatenate_tap_chunks")

    provenance = combine_chunk_provenance([read_json(path) for path in args.chunk_provenances])
    concatenate_parquet(args.chunks, args.table)
    write_json(args.provenance, provenance)
    log.info("concatenated %d chunks into %d rows", len(args.chunks), provenance["row_count"])


if __name__ == "__main__":
    run(main)

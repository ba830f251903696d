#!/usr/bin/env python3
"""Read a local table (the shipped snapshot by default) and write it as Parquet with its provenance."""

import argparse
from pathlib import Path

from dimred_flow.checksums import file_sha256
from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.clock import utc_now
from dimred_flow.errors import UserError
from dimred_flow.tables import column_metadata, read_table_file, write_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, type=Path, help="CSV, FITS, VOTable or Parquet table")
    parser.add_argument("--table", required=True, type=Path, help="Parquet output")
    parser.add_argument("--provenance", required=True, type=Path, help="JSON output")
    parser.add_argument("--origin", type=Path, help="stage-in record of a table copied from S3 or WebDAV")
    args = parser.parse_args()
    log = setup_logging("import_table")

    table = read_table_file(args.source)
    write_parquet(table, args.table)
    provenance = {
        "kind": "file",
        # The name, not the path: the path is the machine's, and it travels into storage and the crate;
        # the checksum identifies the table anywhere.
        "path": args.source.name,
        "sha256": file_sha256(args.source),
        "size": args.source.stat().st_size,
        "row_count": len(table),
        "columns": column_metadata(table),
        "read_at": utc_now(),
    }
    if args.origin:
        # A staged-in copy: cite the remote table, whose checksum the copy was verified against.
        origin = read_json(args.origin)
        if origin["sha256"] != provenance["sha256"]:
            raise UserError(f"{args.source} is not the table staged in from {origin['url']}; delete it and rerun.")
        provenance.update(path=origin["url"], staged_copy=str(args.source), etag=origin.get("etag"))
    write_json(args.provenance, provenance)
    log.info("read %d rows x %d columns from %s", len(table), len(table.columns), args.source)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Stage in the input table from S3 or WebDAV storage: download once, verify, and record URL, size and checksum."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.stage_in import open_source, stage_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="s3://bucket/key, davs://host/path or dav://host/path")
    parser.add_argument("--endpoint-url", default="", help="S3 endpoint of a non-AWS object store")
    parser.add_argument("--out", required=True, type=Path, help="the local copy")
    parser.add_argument("--record", required=True, type=Path, help="JSON: URL, size, sha256, ETag")
    args = parser.parse_args()
    log = setup_logging("stage_in_table")

    storage = open_source(args.url, args.endpoint_url or None)
    record = stage_in(storage, args.url, args.out)
    write_json(args.record, record)
    log.info("staged in %s (%d bytes, sha256 %s…, %s)", args.url, record["size"], record["sha256"][:12],
             record["verified_by"])


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Download the stored seed-stability metrics listed in the inventory and verify their checksum."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging
from dimred_flow.staging_cli import add_storage_arguments, listing_cleared_on_failure, storage_from_arguments
from dimred_flow.storage import download_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("download_stability_metrics")

    record = read_json(args.inventory)["stored"]
    with listing_cleared_on_failure(args.inventory):
        download_file(storage_from_arguments(args), record["key"], args.out, record["sha256"])
    log.info("downloaded and verified %s", record["key"])


if __name__ == "__main__":
    run(main)

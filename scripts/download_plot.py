#!/usr/bin/env python3
"""Download one stored plot listed in the inventory and verify its checksum; write its record beside it."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, listing_cleared_on_failure, storage_from_arguments
from dimred_flow.storage import download_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--iteration", required=True, type=int)
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--record", required=True, type=Path, help="the stored record: what made the plot")
    args = parser.parse_args()
    log = setup_logging("download_plot")

    record = read_json(args.inventory)["stored"][str(args.iteration)]
    with listing_cleared_on_failure(args.inventory):
        receipt = download_plot(storage_from_arguments(args), args.user_folder, args.out, record)
    write_json(args.record, receipt)
    log.info("downloaded and verified iteration %d (seed %d)", args.iteration, record["seed"])


if __name__ == "__main__":
    run(main)

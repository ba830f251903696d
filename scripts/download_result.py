#!/usr/bin/env python3
"""Download the files of a stored result listed in the inventory and verify each against its record."""

import argparse
from pathlib import Path

from dimred_flow.cli import key_value, read_json, run, setup_logging
from dimred_flow.staging_cli import add_storage_arguments, listing_cleared_on_failure, storage_from_arguments
from dimred_flow.stored_results import download_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--out", required=True, nargs="+", type=key_value(str, Path), metavar="NAME=PATH")
    args = parser.parse_args()
    log = setup_logging("download_result")

    record = read_json(args.inventory)["stored"]
    with listing_cleared_on_failure(args.inventory):
        download_result(storage_from_arguments(args), args.user_folder, record, dict(args.out))
    log.info("downloaded and verified %s", record["key"])


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Download the stored seed-stability metrics listed in the inventory and verify their checksum."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging
from dimred_flow.storage import open_storage
from dimred_flow.stored_files import download_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--endpoint-url", default="")
    parser.add_argument("--user-folder", required=True)
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("download_stability_metrics")

    record = read_json(args.inventory)["stored"]
    download_file(open_storage(args.storage, args.endpoint_url or None), record, args.out)
    log.info("downloaded and verified %s", record["key"])


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Download one stored plot listed in the inventory and verify its checksum."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging
from dimred_flow.storage import download_plot, open_storage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--endpoint-url", default="")
    parser.add_argument("--user-folder", required=True)
    parser.add_argument("--iteration", required=True, type=int)
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("download_plot")

    record = read_json(args.inventory)["stored"][str(args.iteration)]
    storage = open_storage(args.storage, args.endpoint_url or None)
    download_plot(storage, args.user_folder, args.iteration, args.out, record)
    log.info("downloaded and verified iteration %d (seed %d)", args.iteration, record["seed"])


if __name__ == "__main__":
    run(main)

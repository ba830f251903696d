#!/usr/bin/env python3
"""Record whether the storage holds seed-stability metrics for exactly these embeddings and settings."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.stored_stability import find_stored_stability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--fingerprint", required=True)
    parser.add_argument("--out", required=True, type=Path, help="JSON inventory")
    args = parser.parse_args()
    log = setup_logging("list_stored_stability")

    storage = storage_from_arguments(args)
    record = find_stored_stability(storage, args.user_folder, args.fingerprint)
    write_json(args.out, {"fingerprint": args.fingerprint, "stored": record})
    log.info("stability metrics %s in %s/%s", "found" if record else "not", storage.description, args.user_folder)


if __name__ == "__main__":
    run(main)

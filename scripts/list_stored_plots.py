#!/usr/bin/env python3
"""Check the storage, then list the plots already stored for this user folder with matching parameters.

Runs first: unreachable storage or wrong credentials stop the run before any compute.
"""

import argparse
from pathlib import Path

from dimred_flow.cli import key_value, run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.storage import check_storage, list_stored_plots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--create-bucket", action="store_true")
    parser.add_argument(
        "--fingerprints", required=True, nargs="+", type=key_value(int, str), metavar="ITERATION=FINGERPRINT"
    )
    parser.add_argument("--out", required=True, type=Path, help="JSON inventory")
    args = parser.parse_args()
    log = setup_logging("list_stored_plots")

    storage = storage_from_arguments(args)
    check_storage(storage, create_bucket=args.create_bucket)
    stored = list_stored_plots(storage, args.user_folder, dict(args.fingerprints))
    write_json(
        args.out,
        {"storage": storage.description, "user_folder": args.user_folder, "stored": {str(i): r for i, r in stored.items()}},
    )
    log.info("%d of %d plots already in %s/%s", len(stored), len(args.fingerprints), storage.description, args.user_folder)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Record whether the storage holds the whole result (the embedding catalogue) of this fingerprint."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.stored_results import find_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--kind", required=True, help="the records' folder under the user folder")
    parser.add_argument("--fingerprint", required=True)
    parser.add_argument("--out", required=True, type=Path, help="JSON inventory")
    args = parser.parse_args()
    log = setup_logging("list_stored_result")

    storage = storage_from_arguments(args)
    record = find_result(storage, args.user_folder, args.kind, args.fingerprint)
    write_json(args.out, {"kind": args.kind, "fingerprint": args.fingerprint, "stored": record})
    log.info("%s %s %s in %s/%s", args.kind, args.fingerprint[:16], "found" if record else "not", storage.description,
             args.user_folder)


if __name__ == "__main__":
    run(main)

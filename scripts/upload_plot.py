#!/usr/bin/env python3
"""Upload one iteration's plot to {storage}/{user_folder}/ and verify it; write a receipt."""

import argparse
import shutil
from pathlib import Path

from dimred_flow.atomic import replaced_atomically
from dimred_flow.cli import run, setup_logging, write_json
from dimred_flow.clock import utc_now
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.storage import upload_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--iteration", required=True, type=int)
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--fingerprint", required=True)
    parser.add_argument("--plot", required=True, type=Path)
    parser.add_argument("--staged-copy", required=True, type=Path, help="local copy, made once verified")
    parser.add_argument("--receipt", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("upload_plot")

    storage = storage_from_arguments(args)
    record = {
        "iteration": args.iteration,
        "seed": args.seed,
        "fingerprint": args.fingerprint,
        "uploaded_at": utc_now(),
    }
    receipt = upload_plot(storage, args.user_folder, args.iteration, args.plot, record)
    with replaced_atomically(args.staged_copy) as partial:
        shutil.copyfile(args.plot, partial)
    write_json(args.receipt, receipt)
    log.info("uploaded and verified %s (%d bytes)", receipt["key"], receipt["size"])


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Upload a run-level file (stability metrics, provenance crate, PDF) to its key in the user folder and verify it."""

import argparse
import shutil
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.storage import upload_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--name", required=True, help="its key under the user folder")
    parser.add_argument("--staged-copy", required=True, type=Path, help="local copy, made once verified")
    args = parser.parse_args()
    log = setup_logging("upload_report_file")

    storage = storage_from_arguments(args)
    receipt = upload_file(storage, args.user_folder, args.file, args.name)
    shutil.copyfile(args.file, args.staged_copy)
    log.info("uploaded and verified %s (%d bytes)", receipt["key"], receipt["size"])


if __name__ == "__main__":
    run(main)

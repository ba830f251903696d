#!/usr/bin/env python3
"""Upload a run-level file (stability metrics, provenance crate) beside the plots and verify it."""

import argparse
import shutil
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.storage import open_storage
from dimred_flow.stored_files import upload_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--endpoint-url", default="")
    parser.add_argument("--user-folder", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--staged-copy", required=True, type=Path, help="local copy, made once verified")
    args = parser.parse_args()
    log = setup_logging("upload_report_file")

    storage = open_storage(args.storage, args.endpoint_url or None)
    receipt = upload_file(storage, args.user_folder, args.file, args.staged_copy.name)
    shutil.copyfile(args.file, args.staged_copy)
    log.info("uploaded and verified %s (%d bytes)", receipt["key"], receipt["size"])


if __name__ == "__main__":
    run(main)

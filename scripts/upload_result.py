#!/usr/bin/env python3
"""Upload the files of one result (the embedding catalogue) under their checksums and their record under
the result's fingerprint; verify each; keep a local copy of each as proof of the upload."""

import argparse
import shutil
from pathlib import Path

from dimred_flow.cli import key_value, run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.stored_results import upload_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--kind", required=True, help="the records' folder under the user folder")
    parser.add_argument("--fingerprint", required=True)
    parser.add_argument("--files", required=True, nargs="+", type=key_value(str, Path), metavar="NAME=PATH")
    parser.add_argument("--staged-copies", required=True, nargs="+", type=key_value(str, Path), metavar="NAME=PATH")
    parser.add_argument("--receipt", required=True, type=Path, help="the record as stored, JSON")
    args = parser.parse_args()
    log = setup_logging("upload_result")

    files = dict(args.files)
    record = upload_result(storage_from_arguments(args), args.user_folder, args.kind, args.fingerprint, files)
    for name, copy in args.staged_copies:
        shutil.copyfile(files[name], copy)
    write_json(args.receipt, record)
    log.info("uploaded and verified %s/%s with %s", args.kind, args.fingerprint, ", ".join(files))


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Upload one iteration's plot to {storage}/{user_folder}/ and verify it; write a receipt.

The plot is uploaded only if the record its maker wrote names the fingerprint this run expects and
the checksum of the file beside it: a plot is never stored under a fingerprint it was not made with.
"""

import argparse
import shutil
from pathlib import Path

from dimred_flow.atomic import replaced_atomically
from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.staging_cli import add_storage_arguments, storage_from_arguments
from dimred_flow.storage import check_plot_record, upload_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_storage_arguments(parser)
    parser.add_argument("--fingerprint", required=True, help="what the plan expects the plot to be")
    parser.add_argument("--plot", required=True, type=Path)
    parser.add_argument("--record", required=True, type=Path, help="what plot_projections recorded making")
    parser.add_argument("--staged-copy", required=True, type=Path, help="local copy, made once verified")
    parser.add_argument("--receipt", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("upload_plot")

    made = check_plot_record(read_json(args.record), args.plot, args.fingerprint)
    storage = storage_from_arguments(args)
    receipt = upload_plot(storage, args.user_folder, args.plot, made)
    with replaced_atomically(args.staged_copy) as partial:
        shutil.copyfile(args.plot, partial)
    write_json(args.receipt, receipt)
    log.info("uploaded and verified %s (%d bytes)", receipt["key"], receipt["size"])


if __name__ == "__main__":
    run(main)

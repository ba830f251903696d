#!/usr/bin/env python3
"""Gather staged files into one folder under their own names: the plots for the Snakemake report, the
embedding catalogue as results/embedding_catalogue.*. Copies, not hard links: a link shares its input's
modification time, and an output older than another of the job's inputs makes Snakemake fail the job."""

import argparse
import shutil
from pathlib import Path

from dimred_flow.cli import run, setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", required=True, nargs="+", type=Path)
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("collect_files")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for staged in args.files:
        target = args.out_dir / staged.name
        # A link an earlier version left would be written through into the staged file.
        target.unlink(missing_ok=True)
        shutil.copyfile(staged, target)
    log.info("collected %d files in %s", len(args.files), args.out_dir)


if __name__ == "__main__":
    run(main)

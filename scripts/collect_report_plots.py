#!/usr/bin/env python3
"""Gather the staged plots into one folder for the Snakemake report (hard links where possible)."""

import argparse
import os
import shutil
from pathlib import Path

from dimred_flow.cli import run, setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", required=True, nargs="+", type=Path)
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("collect_report_plots")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for plot in args.plots:
        target = args.out_dir / plot.name
        try:
            os.link(plot, target)
        except OSError:  # another filesystem, or links not supported
            shutil.copyfile(plot, target)
    log.info("collected %d plots in %s", len(args.plots), args.out_dir)


if __name__ == "__main__":
    run(main)

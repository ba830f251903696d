#!/usr/bin/env python3
"""Merge the iteration plots into one PDF, one page and one outline entry per iteration,
followed by any appended PDF pages (the seed-stability table)."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.pdf import merge_plots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", required=True, nargs="+", type=Path, help="PNG per iteration, in order")
    parser.add_argument("--seeds", required=True, nargs="+", type=int)
    parser.add_argument("--dpi", required=True, type=int, help="the plots' resolution (config plot.dpi)")
    parser.add_argument(
        "--append", nargs=2, action="append", default=[], metavar=("PDF", "TITLE"),
        help="PDF appended after the plots, with its outline title (repeatable)",
    )
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("merge_pdf")
    if len(args.plots) != len(args.seeds):
        parser.error("--plots and --seeds must have the same length")

    pages = [(plot, f"Iteration {i} (seed {seed})") for i, (plot, seed) in enumerate(zip(args.plots, args.seeds), 1)]
    appended = [(Path(pdf), title) for pdf, title in args.append]
    merge_plots(pages, args.out, dpi=args.dpi, extra_pdfs=appended)
    log.info("merged %d plots and %d appended PDFs into %s", len(pages), len(appended), args.out)


if __name__ == "__main__":
    run(main)

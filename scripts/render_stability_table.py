#!/usr/bin/env python3
"""Render the seed-stability metrics as a PDF page (for merged_plots.pdf) and an HTML table (for the report)."""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging
from dimred_flow.stability_table import write_stability_html, write_stability_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", required=True, type=Path, help="stability.json")
    parser.add_argument("--pdf", required=True, type=Path)
    parser.add_argument("--html", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("render_stability_table")

    metrics = read_json(args.metrics)
    write_stability_page(metrics, args.pdf)
    write_stability_html(metrics, args.html)
    log.info("wrote %s and %s", args.pdf, args.html)


if __name__ == "__main__":
    run(main)

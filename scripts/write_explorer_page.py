#!/usr/bin/env python3
"""Write the explorer page: the embedding catalogue's maps side by side, with linked selection, as one
self-contained HTML file."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.explorer import write_explorer_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalogue", required=True, type=Path, help="the catalogue's FITS file")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("write_explorer_page")
    shown, total = write_explorer_page(args.catalogue, args.out)
    log.info("%d of %d stars shown: %s (%d bytes)", shown, total, args.out, args.out.stat().st_size)


if __name__ == "__main__":
    run(main)

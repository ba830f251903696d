#!/usr/bin/env python3
"""Pack a run's crate with every file it describes into one zip, ready for WorkflowHub or Zenodo.

    python scripts/pack_run_crate.py --crate results/ro-crate-metadata.json --out dimred-flow-run.zip

The zip's root holds ro-crate-metadata.json (an RO-Crate zip, as both registries take it), README.md,
the workflow's files (workflow/) and the results the crate lists, each under the path the crate names.
"""

import argparse
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging
from dimred_flow.crate_package import pack_crate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crate", required=True, type=Path, help="a run's ro-crate-metadata.json")
    parser.add_argument("--out", required=True, type=Path, help="the zip to write")
    args = parser.parse_args()
    log = setup_logging("pack_run_crate")

    packed = pack_crate(read_json(args.crate), args.crate.parent, args.out)
    log.info("packed %d files into %s (%.1f MB)", len(packed), args.out, args.out.stat().st_size / 1e6)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""Write a Jupyter notebook that loads this run's table, embeddings and metrics and plots them."""

import argparse
from pathlib import Path

from dimred_flow.cli import key_value, run, setup_logging
from dimred_flow.notebook import write_notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, help="the fetched table (Parquet)")
    parser.add_argument("--features", required=True)
    parser.add_argument("--stability", required=True)
    parser.add_argument("--plots", required=True, nargs="+", help="staged plot per iteration, in order")
    parser.add_argument("--seeds", required=True, nargs="+", type=key_value(str, int), metavar="ITERATION=SEED")
    parser.add_argument(
        "--embedding", nargs="+", type=key_value(), default=[], metavar="METHOD/ITERATION=FILE",
        help="where each embedding is written when computed on this machine",
    )
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("write_notebook")

    embeddings: dict[str, dict[str, str]] = {}
    for key, path in args.embedding:
        method, _, iteration = key.partition("/")
        embeddings.setdefault(method, {})[iteration] = path
    run_paths = {
        "table": args.table,
        "features": args.features,
        "stability": args.stability,
        "plots": args.plots,
        "seeds": dict(args.seeds),
        "embeddings": embeddings,
    }
    write_notebook(run_paths, args.out, Path.cwd())
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    run(main)

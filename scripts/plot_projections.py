#!/usr/bin/env python3
"""Plot one iteration's UMAP, PCA and t-SNE embeddings side by side."""

import argparse
from pathlib import Path

from dimred_flow.cli import run, setup_logging
from dimred_flow.embeddings import load_embedding
from dimred_flow.features import load_features
from dimred_flow.methods import METHODS
from dimred_flow.plotting import plot_projections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, type=Path)
    for method in METHODS:
        parser.add_argument(f"--{method}", required=True, type=Path, help=f"{method} embeddings directory")
    parser.add_argument("--iteration", required=True, type=int)
    parser.add_argument("--n-test", required=True, type=int)
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--tsne-implementation", required=True)
    parser.add_argument("--dpi", required=True, type=int)
    parser.add_argument("--point-size", required=True, type=float)
    parser.add_argument("--density-above-rows", required=True, type=int)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("plot_projections")

    embeddings = {method: load_embedding(getattr(args, method), args.iteration) for method in METHODS}
    plot_projections(
        embeddings,
        load_features(args.features),
        iteration=args.iteration,
        n_test=args.n_test,
        seed=args.seed,
        tsne_implementation=args.tsne_implementation,
        out_path=args.out,
        dpi=args.dpi,
        point_size=args.point_size,
        density_above_rows=args.density_above_rows,
    )
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    run(main)

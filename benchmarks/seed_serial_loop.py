#!/usr/bin/env python3
"""The seed's serial loop, re-implemented as the baseline of benchmarks/run_benchmark.py.

What the seed did, in one Python process: load the table, build the feature matrix, draw
n_test seeds and, for each seed, fit UMAP, PCA and t-SNE with their library DEFAULTS, draw a
1x3 matplotlib PNG, and finally merge the PNGs into one PDF. No S3 here: plots stay local.

Deliberate differences from the original seed, so that both sides do the same work:
  * the feature matrix comes from the workflow's own `dimred_flow.features.prepare_features`
    with the same config (so it is STANDARDISED like the workflow's default; the seed did not
    standardise: pass --no-standardize to get the seed's unscaled matrix instead);
  * the seeds are the workflow's per-iteration seeds (`dimred_flow.config.iteration_seed`),
    so UMAP is fitted with the same random_state on both sides.
Library defaults are kept as the seed had them: `umap.UMAP(n_components=2, random_state=seed)`
(n_neighbors=15, min_dist=0.1; a random_state makes it single-threaded),
`PCA(n_components=2)`, `sklearn.manifold.TSNE(n_components=2, random_state=seed)` (Barnes-Hut,
1000 iterations, init='pca', so its embedding does not actually depend on the seed).

It writes a JSON of timings (per iteration and per method) that run_benchmark.py uses to
break the baseline down and, at large N, to extrapolate from few iterations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import umap  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

from dimred_flow.config import iteration_seed, validate_config  # noqa: E402
from dimred_flow.features import prepare_features  # noqa: E402
from dimred_flow.tables import read_table_file  # noqa: E402


def plot_iteration(embeddings: dict, labels: np.ndarray, seed: int, out: Path, dpi: int) -> None:
    """The seed's figure: three scatter plots side by side, coloured by cluster."""
    _, codes = np.unique(labels, return_inverse=True)
    figure, axes = plt.subplots(1, 3, figsize=(18, 6))
    for axis, (title, embedding) in zip(axes, embeddings.items()):
        axis.scatter(embedding[:, 0], embedding[:, 1], c=codes, cmap="tab10", s=3, alpha=0.8, linewidths=0)
        axis.set_title(f"{title} (seed {seed})")
    figure.tight_layout()
    figure.savefig(out, dpi=dpi)
    plt.close(figure)


def merge_pngs(pngs: list[Path], out: Path) -> None:
    images = [Image.open(png).convert("RGB") for png in pngs]
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=110.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", required=True, type=Path, help="the same config the workflow gets")
    parser.add_argument("--n-test", type=int, help="iterations to run (default: the config's n_test)")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--timings", type=Path, help="JSON timings output (default: OUT_DIR/timings.json)")
    parser.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                        help="override the config's standardize (the original seed did not standardise)")
    args = parser.parse_args()
    imports_s = time.perf_counter() - _T0

    config = validate_config(yaml.safe_load(args.configfile.read_text()) or {})
    n_test = args.n_test or config["n_test"]
    standardize = config["standardize"] if args.standardize is None else args.standardize
    args.out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    prepared = prepare_features(
        read_table_file(config["source"]["path"]),
        config["features"],
        derive=config["derive"],
        label_column=config["label_column"],
        color_by=config["color_by"],
        standardize=standardize,
        max_rows=config["max_rows"],
    )
    matrix, labels = prepared.matrix, prepared.colour_values
    load_s = time.perf_counter() - started

    iterations, pngs = [], []
    for i in range(1, n_test + 1):
        seed = iteration_seed(config["seed"], i)
        times, embeddings = {}, {}
        t = time.perf_counter()
        embeddings["UMAP"] = umap.UMAP(n_components=2, random_state=seed).fit_transform(matrix)
        times["umap"] = time.perf_counter() - t
        t = time.perf_counter()
        embeddings["PCA"] = PCA(n_components=2).fit_transform(matrix)
        times["pca"] = time.perf_counter() - t
        t = time.perf_counter()
        embeddings["t-SNE"] = TSNE(n_components=2, random_state=seed).fit_transform(matrix)
        times["tsne"] = time.perf_counter() - t
        t = time.perf_counter()
        png = args.out_dir / f"projections_comparison_{i}.png"
        plot_iteration(embeddings, labels, seed, png, dpi=config["plot"]["dpi"])
        times["plot"] = time.perf_counter() - t
        pngs.append(png)
        iterations.append({"iteration": i, "seed": seed, **{k: round(v, 3) for k, v in times.items()},
                           "total": round(sum(times.values()), 3)})
        print(f"iteration {i} (seed {seed}): " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()), flush=True)

    t = time.perf_counter()
    merge_pngs(pngs, args.out_dir / "merged_plots.pdf")
    merge_s = time.perf_counter() - t

    record = {
        "rows": int(matrix.shape[0]),
        "features": prepared.feature_names,
        "standardized": standardize,
        "n_test": n_test,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "imports_s": round(imports_s, 3),
        "load_s": round(load_s, 3),
        "iterations": iterations,
        "merge_s": round(merge_s, 3),
        "in_process_s": round(time.perf_counter() - _T0, 3),
    }
    timings = args.timings or args.out_dir / "timings.json"
    timings.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

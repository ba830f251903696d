"""An exploration notebook for one run: the local counterpart of REANA's "open Jupyter notebook" button."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dimred_flow.atomic import replaced_atomically

SETUP = '''\
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

# Jupyter starts the kernel in the notebook's folder; every path below is relative to the
# workflow's working directory, {depth} level(s) up.
WORKDIR = Path.cwd().parents[{parents}]
RUN = json.loads({run!r})
seeds = {{int(i): seed for i, seed in RUN["seeds"].items()}}
print("iterations and seeds:", seeds)'''

TABLE = '''\
from astropy.table import Table

table_path = WORKDIR / RUN["table"]
if table_path.exists():
    table = Table.read(table_path, format="parquet")
    print(f"{len(table):,} rows, columns: {', '.join(table.colnames)}")
    display(table[:5])
else:
    table = None
    print(f"{RUN['table']} is not on this machine (the plots and metrics came from storage).")'''

EMBEDDINGS = '''\
features_path = WORKDIR / RUN["features"]
embeddings = {}
for method, paths in RUN["embeddings"].items():
    for iteration, path in paths.items():
        if (WORKDIR / path).exists():
            embeddings[method, int(iteration)] = np.load(WORKDIR / path)

if embeddings and features_path.exists():
    with np.load(features_path, allow_pickle=False) as data:
        matrix, colour = data["matrix"], data["colour_values"]
        colour_name, _, is_label = (str(x) for x in data["colour_meta"])
    codes = np.unique(colour, return_inverse=True)[1] if is_label == "True" else colour.astype(float)
    print(f"standardised features: {matrix.shape[0]:,} rows x {matrix.shape[1]} columns; colour: {colour_name}")
    iterations = sorted(seeds)
    figure, axes = plt.subplots(len(iterations), len(RUN["methods"]), figsize=(13, 4 * len(iterations)), squeeze=False)
    for row, iteration in zip(axes, iterations):
        for axis, method in zip(row, RUN["methods"]):
            points = embeddings.get((method, iteration))
            if points is not None:
                axis.scatter(points[:, 0], points[:, 1], c=codes, s=3, cmap="viridis", linewidths=0)
            axis.set_title(f"{method.upper()}, iteration {iteration} (seed {seeds[iteration]})")
            axis.set_xticks([])
            axis.set_yticks([])
    figure.tight_layout()
    plt.show()
else:
    print("The embeddings were not computed on this machine; showing the staged plots instead.")
    for plot in RUN["plots"]:
        display(Image(filename=str(WORKDIR / plot)))'''

METRICS = '''\
metrics = json.loads((WORKDIR / RUN["stability"]).read_text())
print(f"{'method':8} {'trustworthiness':>16} {'kNN preservation':>17} {'Procrustes (mean)':>18}")
for method, result in metrics["methods"].items():
    summary = result["summary"]
    disparity = summary["procrustes_disparity"]
    print(f"{method:8} {summary['trustworthiness']['mean']:16.3f} {summary['knn_preservation']['mean']:17.3f} "
          f"{disparity['mean'] if disparity else float('nan'):18.4f}")

figure, axes = plt.subplots(1, 2, figsize=(12, 4))
for method, result in metrics["methods"].items():
    rows = result["per_iteration"]
    axes[0].plot([r["iteration"] for r in rows], [r["trustworthiness"] for r in rows], "o-", label=method)
    axes[1].plot([r["iteration"] for r in rows], [r["knn_preservation"] for r in rows], "o-", label=method)
for axis, name in zip(axes, ("trustworthiness", "k-NN preservation")):
    axis.set_xlabel("iteration")
    axis.set_ylabel(name)
    axis.legend()
plt.show()'''


def build_notebook(run: dict, notebook_path: Path, workdir: Path) -> nbformat.NotebookNode:
    """`run`: paths relative to `workdir` (table, features, stability, plots, embeddings) and seeds."""
    run = {**run, "methods": list(run["embeddings"])}  # the order of the plots' columns, as configured
    parents = len(Path(os.path.relpath(Path(notebook_path).parent, workdir)).parts)
    cells = [
        new_markdown_cell(
            "# Explore this dimred-flow run\n\n"
            "The fetched table, every method's embeddings of every seed and the seed-stability "
            "metrics, loaded from the workflow's results. Written by the `write_notebook` rule; rerun the "
            "workflow to refresh it."
        ),
        new_code_cell(SETUP.format(run=json.dumps(run, sort_keys=True), parents=parents - 1, depth=parents)),
        new_markdown_cell("## The table"),
        new_code_cell(TABLE),
        new_markdown_cell("## The embeddings, one row per seed"),
        new_code_cell(EMBEDDINGS),
        new_markdown_cell("## Seed stability"),
        new_code_cell(METRICS),
    ]
    return new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def write_notebook(run: dict, notebook_path: Path, workdir: Path) -> None:
    notebook_path = Path(notebook_path)
    notebook = build_notebook(run, notebook_path, workdir)
    nbformat.validate(notebook)
    with replaced_atomically(notebook_path) as partial:
        nbformat.write(notebook, partial)

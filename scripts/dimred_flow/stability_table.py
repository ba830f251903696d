"""The seed-stability table: a PDF page for merged_plots.pdf and an HTML table for the Snakemake report."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from dimred_flow.atomic import replaced_atomically

COLUMNS = (
    "Method",
    "Seeds",
    "Trustworthiness\nmean (min–max)",
    "k-NN preservation\nmean (min–max)",
    "Procrustes disparity\nmean (max)",
)


def _spread(summary: dict | None) -> str:
    if summary is None:
        return "–"
    return f"{summary['mean']:.3f} ({summary['min']:.3f}–{summary['max']:.3f})"


def _disparity(summary: dict | None) -> str:
    return "– (one seed)" if summary is None else f"{summary['mean']:.4f} ({summary['max']:.4f})"


def table_rows(metrics: dict) -> list[list[str]]:
    """One row per method, in the order and with the names the run gave them."""
    rows = []
    for method, label in metrics["labels"]:
        result = metrics["methods"][method]
        summary = result["summary"]
        rows.append(
            [
                label,
                str(len(result["per_iteration"])),
                _spread(summary["trustworthiness"]),
                _spread(summary["knn_preservation"]),
                _disparity(summary["procrustes_disparity"]),
            ]
        )
    return rows


def _footnote(metrics: dict) -> str:
    any_method = next(iter(metrics["methods"].values()))
    return (
        f"Neighbour metrics: k = {any_method['n_neighbors']} on {any_method['rows_evaluated']:,} rows "
        f"(a fixed, seed-independent subsample) against the standardised features. "
        "Procrustes disparity between every pair of seeds: 0 means the same map up to rotation, "
        "reflection, translation and scale."
    )


def write_stability_page(metrics: dict, out_path: Path) -> None:
    rows = table_rows(metrics)
    # Three methods fit the seed's page; each further one adds its row's height.
    figure, axis = plt.subplots(figsize=(11.69, 4.5 + 0.5 * max(0, len(rows) - 3)))
    axis.axis("off")
    axis.set_title("Seed stability across iterations", fontsize=14, pad=12)
    table = axis.table(
        cellText=rows,
        colLabels=list(COLUMNS),
        # A wide first column: method names such as 't-SNE (openTSNE, random init)' must fit.
        colWidths=[0.3, 0.08, 0.2, 0.2, 0.2],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 2.4)
    figure.text(0.5, 0.04, _footnote(metrics), ha="center", fontsize=8, wrap=True)
    with replaced_atomically(out_path) as partial:
        # No creation date: the same metrics give a byte-identical page (and a reproducible merged PDF).
        figure.savefig(partial, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    plt.close(figure)


def write_stability_html(metrics: dict, out_path: Path) -> None:
    header = "".join(f"<th>{html.escape(c).replace(chr(10), '<br>')}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table_rows(metrics)
    )
    seeds = ", ".join(f"{i}: {seed}" for i, seed in metrics["seeds"].items())
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Seed stability</title>"
        "<style>table{border-collapse:collapse;font-family:sans-serif}td,th{border:1px solid #999;"
        "padding:4px 10px;text-align:center}</style></head><body>"
        f"<h2>Seed stability across iterations</h2><table><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table><p>{html.escape(_footnote(metrics))}</p>"
        f"<p>Seeds (iteration: seed): {html.escape(seeds)}</p></body></html>\n"
    )
    with replaced_atomically(out_path) as partial:
        partial.write_text(document)

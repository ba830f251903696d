"""One figure per iteration: UMAP, PCA and t-SNE side by side, sharing one colour scale."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dimred_flow.features import PreparedFeatures  # noqa: E402

TSNE_LABELS = {"opentsne": "t-SNE (openTSNE, random init)", "sklearn": "t-SNE (sklearn Barnes-Hut, random init)"}


def _colour_mapping(features: PreparedFeatures):
    if features.colour_is_label:
        categories = sorted(set(features.colour_values.tolist()))
        codes = np.searchsorted(categories, features.colour_values)
        cmap = plt.get_cmap("tab10" if len(categories) <= 10 else "tab20", len(categories))
        return codes, cmap, categories
    values = features.colour_values.astype(float)
    return values, plt.get_cmap("viridis"), None


def plot_projections(
    embeddings: dict[str, np.ndarray],
    features: PreparedFeatures,
    *,
    iteration: int,
    n_test: int,
    seed: int,
    tsne_implementation: str,
    out_path: Path,
    dpi: int,
    point_size: float,
) -> None:
    colours, cmap, categories = _colour_mapping(features)
    titles = {
        "umap": f"UMAP (seed {seed})",
        "pca": "PCA (seed-invariant)",
        "tsne": f"{TSNE_LABELS[tsne_implementation]} (seed {seed})",
    }
    figure, axes = plt.subplots(1, 3, figsize=(18, 6), layout="constrained")
    # Large tables: smaller, more transparent points keep the density readable.
    n_points = len(colours)
    size = point_size * min(1.0, 20000 / max(n_points, 1)) ** 0.5
    alpha = 0.8 if n_points < 20000 else 0.4
    limits = (0, len(categories) - 1) if categories else (np.nanmin(colours), np.nanmax(colours))
    for axis, method in zip(axes, ("umap", "pca", "tsne")):
        embedding = embeddings[method]
        scatter = axis.scatter(
            embedding[:, 0],
            embedding[:, 1],
            c=colours,
            cmap=cmap,
            vmin=limits[0],
            vmax=limits[1],
            s=size,
            alpha=alpha,
            linewidths=0,
            rasterized=True,
        )
        axis.set_title(titles[method])
        axis.set_xlabel("component 1")
        axis.set_ylabel("component 2")
        axis.set_xticks([])
        axis.set_yticks([])
    if categories:
        handles = [
            plt.Line2D([], [], marker="o", linestyle="", color=cmap(k), label=name)
            for k, name in enumerate(categories)
        ]
        figure.legend(handles=handles, title=features.colour_name, loc="outside right center")
    else:
        unit = f" [{features.colour_unit}]" if features.colour_unit else ""
        figure.colorbar(scatter, ax=axes, label=f"{features.colour_name}{unit}", shrink=0.9)
    figure.suptitle(
        f"Iteration {iteration} of {n_test}: {n_points:,} stars, features: {', '.join(features.feature_names)}"
    )
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.stem + ".partial.png")
    figure.savefig(partial, dpi=dpi)
    plt.close(figure)
    partial.replace(out_path)

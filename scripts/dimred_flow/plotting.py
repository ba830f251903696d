"""One figure per iteration: the chosen methods' embeddings side by side, sharing one colour scale."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dimred_flow.atomic import replaced_atomically
from dimred_flow.features import PreparedFeatures


def colour_mapping(values: np.ndarray, is_label: bool):
    """(colour values, colour map, categories): label codes into a qualitative map and the sorted
    labels, or the numbers into viridis and None. The explorer page colours with it too, to match the PDF."""
    if is_label:
        categories = sorted(set(values.tolist()))
        codes = np.searchsorted(categories, values)
        cmap = plt.get_cmap("tab10" if len(categories) <= 10 else "tab20", len(categories))
        return codes, cmap, categories
    return values.astype(float), plt.get_cmap("viridis"), None


def view_limits(values: np.ndarray, *, coverage: float = 0.998, spread: float = 3.0) -> tuple[float, float] | None:
    """Axis limits around the central `coverage` of the values, or None to show them all.

    A handful of extreme points (stars with a tiny parallax land kiloparsecs away) would otherwise
    squeeze every cluster into a corner; the view only zooms when the full range is more than
    `spread` times the central one.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1 - coverage) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    full = finite.max() - finite.min()
    if high <= low or full <= spread * (high - low):
        return None
    margin = 0.05 * (high - low)
    return float(low - margin), float(high + margin)


def _inside(values: np.ndarray, view: tuple[float, float] | None) -> np.ndarray:
    if view is None:
        return np.ones(values.shape, dtype=bool)
    return (values >= view[0]) & (values <= view[1])


def plot_projections(
    embeddings: dict[str, np.ndarray],
    features: PreparedFeatures,
    *,
    iteration: int,
    seed: int,
    panels: list[dict],
    out_path: Path,
    dpi: int,
    point_size: float,
    density_above_rows: int | None = None,
) -> None:
    """One panel per method, in the order of `panels` (each: method, label, stochastic)."""
    colours, cmap, categories = colour_mapping(features.colour_values, features.colour_is_label)
    titles = {
        panel["method"]: f"{panel['label']} ({f'seed {seed}' if panel['stochastic'] else 'seed-invariant'})"
        for panel in panels
    }
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 6), layout="constrained", squeeze=False)
    axes = axes[0]
    # Large tables: smaller, more transparent points keep the density readable.
    n_points = len(colours)
    size = point_size * min(1.0, 20000 / max(n_points, 1)) ** 0.5
    alpha = 0.8 if n_points < 20000 else 0.4
    limits = (0, len(categories) - 1) if categories else (np.nanmin(colours), np.nanmax(colours))
    density = density_above_rows is not None and n_points > density_above_rows
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(*limits), cmap=cmap)
    for axis, method in zip(axes, titles):
        embedding = embeddings[method]
        x_view, y_view = view_limits(embedding[:, 0]), view_limits(embedding[:, 1])
        x_inside = _inside(embedding[:, 0], x_view)
        y_inside = _inside(embedding[:, 1], y_view)
        if density:
            extent = (*(x_view or finite_span(embedding[:, 0])), *(y_view or finite_span(embedding[:, 1])))
            image = density_image(embedding, colours, extent=extent, mappable=mappable, categorical=bool(categories))
            axis.imshow(image, extent=extent, origin="lower", aspect="auto", interpolation="nearest")
        else:
            axis.scatter(
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
        if x_view:
            axis.set_xlim(x_view)
        if y_view:
            axis.set_ylim(y_view)
        outside = int((~(x_inside & y_inside)).sum())
        axis.set_title(titles[method] + (f"\n{outside:,} outlying points outside the view" if outside else ""))
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
        figure.colorbar(mappable, ax=axes, label=f"{features.colour_name}{unit}", shrink=0.9)
    shading = "; density: opacity grows with log(count)" if density else ""
    figure.suptitle(
        # No "of n_test": a stored plot is reused by runs with more iterations, and one PDF
        # must not mix totals.
        f"Iteration {iteration}: {n_points:,} stars{shading}, "
        f"features: {', '.join(features.feature_names)}"
    )
    with replaced_atomically(out_path) as partial:
        figure.savefig(partial, dpi=dpi)
    plt.close(figure)


def finite_span(values: np.ndarray) -> tuple[float, float]:
    """The range of the finite values, widened to one unit where they are all equal."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def density_image(
    embedding: np.ndarray,
    colours: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    mappable,
    categorical: bool,
    bins: int = 300,
) -> np.ndarray:
    """An RGBA image (bins x bins, lowest y first) of the points inside `extent` (x0, x1, y0, y1).

    A pixel's colour is the mean colour value of its points, or their most frequent label code when
    `categorical`, through `mappable`; its opacity grows with the logarithm of its count, from 0.15
    for one point to 1 for the densest pixel, and empty pixels stay transparent.
    """
    x0, x1, y0, y1 = extent
    x, y = embedding[:, 0], embedding[:, 1]
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1) & np.isfinite(colours)
    column = np.minimum(((x[inside] - x0) / (x1 - x0) * bins).astype(np.int64), bins - 1)
    row = np.minimum(((y[inside] - y0) / (y1 - y0) * bins).astype(np.int64), bins - 1)
    pixel = row * bins + column
    counts = np.bincount(pixel, minlength=bins * bins)
    if categorical:
        codes = colours[inside].astype(np.int64)
        per_code = np.bincount(codes * bins * bins + pixel, minlength=(codes.max(initial=0) + 1) * bins * bins)
        values = per_code.reshape(-1, bins * bins).argmax(axis=0).astype(float)
    else:
        sums = np.bincount(pixel, weights=colours[inside], minlength=bins * bins)
        values = np.divide(sums, counts, out=np.zeros(bins * bins), where=counts > 0)
    image = mappable.to_rgba(values)
    filled = counts > 0
    image[:, 3] = np.where(filled, 0.15 + 0.85 * np.log1p(counts) / np.log1p(max(counts.max(), 1)), 0.0)
    return image.reshape(bins, bins, 4)

"""The explorer page: the embedding catalogue's maps side by side in one self-contained HTML file
(Bokeh, every script inlined: it opens from disk with no server and no network).

All panels draw from one ColumnDataSource holding every iteration's coordinates, so a box or lasso
selection in any panel highlights the same stars in every other panel, and stays selected when the
iteration selector switches the columns the glyphs read: a group picked under one seed is seen where
every other seed put it. Colours and legend are those of the PDF (plotting.colour_mapping).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from dimred_flow.atomic import replaced_atomically
from dimred_flow.catalogue import ROW_NUMBER_COLUMN, CatalogueError, embedding_column
from dimred_flow.features import IDENTIFIER_COLUMN
from dimred_flow.plotting import colour_mapping, finite_span, view_limits

# Above this many rows the page shows a fixed subsample. Measured in headless Chromium on 2 shared
# cores (benchmarks/results_explorer.json: 3 methods, 3 iterations, 8 features): every 1,000 rows add
# about 0.16 MB to the page and 10 ms to each repaint after a selection; at 20,000 rows the page is
# 4.8 MB, loads in 0.7 s and repaints in 0.26 s, at 100,000 17 MB, 2.1 s and 1.1 s (a lasso lags).
ROW_LIMIT = 20_000
# Names in the page's Bokeh document that tests and scripts look the models up by.
SOURCE_NAME = "stars"
COUNT_NAME = "selection_count"
ITERATION_NAME = "iteration"
PANEL_SIZE = 420
# Bokeh names the document and its root elements with random UUIDs (version 4).
RANDOM_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@dataclass(frozen=True)
class CatalogueRun:
    """What the catalogue's header says about the run: its methods in panel order and its seeds."""

    fingerprint: str
    seeds: dict[int, int]
    methods: list[tuple[str, str]]
    colour: str
    colour_is_label: bool


def catalogue_run(meta: dict) -> CatalogueRun:
    """The run described by the FITS header keywords catalogue.run_parameters and colour_parameters wrote."""
    try:
        seeds = {i: int(meta[f"SEED{i}"]) for i in range(1, int(meta["NITER"]) + 1)}
        methods = []
        while f"METHOD{len(methods) + 1}" in meta:
            number = len(methods) + 1
            methods.append((str(meta[f"METHOD{number}"]), str(meta[f"MLABEL{number}"])))
        colour, colour_by = str(meta["COLOUR"]), str(meta["COLOURBY"])
        fingerprint = str(meta["FPRINT"])
    except KeyError as missing:
        raise CatalogueError(
            f"The catalogue lacks the header keyword {missing}: rewrite it with this version's write_embedding_catalogue."
        ) from None
    if not methods:
        raise CatalogueError("The catalogue names no method (METHOD1, ...): it holds no embedding to show.")
    return CatalogueRun(fingerprint, seeds, methods, colour, colour_by == "label")


def coordinates(catalogue: Table, method: str, iteration: int, axis: str) -> np.ndarray:
    """One axis of one embedding, from its own column or, in a catalogue folded above FITS's column
    limit (catalogue.folded), from element iteration - 1 of the method's vector column."""
    name = embedding_column(method, iteration, axis)
    if name in catalogue.colnames:
        return np.asarray(catalogue[name])
    return np.asarray(catalogue[f"{method}_{axis}"][:, iteration - 1])


def identifier_column(catalogue: Table) -> str:
    return IDENTIFIER_COLUMN if IDENTIFIER_COLUMN in catalogue.colnames else ROW_NUMBER_COLUMN


def identifier_hash(identifiers: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser of each integer identifier: a well-mixed number that depends on the
    star alone, not on the seed, the row order or the other rows."""
    with np.errstate(over="ignore"):
        z = identifiers.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def shown_rows(identifiers: np.ndarray, limit: int) -> np.ndarray:
    """Every row index, or above `limit` the `limit` rows of smallest identifier hash in table order:
    the same stars whatever the seeds, and mostly the same stars in a larger table of the same sky."""
    if len(identifiers) <= limit:
        return np.arange(len(identifiers))
    return np.sort(np.argsort(identifier_hash(identifiers), kind="stable")[:limit])


def hidden_columns(run: CatalogueRun) -> set[str]:
    """The embedding columns, which the panels show: hover lists every other column."""
    names = {embedding_column(m, i, axis) for m, _ in run.methods for i in run.seeds for axis in "xy"}
    return names | {f"{m}_{axis}" for m, _ in run.methods for axis in "xy"}


def page_data(catalogue: Table, run: CatalogueRun, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The page's columns for `rows`: identifier and label as text (a Gaia source_id exceeds the 2**53
    a browser's number holds exactly), numbers as float32 (seven digits are more than hover shows, at
    half the bytes), every embedding as `<method>_<iteration>_x`, `_y` whether the FITS is folded or not."""
    identifier = identifier_column(catalogue)
    hidden = hidden_columns(run)
    data = {}
    for name in catalogue.colnames:
        if name in hidden:
            continue
        values = np.asarray(catalogue[name])[rows]
        if name == identifier or (name == run.colour and run.colour_is_label) or values.dtype.kind not in "iuf":
            data[name] = values.astype(str)
        else:
            data[name] = values.astype(np.float32)
    for method, _ in run.methods:
        for iteration in run.seeds:
            for axis in "xy":
                data[embedding_column(method, iteration, axis)] = coordinates(catalogue, method, iteration, axis)[
                    rows
                ].astype(np.float32)
    return data


def panel_range(values: np.ndarray) -> list[float]:
    """The PDF's view (plotting.view_limits: a few far outliers do not squeeze the clusters), or every point."""
    low, high = view_limits(values) or finite_span(values)
    return [low, high]


def colour_spec(catalogue: Table, run: CatalogueRun, shown: np.ndarray):
    """(Bokeh colour mapper, its legend or colour bar) with the PDF's colours for the shown values."""
    from bokeh.models import CategoricalColorMapper, ColorBar, LinearColorMapper
    from matplotlib.colors import to_hex

    values, cmap, categories = colour_mapping(shown, run.colour_is_label)
    if categories is not None:
        palette = [to_hex(cmap(k)) for k in range(len(categories))]
        return CategoricalColorMapper(factors=[str(c) for c in categories], palette=palette), None
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    mapper = LinearColorMapper(
        palette=[to_hex(cmap(k / 255)) for k in range(256)], low=low, high=high, nan_color="#bbbbbb"
    )
    unit = catalogue[run.colour].unit
    title = f"{run.colour} [{unit}]" if unit else run.colour
    return mapper, ColorBar(color_mapper=mapper, title=title, width=12)


# Each panel reads the chosen iteration's columns, and its ranges follow (reset too).
SWITCH_ITERATION = """
const i = this.value;
for (let k = 0; k < renderers.length; k++) {
    renderers[k].glyph.x = {field: `${methods[k]}_${i}_x`};
    renderers[k].glyph.y = {field: `${methods[k]}_${i}_y`};
    const [x0, x1, y0, y1] = ranges[k][i];
    Object.assign(figures[k].x_range, {start: x0, end: x1, reset_start: x0, reset_end: x1});
    Object.assign(figures[k].y_range, {start: y0, end: y1, reset_start: y0, reset_end: y1});
}
"""
SHOW_COUNT = "div.text = `${this.indices.length.toLocaleString('en')} of ${shown} stars selected`;"


def explorer_layout(catalogue: Table, row_limit: int = ROW_LIMIT):
    """The page's Bokeh layout: header, iteration selector, selection count and one panel per method."""
    from bokeh.layouts import column, row
    from bokeh.models import (
        BoxSelectTool,
        ColumnDataSource,
        CustomJS,
        Div,
        HoverTool,
        LassoSelectTool,
        Legend,
        LegendItem,
        Range1d,
        Select,
    )
    from bokeh.plotting import figure

    run = catalogue_run(catalogue.meta)
    identifier = identifier_column(catalogue)
    rows = shown_rows(np.asarray(catalogue[identifier]), row_limit)
    data = page_data(catalogue, run, rows)
    source = ColumnDataSource(data, name=SOURCE_NAME)
    mapper, guide = colour_spec(catalogue, run, np.asarray(catalogue[run.colour])[rows].astype(
        str if run.colour_is_label else float))
    first = min(run.seeds)
    ranges = [
        {
            str(i): panel_range(data[embedding_column(m, i, "x")]) + panel_range(data[embedding_column(m, i, "y")])
            for i in run.seeds
        }
        for m, _ in run.methods
    ]
    hidden = hidden_columns(run)
    tooltips = [(name, f"@{{{name}}}") for name in data if name not in hidden]
    figures, renderers = [], []
    for (method, label), method_ranges in zip(run.methods, ranges):
        x0, x1, y0, y1 = method_ranges[str(first)]
        panel = figure(
            title=label, width=PANEL_SIZE, height=PANEL_SIZE, x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
            tools="pan,wheel_zoom,reset,save", toolbar_location="above",
        )
        box, lasso = BoxSelectTool(), LassoSelectTool()
        panel.add_tools(box, lasso, HoverTool(tooltips=tooltips))
        panel.toolbar.active_drag = box
        panel.axis.visible = False
        renderer = panel.scatter(
            embedding_column(method, first, "x"), embedding_column(method, first, "y"), source=source,
            size=4, line_color=None, fill_alpha=0.7, nonselection_fill_alpha=0.08,
            fill_color={"field": run.colour, "transform": mapper},
        )
        figures.append(panel)
        renderers.append(renderer)
    if guide is None:
        # One item per label in the PDF's (sorted) order, each drawn like one of its stars.
        labels = data[run.colour]
        items = [
            LegendItem(label=label, renderers=[renderers[-1]], index=int(np.flatnonzero(labels == label)[0]))
            for label in mapper.factors
        ]
        guide = Legend(items=items, title=run.colour)
    figures[-1].add_layout(guide, "right")
    figures[-1].width += 120
    shown, total = f"{len(rows):,}", f"{len(catalogue):,}"
    subsample = (
        f" The page shows {shown} of the {total} stars: a fixed subsample chosen by a hash of {identifier}, the same"
        " for every seed; the catalogue holds them all."
        if len(rows) < len(catalogue)
        else ""
    )
    header = Div(
        text=f"<b>dimred-flow explorer</b>, catalogue {run.fingerprint[:12]}: {total} stars coloured by {run.colour}."
        f"{subsample} Select with the box or lasso in any panel: the same stars light up in every panel.",
        width=PANEL_SIZE * len(figures),
    )
    count = Div(text=f"0 of {shown} stars selected", name=COUNT_NAME)
    source.selected.js_on_change("indices", CustomJS(args={"div": count, "shown": shown}, code=SHOW_COUNT))
    selector = Select(
        title="Iteration", value=str(first), name=ITERATION_NAME,
        options=[(str(i), f"iteration {i} (seed {seed})") for i, seed in sorted(run.seeds.items())],
    )
    selector.js_on_change(
        "value",
        CustomJS(
            args={"renderers": renderers, "figures": figures, "methods": [m for m, _ in run.methods], "ranges": ranges},
            code=SWITCH_ITERATION,
        ),
    )
    return column(header, row(selector, count), row(*figures))


def with_stable_ids(html: str) -> str:
    """The page with Bokeh's random ids replaced by ids derived from its content, so the same
    catalogue gives the same bytes (the crate's checksums and the reproducibility checks compare them).
    The replacements are version-5 UUIDs behind a letter, as Bokeh's element ids must be CSS-safe.
    """
    random_ids = list(dict.fromkeys(RANDOM_ID.findall(html)))
    content = hashlib.sha256(RANDOM_ID.sub("", html).encode()).hexdigest()
    for index, random_id in enumerate(random_ids):
        html = html.replace(random_id, f"bk-{uuid.uuid5(uuid.NAMESPACE_URL, f'{content}/{index}')}")
    return html


def write_explorer_page(catalogue_path: str | Path, out_path: str | Path, row_limit: int = ROW_LIMIT) -> tuple[int, int]:
    """Write the page of a catalogue's FITS file; (stars shown, stars in the catalogue)."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    catalogue = Table.read(catalogue_path, hdu="EMBEDDINGS")
    layout = explorer_layout(catalogue, row_limit)
    html = with_stable_ids(file_html(layout, INLINE, title="dimred-flow explorer"))
    with replaced_atomically(out_path) as partial:
        partial.write_text(html, encoding="utf-8")
    shown = len(layout.select_one({"name": SOURCE_NAME}).data[identifier_column(catalogue)])
    return shown, len(catalogue)

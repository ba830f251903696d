"""The explorer page (issue 25) as Bokeh models: its panels, shared source, tools, colours, hover and
subsample, drawn from the catalogue's FITS file alone. tests/test_explorer_browser.py opens it in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from bokeh.models import (
    BoxSelectTool,
    CategoricalColorMapper,
    ColorBar,
    ColumnDataSource,
    GlyphRenderer,
    HoverTool,
    LassoSelectTool,
    Legend,
    LinearColorMapper,
    Select,
)
from matplotlib.colors import to_hex

from dimred_flow.catalogue import CatalogueError, RunDescription, Selection, catalogue_table, write_fits
from dimred_flow.estimate import EXPLORER_ROW_LIMIT
from dimred_flow.explorer import (
    COUNT_NAME,
    ITERATION_NAME,
    RANDOM_ID,
    ROW_LIMIT,
    SOURCE_NAME,
    catalogue_run,
    coordinates,
    explorer_layout,
    shown_rows,
    write_explorer_page,
)
from dimred_flow.plotting import colour_mapping
from test_catalogue import DERIVE, RUN, prepared_features, source_table

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def written(tmp_path, run: RunDescription = RUN, table: Table | None = None) -> Table:
    """The catalogue as write_embedding_catalogue leaves it on disk, read back as the page reads it."""
    table = source_table() if table is None else table
    features = prepared_features(table, tmp_path)
    rows = len(features.row_ids)
    embeddings = {
        m.name: {i: np.random.default_rng(i).normal(size=(rows, 2)).astype(np.float32) for i in run.seeds}
        for m in run.methods
    }
    write_fits(catalogue_table(table, features, Selection(DERIVE, None), embeddings, run), tmp_path / "c.fits")
    return Table.read(tmp_path / "c.fits", hdu="EMBEDDINGS")


def test_the_run_comes_from_the_header_with_methods_in_panel_order(tmp_path):
    run = catalogue_run(written(tmp_path).meta)
    assert run.methods == [(m.name, m.label) for m in RUN.methods]
    assert run.seeds == RUN.seeds and run.fingerprint == RUN.fingerprint
    assert (run.colour, run.colour_is_label) == ("Cluster", True)


def test_a_catalogue_without_the_colour_keywords_is_refused_with_what_to_do(tmp_path):
    meta = dict(written(tmp_path).meta)
    del meta["COLOUR"]
    with pytest.raises(CatalogueError, match=r"COLOUR.*rewrite it"):
        catalogue_run(meta)


def test_folded_and_unfolded_catalogues_give_the_same_coordinates(tmp_path):
    many = RunDescription(RUN.fingerprint, {i: i for i in range(1, 251)}, RUN.methods, RUN.version)
    folded = written(tmp_path, many)
    assert "alpha_x" in folded.colnames
    np.testing.assert_array_equal(coordinates(folded, "alpha", 250, "y"), folded["alpha_y"][:, 249])
    layout = explorer_layout(folded)
    assert "alpha_250_y" in layout.select_one({"name": SOURCE_NAME}).data


def test_the_plan_sizes_the_page_with_its_row_limit():
    assert EXPLORER_ROW_LIMIT == ROW_LIMIT


def test_below_the_limit_every_row_is_shown():
    np.testing.assert_array_equal(shown_rows(np.arange(10, 20), 10), np.arange(10))


def test_above_the_limit_the_same_stars_are_shown_whatever_the_row_order():
    identifiers = np.random.default_rng(0).integers(0, 2**62, 5000, dtype=np.int64)
    rows = shown_rows(identifiers, 1000)
    assert len(rows) == 1000 and np.all(np.diff(rows) > 0)
    order = np.random.default_rng(1).permutation(len(identifiers))
    assert set(identifiers[order][shown_rows(identifiers[order], 1000)]) == set(identifiers[rows])
    # Spread over the table, not its first rows.
    assert rows.max() > 4000 and rows.min() < 1000


def test_one_source_shared_by_every_panel_with_box_and_lasso_selection(tmp_path):
    layout = explorer_layout(written(tmp_path))
    sources = {id(r.data_source) for r in layout.select({"type": GlyphRenderer})}
    assert len(sources) == 1 and len(list(layout.select({"type": ColumnDataSource}))) == 1
    panels = list(layout.select({"type": BoxSelectTool}))
    assert len(panels) == len(RUN.methods) == len(list(layout.select({"type": LassoSelectTool})))
    selector = layout.select_one({"name": ITERATION_NAME})
    assert isinstance(selector, Select)
    assert [value for value, _ in selector.options] == ["1", "2"] and "seed 222" in selector.options[1][1]
    assert layout.select_one({"name": COUNT_NAME}).text.startswith("0 of 58 stars selected")


def test_hover_shows_identifier_label_and_features_but_no_coordinates(tmp_path):
    layout = explorer_layout(written(tmp_path))
    fields = [name for name, _ in next(iter(layout.select({"type": HoverTool}))).tooltips]
    assert fields == ["source_id", "ra", "dec", "Cluster", "parallax", "pmra", "abs_g"]
    data = layout.select_one({"name": SOURCE_NAME}).data
    # Exact as text: a Gaia source_id has more digits than a browser's number keeps.
    assert data["source_id"][0] == "7" and data["alpha_2_x"].dtype == np.float32


def test_a_large_source_id_stays_exact(tmp_path):
    table = source_table()
    table["source_id"] += 6_917_528_997_577_384_320
    data = explorer_layout(written(tmp_path, table=table)).select_one({"name": SOURCE_NAME}).data
    assert data["source_id"][0] == "6917528997577384327"


def test_label_colours_are_the_pdf_colours(tmp_path):
    catalogue = written(tmp_path)
    mapper = explorer_layout(catalogue).select_one({"type": CategoricalColorMapper})
    _, cmap, categories = colour_mapping(np.asarray(catalogue["Cluster"]).astype(str), True)
    assert list(mapper.factors) == categories == ["Hyades", "Pleiades", "Praesepe"]
    assert list(mapper.palette) == [to_hex(cmap(k)) for k in range(3)]
    legend = explorer_layout(catalogue).select_one({"type": Legend})
    assert [item.label.value for item in legend.items] == categories


def test_a_numeric_colour_column_gets_viridis_and_a_colour_bar(tmp_path):
    catalogue = written(tmp_path)
    catalogue.meta["COLOURBY"] = "value"
    catalogue.meta["COLOUR"] = "parallax"
    layout = explorer_layout(catalogue)
    mapper = layout.select_one({"type": LinearColorMapper})
    assert mapper.palette[0] == "#440154" and mapper.high == pytest.approx(np.nanmax(catalogue["parallax"]))
    assert layout.select_one({"type": ColorBar}).title == "parallax [mas]"


def test_the_page_says_when_it_shows_a_subsample(tmp_path):
    catalogue = written(tmp_path)
    header = explorer_layout(catalogue, row_limit=20).children[0].text
    assert "shows 20 of the 58 stars" in header and "hash of source_id" in header
    assert "shows" not in explorer_layout(catalogue).children[0].text


def test_the_page_is_one_file_with_every_script_inlined(tmp_path):
    written(tmp_path)
    shown, total = write_explorer_page(tmp_path / "c.fits", tmp_path / "explorer.html")
    html = (tmp_path / "explorer.html").read_text()
    assert (shown, total) == (58, 58)
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=", html)
    assert "Bokeh" in html and "selection_count" in html


def test_the_same_catalogue_gives_the_same_page_bytes(tmp_path):
    """Bokeh's random ids are replaced by ids derived from the page: each write is a fresh process, as in the rule."""
    written(tmp_path)
    pages = []
    for name in ("a.html", "b.html"):
        subprocess.run(
            [sys.executable, str(SCRIPTS / "write_explorer_page.py"), "--catalogue", str(tmp_path / "c.fits"),
             "--out", str(tmp_path / name)],
            check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(SCRIPTS)},
        )
        pages.append((tmp_path / name).read_bytes())
    assert pages[0] == pages[1]
    assert not RANDOM_ID.search(pages[0].decode())

"""The reference run's explorer page in a real browser: headless Chromium opens results/explorer.html
from disk, a box drag in the first panel selects stars, and every panel shows the same selection, the
count says how many, and switching the iteration keeps it. The screenshot is the test's evidence.

Chromium comes from Debian (tests/servers/chromium/provision.sh, run by `make servers`) and is driven
through its own DevTools protocol (tests/headless_chromium.py). Without it the test is skipped, except
under CI=true, where it fails: CI must never skip it silently.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from astropy.table import Table

from dimred_flow.explorer import COUNT_NAME, ITERATION_NAME, SOURCE_NAME, catalogue_run, coordinates
from headless_chromium import HeadlessChromium, chromium_or_skip

pytestmark = pytest.mark.workflow

# Each panel's plotting area in page pixels, its data ranges and the method its glyph shows.
PANELS = """
[...Bokeh.index.all_views()].filter(v => v.model.type == "Figure").map(v => {
    const page = v.el.getBoundingClientRect(), frame = v.frame.bbox;
    return {left: page.left + frame.left, top: page.top + frame.top, width: frame.width, height: frame.height,
            x: [v.model.x_range.start, v.model.x_range.end], y: [v.model.y_range.start, v.model.y_range.end]};
})
"""
# What every panel's renderer selects and reads, and what the page says.
STATE = f"""
(() => {{
    const doc = Bokeh.documents[0];
    const renderers = [...doc.all_models].filter(m => m.type == "GlyphRenderer");
    return {{
        count: doc.get_model_by_name("{COUNT_NAME}").text,
        selected: renderers.map(r => [...r.data_source.selected.indices].sort((a, b) => a - b)),
        shared: renderers.every(r => r.data_source === doc.get_model_by_name("{SOURCE_NAME}")),
        fields: renderers.map(r => [r.glyph.x.field, r.glyph.y.field]),
    }};
}})()
"""


def data_box(panel: dict, corners: tuple[tuple[float, float], tuple[float, float]], pixels: float) -> tuple:
    """The data rectangle under two page points, grown by `pixels` on every side (negative: shrunk)."""
    (x0, y0), (x1, y1) = corners
    x_scale = (panel["x"][1] - panel["x"][0]) / panel["width"]
    y_scale = (panel["y"][1] - panel["y"][0]) / panel["height"]
    # Page y grows downwards, data y upwards.
    xs = sorted(panel["x"][0] + (x - panel["left"]) * x_scale for x in (x0, x1))
    ys = sorted(panel["y"][1] - (y - panel["top"]) * y_scale for y in (y0, y1))
    return (xs[0] - pixels * x_scale, xs[1] + pixels * x_scale, ys[0] - pixels * y_scale, ys[1] + pixels * y_scale)


def inside(x: np.ndarray, y: np.ndarray, box: tuple) -> set[int]:
    return set(np.flatnonzero((x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])).tolist())


def test_a_box_selection_in_one_panel_selects_the_same_stars_in_every_panel(reference_run, tmp_path):
    chromium = chromium_or_skip()
    page = reference_run.workdir / "results" / "explorer.html"
    catalogue = Table.read(reference_run.workdir / "results" / "embedding_catalogue.fits", hdu="EMBEDDINGS")
    run = catalogue_run(catalogue.meta)
    first_method, first_iteration = run.methods[0][0], min(run.seeds)
    with HeadlessChromium(chromium, width=1400, height=700) as browser:
        browser.open(page)
        panels = browser.evaluate(PANELS)
        assert len(panels) == len(run.methods)
        before = browser.evaluate(STATE)
        assert before["shared"] and before["count"] == f"0 of {len(catalogue)} stars selected"
        # The middle of the first panel, where the stars are.
        panel = panels[0]
        corners = (
            (panel["left"] + 0.25 * panel["width"], panel["top"] + 0.25 * panel["height"]),
            (panel["left"] + 0.75 * panel["width"], panel["top"] + 0.75 * panel["height"]),
        )
        browser.drag(*corners)
        after = browser.evaluate(STATE)
        browser.screenshot(tmp_path / "explorer.png")
        print(f"screenshot: {tmp_path / 'explorer.png'}")

        selected = after["selected"][0]
        assert 0 < len(selected) < len(catalogue)
        assert all(indices == selected for indices in after["selected"]), "the panels select different stars"
        assert after["count"] == f"{len(selected)} of {len(catalogue)} stars selected"
        # The stars under the box in the first panel's coordinates, a pixel either way for rounding.
        x = coordinates(catalogue, first_method, first_iteration, "x")
        y = coordinates(catalogue, first_method, first_iteration, "y")
        assert inside(x, y, data_box(panel, corners, -1)) <= set(selected) <= inside(x, y, data_box(panel, corners, 1))

        browser.evaluate(f'Bokeh.documents[0].get_model_by_name("{ITERATION_NAME}").value = "{max(run.seeds)}"')
        switched = browser.evaluate(STATE)
        last = max(run.seeds)
        assert sorted(switched["fields"]) == sorted([f"{m}_{last}_x", f"{m}_{last}_y"] for m, _ in run.methods)
        assert switched["selected"] == after["selected"] and switched["count"] == after["count"]
    assert re.match(rb"\x89PNG", (tmp_path / "explorer.png").read_bytes())

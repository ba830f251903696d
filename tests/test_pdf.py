import numpy as np
from PIL import Image
from pypdf import PdfReader

from dimred_flow.pdf import merge_plots


def test_pages_and_outline(tmp_path):
    pngs = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(np.full((40, 120, 3), 60 * i, dtype=np.uint8)).save(path)
        pngs.append(path)
    out = tmp_path / "merged.pdf"
    merge_plots([(p, f"Iteration {i + 1} (seed {i})") for i, p in enumerate(pngs)], out, dpi=60)
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    # 120 x 40 pixels at 60 dpi: 2 x 2/3 inches, in points.
    assert [float(x) for x in reader.pages[0].mediabox[2:]] == [144.0, 48.0]
    assert [item.title for item in reader.outline] == ["Iteration 1 (seed 0)", "Iteration 2 (seed 1)", "Iteration 3 (seed 2)"]
    assert [reader.get_destination_page_number(item) for item in reader.outline] == [0, 1, 2]
    assert not list(tmp_path.glob("*.partial*"))

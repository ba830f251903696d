"""Merge the iteration plots into one PDF: a page and an outline entry per iteration."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter

from dimred_flow.atomic import replaced_atomically


def _png_page(path: Path, dpi: int) -> PdfReader:
    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="PDF", resolution=float(dpi))
    buffer.seek(0)
    return PdfReader(buffer)


def merge_plots(
    pages: list[tuple[Path, str]], out_path: Path, *, dpi: int, extra_pdfs: list[tuple[Path, str]] = ()
) -> None:
    """`pages`: (png, outline title) in order, drawn at `dpi` (the plots' own, so that a page has the
    figure's size); `extra_pdfs`: (pdf, outline title) appended after them."""
    writer = PdfWriter()
    sources = [(_png_page(png, dpi), title) for png, title in pages]
    sources += [(PdfReader(pdf), title) for pdf, title in extra_pdfs]
    for source, title in sources:
        first_page = len(writer.pages)
        writer.append(source)
        writer.add_outline_item(title=title, page_number=first_page)
    writer.add_metadata({"/Title": "dimred-flow: dimensionality-reduction projections per seed", "/Creator": "dimred-flow"})
    with replaced_atomically(out_path) as partial, open(partial, "wb") as handle:
        writer.write(handle)

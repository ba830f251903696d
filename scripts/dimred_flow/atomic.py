"""Outputs written under a temporary name and renamed into place, so a killed job never leaves a
truncated file under its final name (Snakemake would take it for a finished output)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; it replaces `path` only if the block succeeds.

    The suffix stays last (`x.partial.npz`): numpy and matplotlib pick or append formats by it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)

"""Arrays written as one .npz file, atomically, and refused at once where the disk cannot hold them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from dimred_flow.atomic import disk_full, replaced_atomically


def save_arrays(path: str | Path, **arrays) -> None:
    """Arrays as one .npz, in place only once complete; refused at once when the disk cannot hold them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    needs_bytes = sum(np.asarray(array).nbytes for array in arrays.values())
    if shutil.disk_usage(path.parent).free < needs_bytes:
        raise disk_full(path, needs_bytes)
    with replaced_atomically(path, needs_bytes) as partial:
        np.savez(partial, **arrays)

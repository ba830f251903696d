"""Outputs written under a temporary name and renamed into place, so a killed job never leaves a
truncated file under its final name (Snakemake would take it for a finished output).

A full disk ends the job with one line naming the folder, its free space and what the output needs;
the partial file is removed first, so the line can still be written to the job's log."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dimred_flow.errors import UserError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(UserError):
    """No room left for an output, phrased as where, how much is needed and what to do."""


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def disk_full(path: Path, needs_bytes: int | None) -> DiskFullError:
    folder = path.parent.absolute()
    free = shutil.disk_usage(folder).free
    needs = f", which needs about {megabytes(needs_bytes)}" if needs_bytes else ""
    return DiskFullError(
        f"No space left in {folder} ({megabytes(free)} free) for {path.name}{needs}: free space there (or run "
        "in a working directory on a larger disk) and rerun; finished steps are kept."
    )


def _is_no_space(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised while handling (numpy's zip writer chains them), is a full disk."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in NO_SPACE:
            return True
        error = error.__cause__ or error.__context__
    return False


@contextmanager
def replaced_atomically(path: str | Path, needs_bytes: int | None = None) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; it replaces `path` only if the block succeeds.

    The suffix stays last (`x.partial.npz`): numpy and matplotlib pick or append formats by it.
    `needs_bytes`, where the caller knows it, is what the output takes, for the message of a full disk.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield partial
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if _is_no_space(error):
            raise disk_full(path, needs_bytes) from None
        raise
    os.replace(partial, path)

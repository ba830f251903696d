"""A full disk, for real: a tmpfs mounted for the test (root, as in CI). Issue 31, fault 2: one line naming
the folder, its free space and what the output needs; nothing partial kept; a rerun after freeing space
resumes without redoing finished jobs."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from dimred_flow.atomic import DiskFullError, replaced_atomically
from machine_needs import skip_or_fail
from workflow_runner import run_snakemake


@contextlib.contextmanager
def small_disk(folder: Path, size: str):
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_write_that_fills_the_disk_is_one_error_and_leaves_no_partial_file(tmp_path):
    with small_disk(tmp_path / "disk", "64k") as disk:
        with pytest.raises(DiskFullError) as error, replaced_atomically(disk / "table.bin", 200_000) as partial:
            partial.write_bytes(os.urandom(200_000))
        assert list(disk.iterdir()) == []
    message = str(error.value)
    assert message.startswith(f"No space left in {disk} (") and "needs about 0.2 MB" in message, message
    assert "rerun" in message and "\n" not in message


def test_a_full_disk_mid_run_ends_in_one_line_and_the_rerun_resumes(tmp_path):
    workdir, config = tmp_path / "run", {"projections": ["umap"], "n_test": 1}
    graphs = workdir / "results" / "data" / "neighbour_graph"
    # Only the neighbour graph's folder is on the small disk, filled by someone else's file.
    with small_disk(graphs, "64k") as disk:
        filler = disk / "someone_elses_data.bin"
        with contextlib.suppress(OSError):
            filler.write_bytes(os.urandom(60_000))
        full = run_snakemake(workdir, config=config)
        assert full.returncode != 0
        errors = {line for line in full.output.splitlines() if line.startswith("ERROR:")}
        assert len(errors) == 1, full.output[-3000:]
        [error] = errors
        assert f"No space left in {graphs} (" in error and "needs about" in error, error
        assert "Traceback" not in full.output
        assert list(disk.iterdir()) == [filler]
        [features] = (workdir / "results" / "data" / "features").glob("*.npz")
        made = features.stat().st_mtime_ns

        filler.unlink()
        resumed = run_snakemake(workdir, config=config).assert_ok()
    assert "rule compute_neighbour_graph:" in resumed.output
    assert "rule prepare_features:" not in resumed.output and features.stat().st_mtime_ns == made

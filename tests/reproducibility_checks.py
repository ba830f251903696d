"""The same bytes everywhere (issue 30): one reference run of the test config on the host venv, with
--cores 1, and every other way CI already runs that config compared with it file by file."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.numeric_environment import cpu
from dimred_flow.reproducibility import embedding_distance
from workflow_runner import run_snakemake

# What decides a run's science: every embedding, every plot, the merged PDF, and what astronomers open in
# their own tools: the embedding catalogue and the explorer page.
COMPARED = (
    "results/embeddings/*/*/iteration_*.npy",
    "results/plots/*.png",
    "results/merged_plots.pdf",
    "results/embedding_catalogue.*",
    "results/explorer.html",
)
COMMITTED_REFERENCE = Path(__file__).parent / "data" / "reference_outputs.json"


def output_digests(workdir: Path) -> dict[str, str]:
    return {
        path.relative_to(workdir).as_posix(): file_sha256(path)
        for pattern in COMPARED
        for path in sorted(workdir.glob(pattern))
    }


def first_difference(workdir: Path, reference_dir: Path, reference: dict[str, str]) -> str | None:
    """None when `workdir` holds exactly the reference's files with its bytes; else what differs first."""
    digests = output_digests(workdir)
    if set(digests) != set(reference):
        missing, extra = sorted(set(reference) - set(digests)), sorted(set(digests) - set(reference))
        return f"other files: missing {missing[:3]}, not in the reference {extra[:3]}"
    for name in sorted(reference):
        if digests[name] != reference[name]:
            if name.endswith(".npy"):
                import numpy as np

                distance = embedding_distance(np.load(reference_dir / name), np.load(workdir / name))
                return (
                    f"{name} differs: max |difference| {distance['max_abs_difference']:.3g}, "
                    f"Procrustes disparity {distance['procrustes_disparity']:.3g}"
                )
            return f"{name} differs (sha256 {digests[name][:16]} against {reference[name][:16]})"
    return None


class ReferenceRun:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.digests = output_digests(workdir)

    def assert_same_bytes(self, workdir: Path, how: str) -> None:
        difference = first_difference(workdir, self.workdir, self.digests)
        assert difference is None, f"{how} made other bytes than the reference run: {difference}"


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> ReferenceRun:
    """The test config (tests/workflow_runner.py) on the host venv with --cores 1; made once per session."""
    workdir = tmp_path_factory.mktemp("reference")
    run_snakemake(workdir, cores=1).assert_ok()
    return ReferenceRun(workdir)


def committed_reference() -> dict:
    return json.loads(COMMITTED_REFERENCE.read_text())


def this_machine() -> dict:
    return {**cpu(), "python": platform.python_version()}

"""The run killed in the middle of the projection stage: the rerun completes, identically, redoing nothing finished."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from dimred_flow.config import iteration_seeds, validate_config
from dimred_flow.plan import plan_run
from workflow_runner import run_snakemake, start_snakemake

pytestmark = pytest.mark.workflow


def embeddings(workdir: Path) -> dict[str, np.ndarray]:
    root = workdir / "results" / "embeddings"
    return {str(p.relative_to(root)): np.load(p) for p in sorted(root.rglob("iteration_*.npy"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reference")
    run_snakemake(workdir).assert_ok()
    return embeddings(workdir)


def wait_for_projection_stage(workdir: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((workdir / "logs").glob("project_embeddings/umap/*.log")) and process.poll() is None:
            time.sleep(1.5)
            return
        time.sleep(0.2)
    pytest.fail("the run never reached the projection stage")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_resumes_with_the_same_results(tmp_path, reference, signum):
    process = start_snakemake(tmp_path)
    wait_for_projection_stage(tmp_path, process)
    [features] = (tmp_path / "results" / "data" / "features").glob("*.npz")
    finished_before = features.stat().st_mtime_ns
    os.killpg(process.pid, signum)
    process.wait(timeout=60)
    assert not (tmp_path / "results" / "merged_plots.pdf").exists()

    rerun = run_snakemake(tmp_path, "--rerun-incomplete")
    if "cannot be locked" in rerun.output:
        # A SIGKILLed Snakemake cannot remove its lock; it asks for --unlock, as a user would do.
        run_snakemake(tmp_path, "--unlock").assert_ok()
        rerun = run_snakemake(tmp_path, "--rerun-incomplete")
    rerun.assert_ok()

    assert features.stat().st_mtime_ns == finished_before, "finished work was redone"
    assert "rule prepare_features:" not in rerun.output
    resumed = embeddings(tmp_path)
    assert resumed.keys() == reference.keys()
    for name, array in reference.items():
        assert np.array_equal(array, resumed[name]), name
    assert (tmp_path / "results" / "merged_plots.pdf").exists()


def jobs_running_in(workdir: Path) -> list[int]:
    """The PIDs of processes whose working directory is `workdir` (Snakemake's jobs run there)."""
    pids = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == workdir.resolve():
                pids.append(int(proc.name))
    return pids


def test_jobs_that_outlive_their_snakemake_never_stand_in_for_other_settings(tmp_path, reference):
    """Issue 23, scenario 1: Snakemake killed alone, its projection jobs finish as orphans; a rerun
    with another min_dist computes UMAP again instead of plotting the orphans' embeddings."""
    process = start_snakemake(tmp_path)
    wait_for_projection_stage(tmp_path, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 300
    while jobs_running_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not jobs_running_in(tmp_path), "the orphaned jobs did not finish"
    assert list((tmp_path / "results" / "embeddings" / "umap").glob("*/batch.json")), "no orphan finished UMAP"

    run_snakemake(tmp_path, "--unlock").assert_ok()
    changed = {"methods": {"umap": {"min_dist": 0.5}}}
    rerun = run_snakemake(tmp_path, config=changed).assert_ok()

    assert re.search(r"rule project_embeddings:\n(?:.*\n)*?\s+wildcards: method=umap", rerun.output)
    config = validate_config(yaml.safe_load((tmp_path / "config.yaml").read_text()))
    plan = plan_run(config, iteration_seeds(config))
    receipt = json.loads((tmp_path / "results/staging/new_user/uploaded/projections_comparison_1.json").read_text())
    assert receipt["fingerprint"] == plan.plots[1]
    umap = {p.parent.name: np.load(p) for p in (tmp_path / "results/embeddings/umap").glob("*/iteration_1.npy")}
    assert len(umap) == 2, "the orphan's embeddings and the rerun's share a directory"
    first, second = umap.values()
    assert not np.array_equal(first, second)
    # The orphan's embedding is the one of an uninterrupted run with the first settings.
    orphaned = [name for name in umap if f"umap/{name}/iteration_1.npy" in reference]
    assert len(orphaned) == 1 and np.array_equal(umap[orphaned[0]], reference[f"umap/{orphaned[0]}/iteration_1.npy"])

"""Reruns reuse what they can (issue 27): raising n_test fits only the new iterations of every method, and a
plot-only setting redraws the plots and nothing upstream of them."""

from __future__ import annotations

import re
import shutil
from collections import Counter

import pytest

from workflow_runner import run_snakemake

pytestmark = pytest.mark.workflow


def jobs_run(output: str) -> Counter:
    return Counter(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", output, re.MULTILINE))


@pytest.fixture
def earlier_run(reference_run, tmp_path):
    """The reference run (n_test 2), as a user's working directory to change settings in."""
    workdir = tmp_path / "run"
    shutil.copytree(reference_run.workdir, workdir, symlinks=True)
    return workdir


def test_more_iterations_fit_only_the_new_ones(earlier_run, reference_run):
    run = run_snakemake(earlier_run, config={"n_test": 3}).assert_ok()
    jobs = jobs_run(run.output)
    # A new batch per method (its name lists iterations 1-3), whose job copies 1 and 2 and fits 3.
    assert jobs["project_embeddings"] == 3 and jobs["plot_projections"] == 1, jobs
    logs = {
        path.parent.name: path.read_text()
        for path in (earlier_run / "logs" / "project_embeddings").glob("*/iterations_1-3_*.log")
    }
    assert set(logs) == {"umap", "pca", "tsne"}, logs.keys()
    for method, log in logs.items():
        assert re.search(r"iteration 1 \(seed \d+\) reused from iterations_1-2_", log), (method, log)
        assert re.search(r"iteration 2 \(seed \d+\) reused from iterations_1-2_", log), (method, log)
        # PCA's embedding is the same for every seed (one fingerprint): not fitted at all.
        third = "reused from iterations_1-2_" if method == "pca" else "done in"
        assert re.search(rf"iteration 3 \(seed \d+\) {third}", log), (method, log)
    # The copies are the earlier bytes.
    for name in reference_run.digests:
        if name.endswith(".npy"):
            method, iteration = name.split("/")[2], name.rsplit("_", 1)[1]
            [copy] = (earlier_run / "results" / "embeddings" / method).glob(f"iterations_1-3_*/iteration_{iteration}")
            assert copy.read_bytes() == (reference_run.workdir / name).read_bytes(), name


def test_a_plot_setting_redraws_the_plots_only(earlier_run):
    run = run_snakemake(earlier_run, config={"plot": {"dpi": 72}}).assert_ok()
    jobs = jobs_run(run.output)
    assert jobs["plot_projections"] == 2, jobs
    upstream = {"import_table", "prepare_features", "compute_neighbour_graph", "prepare_method_input",
                "project_embeddings", "compute_stability_metrics"}
    assert not upstream & set(jobs), jobs

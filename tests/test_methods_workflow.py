"""Every registered method in one run: a panel each, a stability row each, and a changed setting of one
method recomputes that method's embeddings and nothing else (issue 24)."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from pypdf import PdfReader

from dimred_flow.methods import REGISTRY
from workflow_runner import run_snakemake

pytestmark = pytest.mark.workflow
EVERY_METHOD = {"projections": ["umap", "pca", "tsne", "pacmap", "trimap"]}


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    assert set(EVERY_METHOD["projections"]) == set(REGISTRY), "add the new method to this run"
    workdir = tmp_path_factory.mktemp("five")
    run_snakemake(workdir, config=EVERY_METHOD).assert_ok()
    return workdir


def test_each_page_has_a_panel_per_method_and_the_stability_page_a_row(five):
    plot = Image.open(five / "results" / "staging" / "new_user" / "uploaded" / "projections_comparison_1.png")
    assert plot.width == 5 * plot.height  # figsize (6 x 5, 6)
    stability = PdfReader(five / "results" / "merged_plots.pdf").pages[-1].extract_text()
    for label in ("UMAP", "PCA", "t-SNE (openTSNE, random init)", "PaCMAP", "TriMap"):
        assert label in stability, stability


def test_a_changed_setting_of_one_method_recomputes_that_method_alone(five):
    changed = {**EVERY_METHOD, "methods": {"trimap": {"n_iters": 300}}}
    # The plan (after the storage listing) first, as a real run's would: a dry run only reads the checkpoints' last answers.
    run_snakemake(five, "plan", config=changed).assert_ok()
    dry = run_snakemake(five, "-n", config=changed).assert_ok().output
    projected = re.findall(r"rule project_embeddings:\n(?:.*\n)*?\s+wildcards: method=(\w+)", dry)
    assert projected == ["trimap"], dry[-3000:]
    assert not re.search(r"rule (prepare_features|compute_neighbour_graph|prepare_method_input):", dry)
    assert "rule plot_projections:" in dry and "rule compute_stability_metrics:" in dry

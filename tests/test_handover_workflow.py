"""Compute on the cluster, curate on REANA: make_projections through the Slurm executor with
Storage4PUNCH-style WebDAV storage (bearer token), then combine_plots in a second, empty working
directory that has only the config and the storage credentials (the README's recipe).

Needs Slurm (tests/servers/slurm/provision.sh); skipped without it, failed under CI=true.
"""

from __future__ import annotations

import json
import re

import pytest
from pypdf import PdfReader

from storage_checks import stored_bundle
from test_slurm import SLURM_ARGS, _require_slurm, _rules_run
from webdav_fixture import DAV_TOKEN, running_dav_server
from workflow_runner import REPO, run_snakemake

pytestmark = pytest.mark.workflow
USER = "handover"
COMPUTE_RULES = {"prepare_features", "project_embeddings", "plot_projections"}


@pytest.fixture(scope="module")
def dav(tmp_path_factory):
    _require_slurm()
    with running_dav_server(tmp_path_factory, "bearer") as server:
        server.make_collection("pnfs/punch/dimred")  # the storage.url folder: the check creates none
        yield server


def test_make_projections_on_slurm_then_combine_plots_elsewhere(dav, tmp_path):
    # The table too comes from the storage: staged in by a Slurm job, whose Snakemake reads its remote state.
    table = dav.root / "pnfs" / "punch" / "tables" / "gaia.csv"
    table.parent.mkdir(parents=True)
    table.write_bytes((REPO / "data" / "gaia_dr2_open_clusters.csv").read_bytes())
    config = {
        "user_folder": USER,
        "source": {"kind": "file", "path": dav.url("pnfs/punch/tables/gaia.csv")},
        "storage": {"url": dav.url("pnfs/punch/dimred")},
    }
    env = dav.credentials()
    cluster, curator = tmp_path / "hpc", tmp_path / "reana"

    computed = run_snakemake(cluster, "make_projections", *SLURM_ARGS, config=config, env=env, timeout=1200).assert_ok()
    remote, _ = _rules_run(computed.output)
    assert COMPUTE_RULES | {"stage_in_table"} <= remote, remote  # computed as Slurm jobs
    folder = dav.root / "pnfs" / "punch" / "dimred" / USER
    assert sorted(json.loads(p.read_text())["iteration"] for p in (folder / "plots").glob("*.json")) == [1, 2]
    assert list((folder / "stability").glob("*.json"))
    assert not (cluster / "results" / "merged_plots.pdf").exists()

    # The curation side: an empty directory, the config and the token; nothing of the cluster's.
    curated = run_snakemake(curator, "combine_plots", config=config, env=env, cores=1).assert_ok()
    assert not re.search(
        r"rule (project_\w+|plot_projections|prepare_features|import_table|stage_in_table):", curated.output
    )
    assert not (curator / "results" / "embeddings").exists()
    reader = PdfReader(curator / "results" / "merged_plots.pdf")
    assert len(reader.pages) == 3  # two iterations and the seed-stability page
    [run] = stored_bundle(folder)["runs"]
    assert (run / "merged_plots.pdf").read_bytes() == (curator / "results" / "merged_plots.pdf").read_bytes()

    for workdir in (cluster, curator):
        for path in workdir.rglob("*"):
            if path.is_file():
                assert DAV_TOKEN.encode() not in path.read_bytes(), path

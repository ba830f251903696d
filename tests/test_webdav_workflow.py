"""The real workflow staging to WebDAV (Storage4PUNCH / dCache style, bearer token) on 127.0.0.1.

A dav:// run behaves as an s3:// one: the same keys and records, reuse on a second run and from another
working directory, combine_plots from the storage alone, and the token nowhere in what the runs leave.
"""

from __future__ import annotations

import json
import re

import pytest
from pypdf import PdfReader

from storage_checks import stored_bundle
from webdav_fixture import DAV_TOKEN, running_dav_server
from workflow_runner import run_snakemake

pytestmark = pytest.mark.workflow
USER = "dav_user"
RECORD_KEYS = {"iteration", "seed", "fingerprint", "sha256", "size", "object", "embeddings"}


@pytest.fixture(scope="module")
def dav(tmp_path_factory):
    with running_dav_server(tmp_path_factory, "bearer") as server:
        server.make_collection("pnfs/punch/dimred")  # the storage.url folder: the check creates none
        yield server


@pytest.fixture(scope="module")
def dav_config(dav):
    return {"user_folder": USER, "storage": {"url": dav.url("pnfs/punch/dimred")}}


@pytest.fixture(scope="module")
def env(dav):
    # No S3 or basic-auth credentials: the token alone must do.
    return {**dav.credentials(), "WEBDAV_USERNAME": "", "WEBDAV_PASSWORD": "", "BEARER_TOKEN_FILE": ""}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dav_config, env):
    """A: a full run; A again: nothing to do; B: the same config elsewhere; C: combine_plots elsewhere."""
    base = tmp_path_factory.mktemp("davrun")
    a, b, c = base / "a", base / "b", base / "c"
    first = run_snakemake(a, config=dav_config, env=env).assert_ok()
    again = run_snakemake(a, config=dav_config, env=env).assert_ok()
    reuse = run_snakemake(b, config=dav_config, env=env).assert_ok()
    combine = run_snakemake(c, "combine_plots", config=dav_config, env=env).assert_ok()
    return {"a": (a, first), "again": (a, again), "b": (b, reuse), "c": (c, combine)}


def test_plots_records_and_run_files_are_on_the_webdav_server(runs, dav):
    folder = dav.root / "pnfs" / "punch" / "dimred" / USER
    bundle = stored_bundle(folder)
    assert bundle["iterations"] == [1, 2] and bundle["stability"]
    for path in (folder / "plots").glob("*.json"):
        assert set(json.loads(path.read_text())) == RECORD_KEYS  # the same record as on S3
    assert not [name for name in dav.files("pnfs/punch/dimred") if ".incoming" in name]
    # combine_plots in C ran last with the same settings, so the stored crate of the run is C's.
    c, _ = runs["c"]
    [run] = bundle["runs"]
    assert (run / "ro-crate-metadata.json").read_bytes() == (c / "results" / "ro-crate-metadata.json").read_bytes()


def test_second_run_does_nothing(runs):
    _, again = runs["again"]
    assert "Nothing to be done" in again.output


def test_another_working_directory_reuses_the_stored_plots(runs):
    (a, _), (b, reuse) = runs["a"], runs["b"]
    assert "download_plot" in reuse.output
    assert not re.search(r"rule (project_\w+|plot_projections|prepare_features|upload_plot):", reuse.output)
    assert not (b / "results" / "embeddings").exists()
    for i in (1, 2):
        name = f"projections_comparison_{i}.png"
        downloaded = b / "results" / "staging" / USER / "downloaded" / name
        assert downloaded.read_bytes() == (a / "results" / "staging" / USER / "uploaded" / name).read_bytes()


def test_combine_plots_from_webdav_alone(runs):
    (a, _), (c, combine) = runs["a"], runs["c"]
    assert not re.search(r"rule (project_\w+|plot_projections|prepare_features|import_table):", combine.output)
    original = PdfReader(a / "results" / "merged_plots.pdf")
    rebuilt = PdfReader(c / "results" / "merged_plots.pdf")
    assert len(original.pages) == len(rebuilt.pages)
    for i in range(2):
        assert [x.data for x in original.pages[i].images] == [x.data for x in rebuilt.pages[i].images]


def test_the_token_appears_nowhere(runs, dav):
    """Every file of every run (logs, records, crate, Snakemake's metadata), its output and the server's files."""
    token = DAV_TOKEN.encode()
    scanned = 0
    for _, run in runs.values():
        assert DAV_TOKEN not in run.output
    for root in {workdir for workdir, _ in runs.values()} | {dav.root}:
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                assert token not in path.read_bytes(), path
    assert scanned > 40


def test_expired_token_ends_in_one_line_before_compute(dav_config, env, tmp_path):
    run = run_snakemake(tmp_path, config=dav_config, env={**env, "BEARER_TOKEN": "expired-eyJ.Zm9v.YmFy"})
    assert run.returncode != 0
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert errors and "rejected" in errors[0] and "oidc-token" in errors[0]
    assert "expired-eyJ.Zm9v.YmFy" not in run.output
    assert not (tmp_path / "results" / "embeddings").exists()

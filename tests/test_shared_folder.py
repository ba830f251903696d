"""Runs that share a user folder never mix what storage holds (issue 23, scenario 3), with real
concurrent processes against the real servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import download_plot, list_stored_plots, open_storage
from s3_fixture import running_s3_server
from storage_checks import assert_consistent_bundle, made
from workflow_runner import REPO, run_snakemake

USER = "shared"
RACES = 6


@pytest.fixture(params=["local", "s3", "webdav"])
def backend(request, tmp_path, clean_environment):
    """(storage URL, endpoint URL or None, environment of the jobs, the folder on the server's disk)."""
    if request.param == "local":
        return str(tmp_path / "store"), None, {}, tmp_path / "store"
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        return "s3://plots/p", server.endpoint_url, server.credentials(), server.root / "plots" / "p"
    server = request.getfixturevalue("bearer_dav_server")
    server.make_collection("dcache/dimred")
    return server.url(), None, server.credentials(), server.root / "dcache" / "dimred"


def upload_in_background(tmp_path, name: str, content: bytes, backend) -> subprocess.Popen:
    url, endpoint, env, _ = backend
    plot = tmp_path / f"{name}.png"
    plot.write_bytes(content)
    record = tmp_path / f"{name}.json"
    record.write_text(json.dumps(made(plot, "same-fingerprint")))
    command = [sys.executable, str(REPO / "scripts" / "upload_plot.py"), "--storage", url, "--user-folder", USER,
               "--fingerprint", "same-fingerprint", "--plot", str(plot), "--record", str(record),
               "--staged-copy", str(tmp_path / f"{name}.staged.png"), "--receipt", str(tmp_path / f"{name}.receipt")]
    if endpoint:
        command += ["--endpoint-url", endpoint]
    return subprocess.Popen(command, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)


def test_racing_uploads_of_one_fingerprint_never_store_a_record_with_other_bytes(tmp_path, backend):
    """Two runs whose plot for one fingerprint differs (as on two machines whose libraries round
    differently): whoever writes last, the record names bytes with its checksum; a side whose
    record was overwritten is told to rerun, never told it succeeded with the other's record."""
    url, endpoint, env, _ = backend
    storage = open_storage(url, endpoint, environ=env)
    for trial in range(RACES):
        contents = {side: f"{side} {trial} ".encode() * 4000 for side in ("first", "second")}
        racing = {side: upload_in_background(tmp_path, f"{side}{trial}", data, backend) for side, data in contents.items()}
        outcomes = {side: (process.wait(timeout=120), process.stderr.read()) for side, process in racing.items()}
        for code, stderr in outcomes.values():
            assert code == 0 or re.search(r"ERROR: .*rerun", stderr), stderr
        record = list_stored_plots(storage, USER, {1: "same-fingerprint"})[1]
        back = tmp_path / "back.png"
        download_plot(storage, USER, back, record)
        assert back.read_bytes() in contents.values()
        succeeded = [side for side, (code, _) in outcomes.items() if code == 0]
        assert succeeded, outcomes
        if len(succeeded) == 1:
            assert back.read_bytes() == contents[succeeded[0]]


def test_identical_racing_uploads_both_succeed(tmp_path, backend):
    """Two runs with the same settings make the same bytes: racing, both succeed."""
    content = b"the same plot " * 5000
    racing = [upload_in_background(tmp_path, f"side{n}", content, backend) for n in range(2)]
    assert [process.wait(timeout=120) for process in racing] == [0, 0], [p.stderr.read() for p in racing]


@pytest.mark.workflow
def test_two_runs_started_together_in_one_folder_keep_their_own_bundles(tmp_path_factory):
    """Two seeds, one user folder, started at the same moment from two directories; then combine_plots
    for each config from a third machine computes nothing and gets exactly that config's plots."""
    with running_s3_server(tmp_path_factory) as s3:
        storage = {"url": "s3://plots/dimred", "endpoint_url": s3.endpoint_url}
        configs = {seed: {"user_folder": USER, "seed": seed, "n_test": 1, "storage": storage} for seed in (11, 12)}
        workdirs = {seed: tmp_path_factory.mktemp(f"seed{seed}") for seed in configs}
        with ThreadPoolExecutor(2) as pool:
            runs = dict(zip(configs, pool.map(
                lambda seed: run_snakemake(workdirs[seed], config=configs[seed], env=s3.credentials()), configs
            ), strict=True))
        for run in runs.values():
            run.assert_ok()
        folder = s3.root / "plots" / "dimred" / USER
        stored_runs = assert_consistent_bundle(folder)
        assert {file_sha256(run / "merged_plots.pdf") for run in stored_runs} == {
            file_sha256(workdirs[seed] / "results" / "merged_plots.pdf") for seed in configs
        }
        for seed, config in configs.items():
            elsewhere = tmp_path_factory.mktemp(f"combine{seed}")
            combined = run_snakemake(elsewhere, "combine_plots", config=config, env=s3.credentials()).assert_ok()
            assert not re.search(r"rule (project_\w+|plot_projections|prepare_features|compute_\w+):", combined.output)
            original = PdfReader(workdirs[seed] / "results" / "merged_plots.pdf")
            rebuilt = PdfReader(elsewhere / "results" / "merged_plots.pdf")
            assert [x.data for x in original.pages[0].images] == [x.data for x in rebuilt.pages[0].images]

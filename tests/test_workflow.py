"""The real workflow against a real S3-compatible server (rclone serve s3) on 127.0.0.1."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from pypdf import PdfReader

from dimred_flow.storage import open_storage, record_name
from s3_fixture import ACCESS_KEY, SECRET_KEY, free_port, running_s3_server
from storage_checks import assert_consistent_bundle
from workflow_runner import run_snakemake

pytestmark = pytest.mark.workflow
USER = "alice"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """One server for the module: the tests below share first_run's bucket."""
    with running_s3_server(tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def s3_config(s3):
    return {"user_folder": USER, "storage": {"url": "s3://plots/dimred", "endpoint_url": s3.endpoint_url}}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, s3, s3_config):
    workdir = tmp_path_factory.mktemp("run")
    run = run_snakemake(workdir, config=s3_config, env=s3.credentials()).assert_ok()
    return workdir, run


def test_dry_run_accepts_overrides_given_as_strings(tmp_path):
    run = run_snakemake(tmp_path, "-n", "--config", "user_folder=bob", "n_test=3", 'seed="7"').assert_ok()
    assert "list_stored_plots" in run.output


def test_a_run_on_two_cores_through_s3_makes_the_reference_bytes(first_run, reference_run):
    reference_run.assert_same_bytes(first_run[0], "--cores 2 with S3 storage")


def test_plots_records_metrics_crate_and_pdf_are_in_the_bucket(first_run, s3):
    runs = assert_consistent_bundle(s3.root / "plots" / "dimred" / USER)
    assert len(runs) == 1
    objects = s3.objects("plots")
    assert len([name for name in objects if name.startswith(f"dimred/{USER}/plots/")]) == 2
    assert not [name for name in objects if ".incoming" in name], objects


def test_one_embedding_per_method_and_iteration_and_seeds_matter(first_run):
    workdir, _ = first_run
    embeddings = {
        method: {int(re.search(r"_(\d+)\.npy$", p.name).group(1)): np.load(p) for p in (workdir / "results" / "embeddings" / method).rglob("iteration_*.npy")}
        for method in ("umap", "pca", "tsne")  # the default config's
    }
    for method, by_iteration in embeddings.items():
        assert sorted(by_iteration) == [1, 2], method
        assert by_iteration[1].shape == (400, 2)
    assert not np.allclose(embeddings["umap"][1], embeddings["umap"][2])
    assert not np.allclose(embeddings["tsne"][1], embeddings["tsne"][2])
    assert np.array_equal(embeddings["pca"][1], embeddings["pca"][2])


def test_merged_pdf_has_a_page_and_an_outline_entry_per_iteration(first_run):
    workdir, _ = first_run
    reader = PdfReader(workdir / "results" / "merged_plots.pdf")
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    iteration_titles = [t for t in titles if t.startswith("Iteration")]
    assert [re.match(r"Iteration (\d+) \(seed \d+\)", t).group(1) for t in iteration_titles] == ["1", "2"]
    assert len(reader.pages) >= 2


def test_second_run_does_nothing(first_run, s3):
    workdir, _ = first_run
    run = run_snakemake(workdir, config={"user_folder": USER, "storage": {"url": "s3://plots/dimred", "endpoint_url": s3.endpoint_url}}, env=s3.credentials()).assert_ok()
    assert "Nothing to be done" in run.output


def test_combine_plots_elsewhere_downloads_instead_of_recomputing(first_run, s3, s3_config, tmp_path):
    workdir, _ = first_run
    run = run_snakemake(tmp_path, "combine_plots", config=s3_config, env=s3.credentials()).assert_ok()
    assert "download_plot" in run.output and "download_embedding_catalogue" in run.output
    assert not re.search(r"rule (project_|plot_projections|prepare_features|write_embedding_catalogue)", run.output)
    # The catalogue travels through storage, the embeddings never do.
    for name in ("embedding_catalogue.fits", "embedding_catalogue.vot"):
        assert (tmp_path / "results" / name).read_bytes() == (workdir / "results" / name).read_bytes(), name
    original = PdfReader(workdir / "results" / "merged_plots.pdf")
    rebuilt = PdfReader(tmp_path / "results" / "merged_plots.pdf")
    for i in range(2):
        assert original.pages[i].extract_text() == rebuilt.pages[i].extract_text()
        assert [x.data for x in original.pages[i].images] == [x.data for x in rebuilt.pages[i].images]


def test_changed_parameters_never_reuse_stored_plots(first_run, s3, s3_config, tmp_path):
    config = {**s3_config, "methods": {"umap": {"jobs": 1, "n_neighbors": 10}}}
    # The plan lists the storage: a dry run then sees the jobs behind the checkpoints.
    plan = run_snakemake(tmp_path, "plan", config=config, env=s3.credentials()).assert_ok()
    assert "reuse from storage: 0 of 2 plots" in plan.output, plan.output
    run = run_snakemake(tmp_path, "-n", "combine_plots", config=config, env=s3.credentials()).assert_ok()
    inventory = json.loads((tmp_path / "results" / "staging" / USER / "inventory.json").read_text())
    assert inventory["stored"] == {}
    assert "method=umap" in run.output


def test_wrong_credentials_end_in_one_clear_error_before_compute(s3, s3_config, tmp_path):
    run = run_snakemake(tmp_path, config=s3_config, env=s3.credentials(secret="not-the-secret-at-all"))
    assert run.returncode != 0
    assert "rejected the credentials" in run.output and "secret_key" in run.output
    assert "not-the-secret-at-all" not in run.output
    assert not (tmp_path / "results" / "embeddings").exists()


def test_read_only_keys_stop_the_run_before_compute(tmp_path_factory, tmp_path):
    """Issue 31: keys that may list but not write once let every projection run, then every upload hang."""
    with running_s3_server(tmp_path_factory, read_only=True) as read_only:
        config = {"storage": {"url": "s3://plots/dimred", "endpoint_url": read_only.endpoint_url}}
        run = run_snakemake(tmp_path, config=config, env=read_only.credentials(), timeout=300)
    assert run.returncode != 0
    assert re.search(r"^ERROR: .* refused to store a small probe object .*Nothing was computed\.$", run.output, re.M)
    assert not (tmp_path / "results" / "embeddings").exists()


def test_secrets_appear_nowhere(first_run, s3):
    """Every file the run wrote, its output and the stored records are free of the credentials."""
    workdir, run = first_run
    secrets = [ACCESS_KEY.encode(), SECRET_KEY.encode()]
    assert not any(secret.decode() in run.output for secret in secrets)
    scanned = 0
    for root in (workdir, s3.root):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                scanned += 1
                assert not any(secret in data for secret in secrets), path
    assert scanned > 20


def test_unsafe_user_folder_is_rejected_before_anything_runs(tmp_path):
    run = run_snakemake(tmp_path, "--config", "user_folder=../other")
    assert run.returncode != 0
    assert "config key 'user_folder'" in run.output
    assert not (tmp_path / "results").exists()


def test_missing_credentials_name_the_variables(s3_config, tmp_path, monkeypatch):
    for variable in ("access_key", "secret_key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    run = run_snakemake(tmp_path, config=s3_config)
    assert run.returncode != 0
    assert "No S3 credentials in the environment: set access_key and secret_key" in run.output
    assert not (tmp_path / "results" / "embeddings").exists()


def test_unreachable_storage_stops_the_run_before_compute(tmp_path):
    config = {"storage": {"url": "s3://plots/x", "endpoint_url": f"http://127.0.0.1:{free_port()}"}}
    run = run_snakemake(tmp_path, config=config, env={"access_key": ACCESS_KEY, "secret_key": SECRET_KEY})
    assert run.returncode != 0
    assert "Cannot reach" in run.output and "storage.endpoint_url" in run.output
    assert not (tmp_path / "results" / "embeddings").exists()


def test_a_tampered_stored_plot_is_refused_and_following_the_message_repairs_it(first_run, s3, s3_config, tmp_path):
    """Issue 23, scenario 5: the message says which record to delete; doing exactly that and rerunning
    recomputes the plot (no cached listing asks for the deleted one) and stores it right again."""
    workdir, _ = first_run
    receipt = json.loads((workdir / "results" / "staging" / USER / "uploaded" / "projections_comparison_1.json").read_text())
    stored = s3.root / "plots" / "dimred" / USER
    original = (stored / receipt["object"]).read_bytes()
    # Through the S3 API, as a user would: rclone caches what it serves from its directory.
    storage = open_storage(s3_config["storage"]["url"], s3.endpoint_url, environ=s3.credentials())
    storage.fs.pipe_file(storage.key(USER, receipt["object"]), b"tampered")
    refused = run_snakemake(tmp_path, "combine_plots", config=s3_config, env=s3.credentials())
    assert refused.returncode != 0
    named = re.search(r"Delete (\S+) from storage and rerun", refused.output).group(1)
    assert named == storage.key(USER, record_name(receipt["fingerprint"]))
    storage.fs.rm_file(named)
    repaired = run_snakemake(tmp_path, "combine_plots", config=s3_config, env=s3.credentials()).assert_ok()
    assert "rule plot_projections:" in repaired.output
    assert (stored / receipt["object"]).read_bytes() == original
    assert_consistent_bundle(stored)


def test_upload_lost_to_a_storage_outage_resumes_without_recomputing(first_run, s3, s3_config):
    """Runs last in this module: it changes first_run's working directory and bucket."""
    workdir, _ = first_run
    staged = workdir / "results" / "staging" / USER / "uploaded"
    # The state a run leaves when its second upload failed: no merged PDF, no upload of plot 2.
    (workdir / "results" / "merged_plots.pdf").unlink()
    receipt = json.loads((staged / "projections_comparison_2.json").read_text())
    for suffix in ("png", "json"):
        (staged / f"projections_comparison_2.{suffix}").unlink()
    stored = s3.root / "plots" / "dimred" / USER
    (stored / record_name(receipt["fingerprint"])).unlink()
    (stored / receipt["object"]).unlink()
    kept = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*.npy")}

    s3.stop()
    down = run_snakemake(workdir, config=s3_config, env=s3.credentials())
    assert down.returncode != 0
    assert "Cannot reach" in down.output
    s3.start()
    resumed = run_snakemake(workdir, config=s3_config, env=s3.credentials()).assert_ok()

    assert re.findall(r"rule (\w+):", resumed.output).count("upload_plot") == 1
    assert not re.search(r"rule (project_\w+|plot_projections|prepare_features):", resumed.output)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (stored / record_name(receipt["fingerprint"])).exists()
    assert_consistent_bundle(stored)

"""Mixed flows: the input table staged in from WebDAV (bearer token), the plots, PDF and crate staged out
to S3, and a changed remote table re-running what depends on it; then the other way round, the table on
S3 and the plots on WebDAV with basic auth."""

from __future__ import annotations

import json
import re

import pytest

from dimred_flow.checksums import file_sha256
from s3_fixture import ACCESS_KEY, SECRET_KEY, running_s3_server
from storage_checks import stored_bundle
from webdav_fixture import DAV_PASSWORD, DAV_TOKEN, running_dav_server
from workflow_runner import REPO, run_snakemake

pytestmark = pytest.mark.workflow
USER = "mixed"
SNAPSHOT = REPO / "data" / "gaia_dr2_open_clusters.csv"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with running_dav_server(tmp_path_factory, "bearer") as dav, running_s3_server(tmp_path_factory) as s3:
        yield dav, s3


@pytest.fixture(scope="module")
def runs(tmp_path_factory, servers):
    dav, s3 = servers
    table = dav.root / "pnfs" / "punch" / "input" / "gaia.csv"
    table.parent.mkdir(parents=True)
    table.write_bytes(SNAPSHOT.read_bytes())
    url = dav.url("pnfs/punch/input/gaia.csv")
    config = {
        "user_folder": USER,
        "source": {"kind": "file", "path": url},
        "storage": {"url": "s3://plots/mixed", "endpoint_url": s3.endpoint_url},
    }
    env = {**dav.credentials(), **s3.credentials()}
    workdir = tmp_path_factory.mktemp("mixed")
    first = run_snakemake(workdir, config=config, env=env).assert_ok()
    unchanged = run_snakemake(workdir, "-n", config=config, env=env).assert_ok()
    first_provenance = json.loads((workdir / "results" / "data" / "file_table.json").read_text())
    # The remote table changes: 200 rows fewer.
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    table.write_bytes(b"".join(lines[:-200]))
    changed = run_snakemake(workdir, config=config, env=env).assert_ok()
    return {"workdir": workdir, "url": url, "table": table, "first": first, "unchanged": unchanged,
            "first_provenance": first_provenance, "changed": changed}


def test_table_is_staged_in_verified_and_cited(runs):
    workdir, url = runs["workdir"], runs["url"]
    assert "stage_in_table" in runs["first"].output
    provenance = runs["first_provenance"]
    assert provenance["path"] == url and provenance["sha256"] == file_sha256(SNAPSHOT)
    assert provenance["size"] == SNAPSHOT.stat().st_size and provenance["etag"]
    crate = json.loads((workdir / "results" / "ro-crate-metadata.json").read_text())
    source = {e["@id"]: e for e in crate["@graph"]}["#data-source"]
    # The crate of the last run cites the changed table, by URL, checksum and size.
    assert source["url"] == url and source["sha256"] == file_sha256(runs["table"])
    assert int(source["contentSize"]) == runs["table"].stat().st_size


def test_plots_pdf_and_crate_are_staged_out_to_s3(runs, servers):
    _, s3 = servers
    bundle = stored_bundle(s3.root / "plots" / "mixed" / USER)
    assert set(bundle["iterations"]) == {1, 2} and bundle["stability"]
    # The last run, on the changed table, stored its own run folder beside the first one's.
    pdfs = {(run / "merged_plots.pdf").read_bytes() for run in bundle["runs"]}
    assert (runs["workdir"] / "results" / "merged_plots.pdf").read_bytes() in pdfs


def test_an_unchanged_remote_table_is_not_fetched_again(runs):
    assert "Nothing to be done" in runs["unchanged"].output


def test_a_changed_remote_table_reruns_what_depends_on_it(runs):
    jobs = re.findall(r"rule (\w+):", runs["changed"].output)
    for rule in ("stage_in_table", "import_table", "prepare_features", "project_embeddings", "upload_plot"):
        assert rule in jobs, (rule, jobs)
    provenance = json.loads((runs["workdir"] / "results" / "data" / "file_table.json").read_text())
    assert provenance["sha256"] == file_sha256(runs["table"]) != runs["first_provenance"]["sha256"]


def test_no_credential_of_either_store_leaks(runs, servers):
    secrets = [DAV_TOKEN.encode(), ACCESS_KEY.encode(), SECRET_KEY.encode()]
    for key in ("first", "unchanged", "changed"):
        assert not any(secret.decode() in runs[key].output for secret in secrets)
    for root in (runs["workdir"], *(server.root for server in servers)):
        for path in root.rglob("*"):
            if path.is_file():
                assert not any(secret in path.read_bytes() for secret in secrets), path


@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    """The other way round: the table on S3 (source.endpoint_url), the plots on WebDAV with basic auth.

    Its own S3 server: rclone caches directory listings, so a table written to the disk of a server
    that has already listed its bucket would stay unseen for minutes.
    """
    with running_s3_server(tmp_path_factory) as s3, running_dav_server(tmp_path_factory, "basic") as dav:
        table = s3.root / "plots" / "tables" / "gaia.csv"
        table.parent.mkdir(parents=True)
        table.write_bytes(SNAPSHOT.read_bytes())
        dav.make_collection("punch/out")  # the storage.url folder: the check creates none
        config = {
            "user_folder": USER,
            "source": {"kind": "file", "path": "s3://plots/tables/gaia.csv", "endpoint_url": s3.endpoint_url},
            "storage": {"url": dav.url("punch/out")},
        }
        workdir = tmp_path_factory.mktemp("reverse")
        run = run_snakemake(workdir, config=config, env={**dav.credentials(), **s3.credentials()}).assert_ok()
        yield workdir, run, dav


def test_table_from_s3_plots_to_webdav_with_basic_auth(reverse_run):
    workdir, run, dav = reverse_run
    assert "stage_in_table" in run.output
    provenance = json.loads((workdir / "results" / "data" / "file_table.json").read_text())
    assert provenance["path"] == "s3://plots/tables/gaia.csv" and provenance["sha256"] == file_sha256(SNAPSHOT)
    bundle = stored_bundle(dav.root / "punch" / "out" / USER)
    assert bundle["iterations"] == [1, 2] and bundle["stability"] and len(bundle["runs"]) == 1
    secrets = [DAV_PASSWORD.encode(), ACCESS_KEY.encode(), SECRET_KEY.encode()]
    assert not any(secret.decode() in run.output for secret in secrets)
    for root in (workdir, dav.root):
        for path in root.rglob("*"):
            if path.is_file():
                assert not any(secret in path.read_bytes() for secret in secrets), path

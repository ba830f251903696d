"""Stage in the input table from S3 and from WebDAV (bearer token and basic auth), on real servers."""

from __future__ import annotations

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.stage_in import open_source, remote_state, stage_in
from dimred_flow.storage import StorageError
from webdav_fixture import DAV_TOKEN

TABLE = b"ra,dec,parallax\n" + b"".join(f"{i}.5,{-i}.25,{i % 7}.1\n".encode() for i in range(2000))


@pytest.fixture(params=["s3", "bearer", "basic"])
def remote_table(request, clean_environment, no_webdav_credentials):
    """(url, endpoint_url, environ) of a table on each kind of store."""
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        path = server.root / "plots" / "input" / "table.csv"
        path.parent.mkdir(parents=True)
        path.write_bytes(TABLE)
        return "s3://plots/input/table.csv", server.endpoint_url, server.credentials()
    server = request.getfixturevalue(f"{request.param}_dav_server")
    path = server.root / "pnfs" / "input" / "table.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(TABLE)
    return server.url("pnfs/input/table.csv"), None, server.credentials()


def test_table_is_copied_verified_and_recorded(remote_table, tmp_path):
    url, endpoint, environ = remote_table
    storage = open_source(url, endpoint, environ)
    out = tmp_path / "staged" / "table.csv"
    record = stage_in(storage, url, out)
    assert out.read_bytes() == TABLE
    assert record["url"] == url and record["size"] == len(TABLE) and record["sha256"] == file_sha256(out)
    assert record["etag"]  # S3 and both WebDAV servers give one
    assert not list(out.parent.glob("*.partial*"))
    if "BEARER_TOKEN" in environ:
        assert record["verified_by"] == "server digest"  # the dCache-like server answers Want-Digest


def test_a_changed_remote_table_has_another_state(remote_table):
    url, endpoint, environ = remote_table
    storage = open_source(url, endpoint, environ)
    before = remote_state(storage, url)
    # Replace it through the store itself (servers may cache what they read from disk).
    storage.fs.pipe_file(storage.root, TABLE + b"1.5,2.5,3.5\n")
    after = remote_state(open_source(url, endpoint, environ), url)
    assert after["size"] == before["size"] + 12
    assert after != before


def test_a_missing_table_names_source_path(remote_table, tmp_path):
    url, endpoint, environ = remote_table
    missing = url.replace("table.csv", "nothere.csv")
    with pytest.raises(StorageError, match=r"does not exist .*check source\.path"):
        stage_in(open_source(missing, endpoint, environ), missing, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_a_bucket_is_not_a_table():
    with pytest.raises(StorageError, match="names a bucket"):
        open_source("s3://plots", None, {"access_key": "k", "secret_key": "s"})


def test_rejected_token_while_staging_in(bearer_dav_server, no_webdav_credentials, tmp_path):
    (bearer_dav_server.root / "t.csv").write_bytes(TABLE)
    url = bearer_dav_server.url("t.csv")
    with pytest.raises(StorageError, match=r"rejected .*oidc-token") as error:
        stage_in(open_source(url, None, {"BEARER_TOKEN": "stale-token-x1"}), url, tmp_path / "t.csv")
    assert "stale-token-x1" not in str(error.value) and DAV_TOKEN not in str(error.value)

"""Staging to WebDAV (dCache / Storage4PUNCH) against real servers on 127.0.0.1: WsgiDAV behind a
bearer-token check, and rclone serve webdav with basic auth."""

from __future__ import annotations

import json
import os
import threading

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import (
    StorageError,
    check_storage,
    download_plot,
    list_stored_plots,
    object_name,
    open_storage,
    record_name,
    sweep_incoming,
    upload_file,
    upload_plot,
)
from dimred_flow.webdav import discover_bearer_token, split_webdav_url, webdav_auth
from fault_proxy import DroppingProxy
from storage_checks import assert_plot_round_trip, assert_tampered_plot_is_refused_and_the_fix_works, made
from webdav_fixture import DAV_PASSWORD, DAV_TOKEN


@pytest.fixture(params=["bearer", "basic"])
def dav_server(request, no_webdav_credentials):
    return request.getfixturevalue(f"{request.param}_dav_server")


@pytest.fixture
def plot(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"\x89PNG fake but bytes are bytes" * 100)
    return path


def test_round_trip_inventory_and_layout(dav_server, plot, tmp_path):
    storage = open_storage(dav_server.url(), environ=dav_server.credentials())
    record = assert_plot_round_trip(storage, plot, tmp_path)
    assert record["key"] == f"dcache/dimred/alice/{object_name(record['sha256'])}"
    # The same layout as S3: the plot's bytes and its record, nothing left in the upload area.
    assert dav_server.files("dcache/dimred") == [f"alice/{object_name(record['sha256'])}", f"alice/{record_name('f1')}"]
    stored = json.loads((dav_server.root / "dcache/dimred/alice" / record_name("f1")).read_text())
    assert stored == {k: v for k, v in record.items() if k != "key"}


def test_uses_the_servers_digest_where_it_offers_one(dav_server, plot):
    storage = open_storage(dav_server.url(), environ=dav_server.credentials())
    receipt = upload_file(storage, "alice", plot, "file.bin")
    # The bearer server answers Want-Digest as dCache does; rclone does not, so the upload is read back.
    expected = "server digest" if dav_server.auth == "bearer" else "download and sha256"
    assert receipt["verified_by"] == expected


def test_upload_replaces_an_existing_object(dav_server, plot, tmp_path):
    storage = open_storage(dav_server.url(), environ=dav_server.credentials())
    upload_plot(storage, "alice", plot, made(plot, "old", 1, 1))
    newer = tmp_path / "newer.png"
    newer.write_bytes(b"another plot" * 50)
    upload_plot(storage, "alice", newer, made(newer, "new", 1, 1))
    assert list_stored_plots(storage, "alice", {1: "new"}).keys() == {1}
    assert (dav_server.root / "dcache/dimred/alice" / object_name(file_sha256(newer))).read_bytes() == newer.read_bytes()


def test_tampered_plot_is_refused_and_following_the_message_repairs_it(dav_server, plot, tmp_path):
    storage = open_storage(dav_server.url(), environ=dav_server.credentials())
    assert_tampered_plot_is_refused_and_the_fix_works(storage, plot, tmp_path)


def test_rejected_or_expired_token_says_how_to_get_a_fresh_one(bearer_dav_server, no_webdav_credentials):
    expired = "eyJhbGciOi.expired-token-Qm7.zz"
    storage = open_storage(bearer_dav_server.url(), environ={"BEARER_TOKEN": expired})
    with pytest.raises(StorageError) as error:
        check_storage(storage)
    message = str(error.value)
    assert "rejected" in message and "expired" in message and "oidc-token" in message
    assert "\n" not in message
    assert expired not in message and expired not in repr(storage) and expired not in repr(storage.fs.client.http.auth)
    assert DAV_TOKEN not in message


def test_wrong_password_is_reported_without_revealing_it(basic_dav_server, no_webdav_credentials):
    environ = {"WEBDAV_USERNAME": "dimred-dav-user", "WEBDAV_PASSWORD": "wrong-pass-7Yh"}
    storage = open_storage(basic_dav_server.url(), environ=environ)
    with pytest.raises(StorageError, match="WEBDAV_PASSWORD") as error:
        check_storage(storage)
    assert "wrong-pass-7Yh" not in str(error.value) and "wrong-pass-7Yh" not in repr(storage)
    assert DAV_PASSWORD not in str(error.value)


def test_server_stopped_mid_upload_leaves_nothing_and_a_rerun_finishes(bearer_dav_server, tmp_path, no_webdav_credentials):
    big = tmp_path / "projections_comparison_1.png"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    server = bearer_dav_server
    with DroppingProxy(server.port, cut_after=2 * 1024 * 1024) as proxy:
        # The server dies once 2 MiB went up: the connection drops and the server is gone.
        killer = threading.Thread(target=lambda: proxy.cut.wait(30) and server.stop(), daemon=True)
        killer.start()
        broken = open_storage(f"dav://127.0.0.1:{proxy.port}/dcache/dimred", environ=server.credentials())
        with pytest.raises(StorageError) as error:
            upload_plot(broken, "alice", big, made(big, "f", 1, 1))
        killer.join(10)
    assert proxy.cut.is_set() and server.process is None
    assert "Cannot reach" in str(error.value) and "rerun" in str(error.value)
    assert DAV_TOKEN not in str(error.value)
    assert not (server.root / "dcache/dimred/alice").exists() or server.files("dcache/dimred/alice") == []
    # At most the broken PUT's partial file, in the upload area only.
    assert all(name.startswith(".incoming/") for name in server.files("dcache/dimred"))

    server.start()  # the rerun, once the server is back
    healthy = open_storage(server.url(), environ=server.credentials())
    check_storage(healthy)  # what a run does first; it sweeps only uploads older than an hour
    leftovers = [f"dcache/dimred/{name}" for name in server.files("dcache/dimred") if name.startswith(".incoming/")]
    assert sweep_incoming(healthy, older_than=0) == leftovers
    assert list_stored_plots(healthy, "alice", {1: "f"}) == {}
    upload_plot(healthy, "alice", big, made(big, "f", 1, 1))
    assert list_stored_plots(healthy, "alice", {1: "f"}).keys() == {1}
    assert (server.root / "dcache/dimred/alice" / object_name(file_sha256(big))).read_bytes() == big.read_bytes()
    assert server.files("dcache/dimred") == [f"alice/{object_name(file_sha256(big))}", f"alice/{record_name('f')}"]


def test_missing_collection_is_refused_unless_create_bucket(dav_server):
    url = dav_server.url("dcache/absent")
    storage = open_storage(url, environ=dav_server.credentials())
    with pytest.raises(StorageError, match=r"dcache/absent.*does not exist.*create_bucket: true") as error:
        check_storage(storage)
    assert "\n" not in str(error.value)
    assert not (dav_server.root / "dcache/absent").exists()
    check_storage(storage, create_bucket=True)
    assert (dav_server.root / "dcache/absent").is_dir()


def test_sweep_removes_only_our_temporary_uploads(bearer_dav_server, no_webdav_credentials):
    incoming = bearer_dav_server.root / "dcache/dimred/.incoming"
    (incoming / "kept-folder").mkdir(parents=True)
    ours = f"{'0123456789abcdef' * 2}-projections_comparison_1.png"
    for name in (ours, "notes.txt", "kept-folder/0123456789abcdef0123456789abcdef-x.png", "0123-too-short.png"):
        (incoming / name).write_bytes(b"bytes")
    storage = open_storage(bearer_dav_server.url(), environ=bearer_dav_server.credentials())
    assert sweep_incoming(storage, older_than=0) == [f"dcache/dimred/.incoming/{ours}"]
    assert bearer_dav_server.files("dcache/dimred/.incoming") == [
        "0123-too-short.png", "kept-folder/0123456789abcdef0123456789abcdef-x.png", "notes.txt"
    ]


def test_unreachable_server_names_the_fix(no_webdav_credentials):
    from s3_fixture import free_port

    storage = open_storage(f"dav://127.0.0.1:{free_port()}/x", environ={"BEARER_TOKEN": "t0k3n-unreach"})
    with pytest.raises(StorageError, match=r"Cannot reach .*storage\.url.*rerun") as error:
        check_storage(storage)
    assert "t0k3n-unreach" not in str(error.value)


def test_davs_is_https_and_checks_the_certificate(https_dav_server, plot, tmp_path, no_webdav_credentials, monkeypatch):
    server = https_dav_server
    url = server.url()
    assert url.startswith("davs://")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(StorageError, match=r"certificate .* not trusted.*SSL_CERT_FILE") as error:
        check_storage(open_storage(url, environ=server.credentials()))
    assert DAV_TOKEN not in str(error.value)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.tls[0]))
    storage = open_storage(url, environ=server.credentials())
    check_storage(storage)
    record = upload_plot(storage, "alice", plot, made(plot, "f", 1, 1))
    download_plot(storage, "alice", tmp_path / "back.png", record)
    assert (tmp_path / "back.png").read_bytes() == plot.read_bytes()


# WLCG Bearer Token Discovery, in its order.

def test_token_from_the_variable_first(tmp_path):
    token_file = tmp_path / "tok"
    token_file.write_text("from-file\n")
    environ = {"BEARER_TOKEN": " from-variable\n", "BEARER_TOKEN_FILE": str(token_file)}
    assert discover_bearer_token(environ, uid=1000, tmp_dir=str(tmp_path)) == ("from-variable", "BEARER_TOKEN")


def test_token_from_the_named_file_then_xdg_then_tmp(tmp_path):
    token_file, xdg, tmp = tmp_path / "tok", tmp_path / "xdg", tmp_path / "tmp"
    xdg.mkdir(), tmp.mkdir()
    token_file.write_text("from-file\n")
    (xdg / "bt_u1000").write_text("from-xdg\n")
    (tmp / "bt_u1000").write_text("from-tmp\n")
    environ = {"BEARER_TOKEN_FILE": str(token_file), "XDG_RUNTIME_DIR": str(xdg)}
    assert discover_bearer_token(environ, uid=1000, tmp_dir=str(tmp))[0] == "from-file"
    del environ["BEARER_TOKEN_FILE"]
    assert discover_bearer_token(environ, uid=1000, tmp_dir=str(tmp))[0] == "from-xdg"
    (xdg / "bt_u1000").unlink()
    assert discover_bearer_token(environ, uid=1000, tmp_dir=str(tmp))[0] == "from-tmp"


def test_no_token_anywhere_names_every_place_and_oidc_token(tmp_path):
    with pytest.raises(StorageError) as error:
        discover_bearer_token({}, uid=1000, tmp_dir=str(tmp_path))
    message = str(error.value)
    for expected in ("BEARER_TOKEN", "BEARER_TOKEN_FILE", "bt_u1000", "WEBDAV_USERNAME", "oidc-token"):
        assert expected in message


def test_unreadable_or_empty_token_file(tmp_path):
    with pytest.raises(StorageError, match="Cannot read the bearer token file"):
        discover_bearer_token({"BEARER_TOKEN_FILE": str(tmp_path / "missing")}, uid=1)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(StorageError, match="holds no single token"):
        discover_bearer_token({"BEARER_TOKEN_FILE": str(tmp_path / "empty")}, uid=1)


def test_basic_auth_wins_and_must_be_complete(tmp_path):
    _, who = webdav_auth({"WEBDAV_USERNAME": "u", "WEBDAV_PASSWORD": "p", "BEARER_TOKEN": "t"})
    assert who == "user u"
    with pytest.raises(StorageError, match="WEBDAV_PASSWORD is not set"):
        webdav_auth({"WEBDAV_USERNAME": "u"})


@pytest.mark.parametrize(
    "url, expected",
    [
        ("davs://dcache.example.org:2880/pnfs/punch/alice/", ("https://dcache.example.org:2880", "pnfs/punch/alice")),
        ("dav://127.0.0.1:8080/x", ("http://127.0.0.1:8080", "x")),
        ("davs://dcache.example.org", ("https://dcache.example.org", "")),
    ],
)
def test_dav_maps_to_http_and_davs_to_https(url, expected):
    assert split_webdav_url(url) == expected


def test_credentials_in_the_url_are_refused():
    with pytest.raises(StorageError, match="environment") as error:
        split_webdav_url("davs://me:hunter2@dcache.example.org/x")
    assert "hunter2" not in str(error.value)

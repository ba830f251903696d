"""Staging against a local directory and against the real S3 server on loopback."""

import json
import threading
from pathlib import Path

import pytest

from dimred_flow.storage import (
    StorageError,
    check_storage,
    check_stored_copy,
    credentials_from_environment,
    list_stored_plots,
    move_into_place,
    open_storage,
    record_name,
    upload_file,
    upload_plot,
)
from s3_fixture import ACCESS_KEY
from storage_checks import assert_plot_round_trip, assert_tampered_plot_is_refused_and_the_fix_works, made


@pytest.fixture
def plot(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"\x89PNG fake but bytes are bytes" * 100)
    return path


def test_round_trip_and_inventory(storage, plot, tmp_path):
    assert_plot_round_trip(storage, plot, tmp_path)


def test_users_never_touch_each_others_objects(storage, plot):
    upload_plot(storage, "alice", plot, made(plot, "a", 1, 1))
    upload_plot(storage, "bob", plot, made(plot, "b", 1, 1))
    assert list_stored_plots(storage, "alice", {1: "a"}).keys() == {1}
    assert list_stored_plots(storage, "bob", {1: "b"}).keys() == {1}
    assert json.loads(storage.fs.cat_file(storage.key("alice", record_name("a"))))["fingerprint"] == "a"


def test_tampered_plot_is_refused_and_following_the_message_repairs_it(storage, plot, tmp_path):
    assert_tampered_plot_is_refused_and_the_fix_works(storage, plot, tmp_path)


def test_wrong_secret_is_reported_without_revealing_it(s3_server, clean_environment):
    storage = open_storage("s3://plots", s3_server.endpoint_url, environ={"access_key": ACCESS_KEY, "secret_key": "sEcReT-wrong-123"})
    with pytest.raises(StorageError) as error:
        check_storage(storage)
    assert "rejected the credentials" in str(error.value)
    assert "sEcReT-wrong-123" not in str(error.value)


def test_missing_bucket_fails_or_is_created(s3_server, clean_environment, plot):
    storage = open_storage("s3://newbucket/x", s3_server.endpoint_url, environ=s3_server.credentials())
    with pytest.raises(StorageError, match="create_bucket"):
        check_storage(storage)
    assert not (s3_server.root / "newbucket").exists()
    # A program called without the check must not create the bucket either (s3fs's makedirs would).
    with pytest.raises(StorageError, match=r"newbucket.*create_bucket"):
        upload_file(storage, "alice", plot, "file.bin")
    assert not (s3_server.root / "newbucket").exists()
    check_storage(storage, create_bucket=True)
    assert (s3_server.root / "newbucket").is_dir()


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3:////", "s3:///"])
def test_s3_url_without_a_bucket_is_refused_before_anything_is_reached(url):
    with pytest.raises(StorageError) as error:
        open_storage(url, "http://127.0.0.1:9", environ={"access_key": "k", "secret_key": "s"})
    message = str(error.value)
    assert repr(url) in message and "s3://bucket/prefix" in message and "\n" not in message


def test_s3_url_without_a_bucket_creates_nothing_on_the_server(s3_server, clean_environment):
    with pytest.raises(StorageError, match="names no bucket"):
        open_storage("s3:///prefix", s3_server.endpoint_url, environ=s3_server.credentials())
    assert sorted(path.name for path in s3_server.root.iterdir()) == ["plots"]


def test_unreachable_endpoint_names_the_fix(clean_environment):
    from s3_fixture import free_port

    storage = open_storage("s3://plots", f"http://127.0.0.1:{free_port()}", environ={"access_key": "k" * 16, "secret_key": "s" * 16})
    with pytest.raises(StorageError, match=r"Cannot reach .* storage\.endpoint_url"):
        check_storage(storage)


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, "No S3 credentials"),
        ({"access_key": "k"}, "secret_key is not set"),
        ({"AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID is not set"),
    ],
)
def test_missing_credentials_name_the_variable(environ, expected):
    with pytest.raises(StorageError, match=expected):
        credentials_from_environment(environ)


def test_reana_style_credentials_win_over_aws_ones():
    environ = {"access_key": "a", "secret_key": "b", "AWS_ACCESS_KEY_ID": "c", "AWS_SECRET_ACCESS_KEY": "d"}
    assert credentials_from_environment(environ) == ("a", "b")


def test_local_storage_is_created(tmp_path):
    storage = open_storage(str(tmp_path / "new" / "dir"))
    check_storage(storage)
    assert Path(storage.root).is_dir()


def test_a_key_missing_for_an_instant_is_checked_again_not_reported_gone(storage, plot):
    """A WebDAV MOVE that overwrites removes the old copy before moving the new one in: a run checking
    the same key then finds it gone for an instant (two runs storing the same plot, CI saw it)."""
    receipt = upload_file(storage, "alice", plot, "objects/same.png")
    storage.fs.rm_file(receipt["key"])
    restore = threading.Timer(0.3, storage.fs.put_file, (str(plot), receipt["key"]))
    restore.start()
    try:
        info, matches = check_stored_copy(storage, receipt["key"], plot, dict(receipt))
    finally:
        restore.join()
    assert (info["size"], matches) == (plot.stat().st_size, True)


def test_an_upload_missing_for_an_instant_is_moved_once_it_shows(storage, plot):
    """rclone's S3 server answered "not found" for a run's own temporary upload while another run stored
    the same key (CI saw it): the move into place is tried again before that counts."""
    temporary, key = storage.key("alice", ".incoming/late.png"), storage.key("alice", "objects/late.png")
    storage.fs.makedirs(temporary.rsplit("/", 1)[0], exist_ok=True)
    appear = threading.Timer(0.3, storage.fs.put_file, (str(plot), temporary))
    appear.start()
    try:
        move_into_place(storage, temporary, key)
    finally:
        appear.join()
    assert storage.fs.cat_file(key) == plot.read_bytes()
    assert not storage.fs.exists(temporary)


def test_an_upload_lost_for_good_asks_for_a_rerun(storage, monkeypatch):
    monkeypatch.setattr("dimred_flow.storage.VANISHED_KEY_RETRY_DELAYS_S", (0.01,))
    with pytest.raises(StorageError, match=r"lost the upload of .*rerun"):
        move_into_place(storage, storage.key("alice", ".incoming/never.png"), storage.key("alice", "objects/x.png"))

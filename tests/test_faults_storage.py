"""Storage faults against the real S3 server: nothing partial is ever visible, a rerun resumes."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import (
    StorageError,
    check_storage,
    list_stored_plots,
    object_name,
    open_storage,
    upload_plot,
)
from fault_proxy import DroppingProxy, SilentServer
from s3_fixture import ACCESS_KEY, SECRET_KEY, running_s3_server
from storage_checks import made
from webdav_fixture import running_dav_server

S3_KEYS = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}


@pytest.fixture
def big_plot(tmp_path):
    path = tmp_path / "projections_comparison_1.png"
    path.write_bytes(os.urandom(6 * 1024 * 1024))
    return path


def test_connection_dropped_mid_upload_leaves_no_object_and_a_retry_completes(s3_server, big_plot, clean_environment):
    with DroppingProxy(s3_server.port, cut_after=2 * 1024 * 1024) as proxy:
        broken = open_storage("s3://plots/p", proxy.endpoint_url, environ=s3_server.credentials())
        with pytest.raises(StorageError) as error:
            upload_plot(broken, "alice", big_plot, made(big_plot, "f", 1, 1))
        assert proxy.cut.is_set()
    assert "rerun" in str(error.value)
    assert [name for name in s3_server.objects("plots") if name.startswith("p/alice/")] == []

    healthy = open_storage("s3://plots/p", s3_server.endpoint_url, environ=s3_server.credentials())
    assert list_stored_plots(healthy, "alice", {1: "f"}) == {}
    upload_plot(healthy, "alice", big_plot, made(big_plot, "f", 1, 1))
    assert list_stored_plots(healthy, "alice", {1: "f"}).keys() == {1}
    assert (s3_server.root / "plots/p/alice" / object_name(file_sha256(big_plot))).read_bytes() == big_plot.read_bytes()


def test_server_stopped_before_upload_gives_a_clear_error(s3_server, big_plot, clean_environment):
    storage = open_storage("s3://plots/p", s3_server.endpoint_url, environ=s3_server.credentials())
    s3_server.stop()
    with pytest.raises(StorageError, match=r"Cannot reach .*rerun"):
        upload_plot(storage, "alice", big_plot, made(big_plot, "f", 1, 1))


def finishes_within(seconds: float, call) -> Exception | None:
    """Run `call` in a thread; fail unless it returns or raises within `seconds` (what it raised, if anything)."""
    outcome: list = []

    def target():
        try:
            call()
            outcome.append(None)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: a fault must end in bounded time"
    return outcome[0]


@contextlib.contextmanager
def read_only_storages(tmp_path_factory):
    """S3 keys and a WebDAV token and account that may read but not write, on the real test servers."""
    with contextlib.ExitStack() as stack:
        s3 = stack.enter_context(running_s3_server(tmp_path_factory, read_only=True))
        bearer = stack.enter_context(running_dav_server(tmp_path_factory, "bearer", read_only=True))
        basic = stack.enter_context(running_dav_server(tmp_path_factory, "basic", read_only=True))
        yield {
            "S3": open_storage("s3://plots/p", s3.endpoint_url, environ=s3.credentials()),
            "WebDAV bearer": open_storage(bearer.url(), environ=bearer.credentials()),
            "WebDAV basic": open_storage(basic.url(), environ=basic.credentials()),
        }


def test_read_only_credentials_stop_at_the_storage_check_and_a_refused_write_never_hangs(
    tmp_path_factory, big_plot, clean_environment
):
    """Issue 31, fault 1: the check before compute writes a probe, so read-only keys stop the run there;
    an upload refused later (rights revoked mid-run) ends with one line within seconds, not never."""
    with read_only_storages(tmp_path_factory) as storages:
        for name, storage in storages.items():
            error = finishes_within(30, lambda storage=storage: check_storage(storage))
            assert isinstance(error, StorageError), (name, error)
            assert "refused to store a small probe object" in str(error) and "\n" not in str(error), (name, error)
            error = finishes_within(
                30, lambda storage=storage: upload_plot(storage, "alice", big_plot, made(big_plot, "f"))
            )
            assert isinstance(error, StorageError) and "\n" not in str(error), (name, error)


@pytest.mark.parametrize("backend", ["s3", "webdav"])
def test_a_server_that_never_answers_ends_in_bounded_time(backend, clean_environment, no_webdav_credentials):
    """Connections accepted, nothing ever answered: each wait is bounded by storage.timeout (here 2 s)."""
    with SilentServer() as silent:
        if backend == "s3":
            storage = open_storage("s3://plots/p", silent.endpoint_url, environ=S3_KEYS, timeout=2)
        else:
            storage = open_storage(f"dav://127.0.0.1:{silent.port}/dcache", environ={"BEARER_TOKEN": "t"}, timeout=2)
        error = finishes_within(40, lambda: check_storage(storage))
        assert silent.connections >= 1
    assert isinstance(error, StorageError) and str(error).startswith("Cannot reach"), error
    assert "rerun" in str(error)


def test_a_bucket_or_folder_that_vanishes_mid_run_ends_in_one_line_and_is_not_recreated(
    s3_server, bearer_dav_server, big_plot, clean_environment, no_webdav_credentials
):
    s3 = open_storage("s3://plots/p", s3_server.endpoint_url, environ=s3_server.credentials())
    dav = open_storage(bearer_dav_server.url(), environ=bearer_dav_server.credentials())
    for storage in (s3, dav):
        check_storage(storage)
    # Through the S3 API, as an administrator would: rclone answers from its cache of the directory.
    s3.fs.rm("plots", recursive=True)
    shutil.rmtree(bearer_dav_server.root / "dcache" / "dimred")
    for storage, vanished in ((s3, s3_server.root / "plots"), (dav, bearer_dav_server.root / "dcache" / "dimred")):
        error = finishes_within(30, lambda storage=storage: upload_plot(storage, "alice", big_plot, made(big_plot, "f")))
        assert isinstance(error, StorageError) and "does not exist" in str(error), error
        assert "create_bucket" in str(error) and not vanished.exists()

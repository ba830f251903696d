"""Storage faults against the real S3 server: nothing partial is ever visible, a rerun resumes."""

from __future__ import annotations

import os

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import StorageError, list_stored_plots, object_name, open_storage, upload_plot
from fault_proxy import DroppingProxy
from storage_checks import made


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

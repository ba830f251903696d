"""The checks every storage backend must pass the same way (S3 in test_storage, WebDAV in test_storage_webdav)."""

from __future__ import annotations

from dimred_flow.storage import check_storage, download_plot, list_stored_plots, upload_plot


def assert_plot_round_trip(storage, plot, tmp_path) -> dict:
    """Upload a plot for alice, find it by fingerprint only (not for bob), download it unchanged: its record."""
    check_storage(storage)
    record = upload_plot(storage, "alice", 1, plot, {"fingerprint": "f1", "seed": 11, "iteration": 1})
    assert record["size"] == plot.stat().st_size
    assert list_stored_plots(storage, "alice", {1: "f1", 2: "f2"}).keys() == {1}
    assert list_stored_plots(storage, "alice", {1: "other"}) == {}
    assert list_stored_plots(storage, "bob", {1: "f1"}) == {}
    out = tmp_path / "back.png"
    download_plot(storage, "alice", 1, out, record)
    assert out.read_bytes() == plot.read_bytes()
    return record

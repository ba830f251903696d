"""The checks every storage backend must pass the same way (S3 in test_storage, WebDAV in test_storage_webdav)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import (
    StorageError,
    check_storage,
    download_plot,
    list_stored_plots,
    object_name,
    record_name,
    upload_plot,
)


def made(plot, fingerprint: str, iteration: int = 1, seed: int = 1) -> dict:
    """The record plot_projections writes beside a plot it made."""
    return {"fingerprint": fingerprint, "iteration": iteration, "seed": seed, "sha256": file_sha256(plot),
            "size": plot.stat().st_size}


def assert_plot_round_trip(storage, plot, tmp_path) -> dict:
    """Upload a plot for alice, find it by fingerprint only (not for bob), download it unchanged: its record."""
    check_storage(storage)
    record = upload_plot(storage, "alice", plot, made(plot, "f1", 1, 11))
    assert record["size"] == plot.stat().st_size
    assert list_stored_plots(storage, "alice", {1: "f1", 2: "f2"}).keys() == {1}
    assert list_stored_plots(storage, "alice", {1: "other"}) == {}
    assert list_stored_plots(storage, "bob", {1: "f1"}) == {}
    out = tmp_path / "back.png"
    download_plot(storage, "alice", out, record)
    assert out.read_bytes() == plot.read_bytes()
    return record


def assert_tampered_plot_is_refused_and_the_fix_works(storage, plot, tmp_path) -> None:
    """A stored plot whose bytes changed is never used; deleting the record the message names, as it
    says, makes it unlisted, and storing it again repairs it."""
    record = upload_plot(storage, "alice", plot, made(plot, "f"))
    storage.fs.pipe_file(storage.key("alice", object_name(record["sha256"])), b"tampered")
    out = tmp_path / "back.png"
    with pytest.raises(StorageError, match="checksum") as error:
        download_plot(storage, "alice", out, record)
    assert not out.exists() and not list(tmp_path.glob("*.partial*"))
    named = storage.key("alice", record_name("f"))
    assert f"Delete {named} from storage and rerun" in str(error.value)
    storage.fs.rm_file(named)
    assert list_stored_plots(storage, "alice", {1: "f"}) == {}
    upload_plot(storage, "alice", plot, made(plot, "f"))
    download_plot(storage, "alice", out, list_stored_plots(storage, "alice", {1: "f"})[1])
    assert out.read_bytes() == plot.read_bytes()


def assert_consistent_bundle(folder: Path) -> list[Path]:
    """What a user folder (on a server's disk) holds can be trusted: every record names bytes with its
    checksum, and every run's crate lists plots, metrics and a PDF that storage holds with the checksums
    it states. Returns the run folders."""
    objects = {path.stem: path for path in (folder / "objects").glob("*.png")}
    assert objects, f"no plots in {folder}"
    for sha256, path in objects.items():
        assert file_sha256(path) == sha256, path
    for path in (folder / "plots").glob("*.json"):
        record = json.loads(path.read_text())
        assert record["fingerprint"] == path.stem and record["sha256"] in objects, path
    stored_metrics = {file_sha256(path) for path in (folder / "stability").glob("*.json")}
    runs = sorted((folder / "runs").iterdir())
    for run in runs:
        crate = json.loads((run / "ro-crate-metadata.json").read_text())
        described = {entity["@id"]: entity["sha256"] for entity in crate["@graph"] if "sha256" in entity}
        plots = [sha256 for name, sha256 in described.items() if name.endswith(".png")]
        assert plots and all(sha256 in objects for sha256 in plots), run
        def described_as(suffix: str, described=described) -> str:
            return next(sha256 for name, sha256 in described.items() if name.endswith(suffix))

        assert described_as("stability.json") in stored_metrics, run
        assert described_as("merged_plots.pdf") == file_sha256(run / "merged_plots.pdf"), run
    return runs


def stored_bundle(folder: Path) -> dict:
    """What a user folder on a server's disk holds, once checked consistent: the iterations of its plot
    records, its metrics files and its run folders (each with a crate and a merged PDF)."""
    runs = assert_consistent_bundle(folder)
    records = [json.loads(path.read_text()) for path in (folder / "plots").glob("*.json")]
    return {
        "iterations": sorted(record["iteration"] for record in records),
        "stability": sorted((folder / "stability").glob("*.json")),
        "runs": runs,
    }

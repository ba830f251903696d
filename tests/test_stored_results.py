"""Results of several files in storage (the embedding catalogue): all files by checksum, then one record;
found only whole and under their own fingerprint; a tampered file is refused on download."""

from __future__ import annotations

import json

import pytest

from dimred_flow.storage import StorageError
from dimred_flow.stored_results import download_result, find_result, upload_result

FINGERPRINT = "c" * 64


@pytest.fixture
def files(tmp_path):
    made = {"fits": tmp_path / "catalogue.fits", "votable": tmp_path / "catalogue.vot"}
    made["fits"].write_bytes(b"SIMPLE  =" + bytes(range(256)))
    made["votable"].write_bytes(b"<VOTABLE/>")
    return made


def test_a_result_goes_up_whole_and_comes_back_verified(storage, files, tmp_path):
    upload_result(storage, "alice", "catalogues", FINGERPRINT, files)
    record = find_result(storage, "alice", "catalogues", FINGERPRINT)
    assert record["files"]["fits"]["object"].endswith(".fits") and record["files"]["votable"]["size"] == 10
    assert find_result(storage, "alice", "catalogues", "d" * 64) is None
    assert find_result(storage, "bob", "catalogues", FINGERPRINT) is None
    back = {"fits": tmp_path / "back.fits", "votable": tmp_path / "back.vot"}
    download_result(storage, "alice", record, back)
    assert all(back[name].read_bytes() == files[name].read_bytes() for name in files)


def test_a_record_whose_file_is_missing_or_another_results_is_no_result(storage, files):
    record = upload_result(storage, "alice", "catalogues", FINGERPRINT, files)
    storage.fs.rm(storage.key("alice", record["files"]["votable"]["object"]))
    assert find_result(storage, "alice", "catalogues", FINGERPRINT) is None
    upload_result(storage, "alice", "catalogues", FINGERPRINT, files)
    other = {**record, "fingerprint": "e" * 64}
    storage.fs.pipe_file(storage.key("alice", f"catalogues/{FINGERPRINT}.json"), json.dumps(other).encode())
    assert find_result(storage, "alice", "catalogues", FINGERPRINT) is None


def test_a_tampered_file_is_refused_naming_the_record_to_delete(storage, files, tmp_path):
    upload_result(storage, "alice", "catalogues", FINGERPRINT, files)
    record = find_result(storage, "alice", "catalogues", FINGERPRINT)
    storage.fs.pipe_file(storage.key("alice", record["files"]["fits"]["object"]), b"not the catalogue")
    destination = tmp_path / "back.fits"
    with pytest.raises(StorageError, match=rf"Delete .*catalogues/{FINGERPRINT}\.json from storage and rerun"):
        download_result(storage, "alice", record, {"fits": destination})
    assert not destination.exists()

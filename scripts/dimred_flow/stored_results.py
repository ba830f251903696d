"""Results of several files in storage: each file under its checksum, {user_folder}/objects/{sha256}{suffix},
and one record under the result's fingerprint, {user_folder}/{kind}/{fingerprint}.json, naming them all.

The record goes up last, once every file is stored and verified: a listing that finds a record finds
the whole result, and a result is reused only for exactly the fingerprint it was made under.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import Storage, download_file, storage_error, upload_file


def record_name(kind: str, fingerprint: str) -> str:
    return f"{kind}/{fingerprint}.json"


def object_name(sha256: str, suffix: str) -> str:
    return f"objects/{sha256}{suffix}"


def upload_result(storage: Storage, user_folder: str, kind: str, fingerprint: str, files: dict[str, Path]) -> dict:
    """Upload each of `files` (name -> local path) under its checksum, then the record naming them."""
    record = {"fingerprint": fingerprint, "files": {}}
    for name, path in files.items():
        sha256 = file_sha256(path)
        receipt = upload_file(storage, user_folder, path, object_name(sha256, Path(path).suffix))
        record["files"][name] = {"object": object_name(sha256, Path(path).suffix), "sha256": sha256,
                                 "size": receipt["size"]}
    with tempfile.TemporaryDirectory() as scratch:
        record_file = Path(scratch) / "record.json"
        record_file.write_text(json.dumps(record, indent=2, sort_keys=True))
        upload_file(storage, user_folder, record_file, record_name(kind, fingerprint))
    return record


def find_result(storage: Storage, user_folder: str, kind: str, fingerprint: str) -> dict | None:
    """The stored record of `fingerprint` when it and every file it names are there, else None."""
    key = storage.key(user_folder, record_name(kind, fingerprint))
    try:
        if not storage.fs.exists(key):
            return None
        record = json.loads(storage.fs.cat_file(key))
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
            return None  # unreadable or another result's: recompute and overwrite it
        if not all(storage.fs.exists(storage.key(user_folder, entry["object"])) for entry in record["files"].values()):
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    except Exception as error:  # noqa: BLE001 - every backend failure becomes one clear message
        raise storage_error(storage, error, f"read {key}") from None
    return {**record, "key": key}


def download_result(storage: Storage, user_folder: str, record: dict, destinations: dict[str, Path]) -> None:
    """Download each file of a found result to its destination (name -> path), verified against the record."""
    for name, destination in destinations.items():
        entry = record["files"][name]
        download_file(storage, storage.key(user_folder, entry["object"]), Path(destination), entry["sha256"],
                      record["key"])

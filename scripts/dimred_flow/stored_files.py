"""Run-level files staged beside the plots: {root}/{user_folder}/stability.json and ro-crate-metadata.json.

stability.json carries its own fingerprint (plot fingerprints of every iteration plus the metric
settings), so a stored copy is reused only for exactly the same embeddings and settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dimred_flow.storage import (
    Storage,
    StorageError,
    _explain,
    _put_atomically,
    _verify,
    file_sha256,
    file_sha256_bytes,
)

STABILITY_NAME = "stability.json"


def find_stored_stability(storage: Storage, user_folder: str, fingerprint: str) -> dict | None:
    """The stored metrics' checksum and size when they match `fingerprint`, else None."""
    key = storage.key(user_folder, STABILITY_NAME)
    try:
        if not storage.fs.exists(key):
            return None
        data = storage.fs.cat_file(key)
    except Exception as error:  # noqa: BLE001 - every backend failure becomes one clear message
        raise _explain(storage, error, f"read {key}") from None
    try:
        stored_fingerprint = json.loads(data).get("fingerprint")
    except (ValueError, AttributeError):
        return None  # unreadable: recompute and overwrite it
    if stored_fingerprint != fingerprint:
        return None
    return {"key": key, "sha256": file_sha256_bytes(data), "size": len(data)}


def upload_file(storage: Storage, user_folder: str, local_path: Path, name: str) -> dict:
    """Upload one file under the user folder and verify it; return its key, checksum and size."""
    local_path = Path(local_path)
    key = storage.key(user_folder, name)
    receipt = {"key": key, "sha256": file_sha256(local_path), "size": local_path.stat().st_size}
    try:
        _put_atomically(storage, local_path, key)
        _verify(storage, key, receipt["size"], receipt["sha256"])
    except StorageError:
        raise
    except Exception as error:  # noqa: BLE001
        raise _explain(storage, error, f"upload {key}") from None
    return receipt


def download_file(storage: Storage, record: dict, destination: Path) -> None:
    """Download a stored file listed with its checksum and move it into place once verified."""
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".partial")
    try:
        storage.fs.get_file(record["key"], str(partial))
    except Exception as error:  # noqa: BLE001
        partial.unlink(missing_ok=True)
        raise _explain(storage, error, f"download {record['key']}") from None
    if file_sha256(partial) != record["sha256"]:
        partial.unlink()
        raise StorageError(
            f"{record['key']} changed in storage after it was listed; rerun to fetch or recompute it."
        )
    os.replace(partial, destination)

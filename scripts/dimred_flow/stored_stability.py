"""The stored seed-stability metrics, {root}/{user_folder}/stability/{fingerprint}.json, and whether they can be reused.

The metrics are stored under the fingerprint of the embeddings and settings they measure, and carry
it inside too: a stored copy is reused only for exactly the same embeddings and settings.
"""

from __future__ import annotations

import json

from dimred_flow.checksums import bytes_sha256
from dimred_flow.storage import Storage, storage_error


def stability_name(fingerprint: str) -> str:
    return f"stability/{fingerprint}.json"


def find_stored_stability(storage: Storage, user_folder: str, fingerprint: str) -> dict | None:
    """The stored metrics' checksum and size when they match `fingerprint`, else None."""
    key = storage.key(user_folder, stability_name(fingerprint))
    try:
        if not storage.fs.exists(key):
            return None
        data = storage.fs.cat_file(key)
    except Exception as error:  # noqa: BLE001 - every backend failure becomes one clear message
        raise storage_error(storage, error, f"read {key}") from None
    try:
        stored_fingerprint = json.loads(data).get("fingerprint")
    except (ValueError, AttributeError):
        return None  # unreadable: recompute and overwrite it
    if stored_fingerprint != fingerprint:
        return None
    return {"key": key, "sha256": bytes_sha256(data), "size": len(data)}

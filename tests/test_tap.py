"""Tests of dimred_flow.tap against a real DaCHS TAP server (fixtures in dachs_fixture.py)
and against tiny misbehaving servers on 127.0.0.1 (refused, hanging, HTTP 5xx)."""
from __future__ import annotations

import csv
import http.server
import re
import socket
import threading
import time
import urllib.request

import numpy as np
import pyarrow.parquet as pq
import pytest

from dachs_fixture import COLUMNS, CSV_PATH, N_ROWS, TABLE, assert_same_tables
from dimred_flow.chunks import chunk_conditions, render_chunk_query
from dimred_flow.errors import UserError
from dimred_flow.tables import TableError, concatenate_parquet, read_parquet, write_parquet
from dimred_flow.tap import TapError, fetch_table

FULL_QUERY = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY source_id"
CHUNK_QUERY = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {{chunk_condition}} ORDER BY source_id"
FAST = {"backoff": 0.05}


def _csv_null_counts() -> dict[str, int]:
    with open(CSV_PATH, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == N_ROWS
    return {c: sum(1 for r in rows if r[c] == "") for c in COLUMNS}


# --------------------------------------------------------------------------- pure unit tests


def test_tap_errors_are_user_errors():
    assert issubclass(TapError, UserError)


@pytest.mark.parametrize("kwargs", [{"mode": "fast"}, {"on_overflow": "ignore"}, {"maxrec": 0}, {"timeout": 0}])
def test_fetch_rejects_bad_arguments(kwargs):
    args = {"maxrec": 10}
    args.update(kwargs)
    with pytest.raises(TapError):
        fetch_table("http://127.0.0.1:1/tap", "SELECT 1", **args)


# --------------------------------------------------------------------------- against DaCHS


def test_sync_fetch(dachs_tap_url):
    table, prov = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, mode="sync")
    assert len(table) == N_ROWS
    assert table.colnames == COLUMNS
    assert prov["mode"] == "sync" and prov["row_count"] == N_ROWS and prov["attempts"] == 1
    assert prov["overflow"] is False and prov["truncated_warning"] is None
    assert prov["service_url"] == dachs_tap_url and prov["query"] == FULL_QUERY and prov["maxrec"] == 5000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prov["fetched_at"])
    cols = {c["name"]: c for c in prov["columns"]}
    assert list(cols) == COLUMNS
    assert cols["xgal"]["unit"] == "kpc" and cols["parallax"]["unit"] == "mas"
    assert cols["ra"]["ucd"] == "pos.eq.ra;meta.main" and cols["source_id"]["datatype"] == "long"
    assert cols["mg0"]["description"]
    assert str(table["pmra"].unit) == "mas / yr"
    # NULLs stay masked, as many as empty fields in the imported CSV
    nulls = _csv_null_counts()
    for c in COLUMNS:
        assert int(np.ma.getmaskarray(table[c]).sum()) == nulls[c], c
    assert nulls["xgal"] > 0 and nulls["bprp0"] > 0
    assert (np.diff(np.asarray(table["source_id"])) > 0).all()


def test_async_fetch_matches_sync(dachs_tap_url):
    sync, _ = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, mode="sync")
    asyn, prov = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, mode="async")
    assert prov["mode"] == "async" and prov["row_count"] == N_ROWS
    assert_same_tables(sync, asyn)
    # auto: no maxrec -> async; small maxrec -> sync
    _, p_auto = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=None)
    assert p_auto["mode"] == "async" and p_auto["overflow"] is False
    _, p_auto2 = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, async_threshold=20000)
    assert p_auto2["mode"] == "sync"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_overflow_fails_with_counts(dachs_tap_url, mode):
    with pytest.raises(TapError) as ei:
        fetch_table(dachs_tap_url, FULL_QUERY, maxrec=100, mode=mode)
    msg = str(ei.value)
    assert "100 rows" in msg and "maxrec=100" in msg and "source.tap.maxrec" in msg
    assert "OVERFLOW" in msg and "Traceback" not in msg


def test_overflow_warn_returns_truncated_table(dachs_tap_url):
    table, prov = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=100, mode="sync", on_overflow="warn")
    assert len(table) == 100
    assert prov["overflow"] is True and prov["row_count"] == 100
    assert "100 rows" in prov["truncated_warning"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_adql_error_carries_service_message_and_query(dachs_tap_url, mode):
    bad = f"SELECT no_such_column FROM {TABLE}"
    t0 = time.monotonic()
    with pytest.raises(TapError) as ei:
        fetch_table(dachs_tap_url, bad, maxrec=10, mode=mode, backoff=5)
    assert time.monotonic() - t0 < 5, "an ADQL error must not be retried"
    msg = str(ei.value)
    assert "could not be located" in msg          # DaCHS's own words
    assert "no_such_column" in msg and bad in msg  # the offending query
    assert "source.tap.query" in msg


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_empty_result_is_an_error(dachs_tap_url, mode):
    q = f"SELECT source_id FROM {TABLE} WHERE parallax > 1000"
    with pytest.raises(TapError, match="query returned no rows") as ei:
        fetch_table(dachs_tap_url, q, maxrec=10, mode=mode)
    assert q in str(ei.value)
    table, prov = fetch_table(dachs_tap_url, q, maxrec=10, mode=mode, allow_empty=True)
    assert len(table) == 0 and prov["row_count"] == 0


def test_chunked_fetch_equals_single_fetch(dachs_tap_url, tmp_path):
    full, _ = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, mode="sync")
    conds = chunk_conditions("random_index", [0, 250, 500, 750, N_ROWS - 1])
    paths = []
    for i, cond in enumerate(conds):
        t, prov = fetch_table(dachs_tap_url, render_chunk_query(CHUNK_QUERY, cond), maxrec=5000, mode="sync")
        assert 0 < prov["row_count"] < N_ROWS
        p = tmp_path / f"chunk_{i}.parquet"
        write_parquet(t, p)
        paths.append(p)
    out = tmp_path / "all.parquet"
    concatenate_parquet(paths, out)
    merged = read_parquet(out)
    merged.sort("source_id")
    assert_same_tables(full, merged)
    assert merged["xgal"].meta.get("ucd") == "pos.cartesian.x;pos.galactocentric"


def test_parquet_round_trip_keeps_units_and_nulls(dachs_tap_url, tmp_path):
    table, _ = fetch_table(dachs_tap_url, FULL_QUERY, maxrec=5000, mode="sync")
    path = tmp_path / "sub" / "t.parquet"
    write_parquet(table, path)
    assert path.exists() and not list(path.parent.glob("*.partial*"))  # atomic: no temp file left
    raw = pq.read_table(path)
    nulls = _csv_null_counts()
    for c in ("xgal", "ygal", "zgal", "bprp0", "mg0"):
        assert raw.column(c).null_count == nulls[c] > 0, c      # real Parquet nulls ...
        vals = raw.column(c).drop_null().to_numpy()
        assert np.isfinite(vals).all(), c                        # ... not NaN fill values
    assert raw.schema.field("xgal").metadata[b"unit"] == b"kpc"
    back = read_parquet(path)
    assert_same_tables(table, back)
    assert str(back["pmra"].unit) == "mas / yr" and back["source_id"].dtype == np.int64
    assert back["mg0"].description == table["mg0"].description
    # masked values come back masked, not as zeros
    assert int(np.ma.getmaskarray(back["mg0"]).sum()) == nulls["mg0"]


def test_concatenate_rejects_different_columns(dachs_tap_url, tmp_path):
    a, _ = fetch_table(dachs_tap_url, f"SELECT TOP 5 source_id, ra FROM {TABLE}", maxrec=10, mode="sync")
    b, _ = fetch_table(dachs_tap_url, f"SELECT TOP 5 source_id, dec FROM {TABLE}", maxrec=10, mode="sync")
    write_parquet(a, tmp_path / "a.parquet")
    write_parquet(b, tmp_path / "b.parquet")
    with pytest.raises(TableError, match="differ"):
        concatenate_parquet([tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()


def test_server_stopped_then_restarted(dachs):
    q = f"SELECT TOP 3 source_id FROM {TABLE}"
    dachs.stop()
    with pytest.raises(TapError, match="refused"):
        fetch_table(dachs.url, q, maxrec=10, mode="sync", retries=1, **FAST)
    dachs.start()
    table, _ = fetch_table(dachs.url, q, maxrec=10, mode="sync")
    assert len(table) == 3


# --------------------------------------------------------------------------- misbehaving servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_connection_refused_is_retried_then_clear_error(mode):
    url = f"http://127.0.0.1:{_free_port()}/tap"
    t0 = time.monotonic()
    with pytest.raises(TapError) as ei:
        fetch_table(url, "SELECT 1 FROM x", maxrec=10, mode=mode, retries=2, backoff=0.05)
    assert time.monotonic() - t0 < 5
    msg = str(ei.value)
    assert url in msg and "3 times" in msg and "refused" in msg
    assert "source.tap.timeout" in msg and "source.tap.retries" in msg and "Traceback" not in msg


@pytest.fixture
def hanging_server():
    """Accepts connections and never answers (until the test ends)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    conns, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                conns.append(c)
            except OSError:
                pass

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/tap", conns
    stop.set()
    th.join(2)
    for c in conns:
        c.close()
    srv.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_hanging_server_ends_at_timeout(hanging_server, mode):
    url, conns = hanging_server
    t0 = time.monotonic()
    with pytest.raises(TapError) as ei:
        fetch_table(url, "SELECT 1 FROM x", maxrec=10, mode=mode, timeout=2, retries=3, backoff=0.05)
    elapsed = time.monotonic() - t0
    assert 1.8 <= elapsed < 6, elapsed
    assert len(conns) >= 1
    msg = str(ei.value)
    assert url in msg and "did not answer within 2 s" in msg and "source.tap.timeout" in msg


class _Handler(http.server.BaseHTTPRequestHandler):
    """HTTP 5xx for the first `fail` requests, then proxy to `upstream` (if set)."""
    fail = 10 ** 9
    upstream = None
    count = 0

    def _handle(self):
        cls = type(self)
        cls.count += 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if cls.count <= cls.fail or cls.upstream is None:
            payload = b"Internal Server Error: the database is on fire"
            self.send_response(500 if cls.count % 2 else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        req = urllib.request.Request(cls.upstream.rstrip("/").rsplit("/tap", 1)[0] + self.path,
                                     data=body if self.command == "POST" else None, method=self.command,
                                     headers={"Content-Type": self.headers.get("Content-Type", "")})
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            self.send_response(r.status)
            self.send_header("Content-Type", r.headers.get("Content-Type", "text/xml"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = _handle

    def log_message(self, *a):
        pass


@pytest.fixture
def flaky_server():
    def make(fail: int, upstream: str | None = None):
        handler = type("H", (_Handler,), {"fail": fail, "upstream": upstream, "count": 0})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/tap", handler

    servers: list = []
    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_5xx_is_retried_then_clear_error(flaky_server, mode):
    url, handler = flaky_server(fail=10 ** 9)
    with pytest.raises(TapError) as ei:
        fetch_table(url, "SELECT 1 FROM x", maxrec=10, mode=mode, retries=2, backoff=0.05)
    assert handler.count == 3  # first attempt + 2 retries
    msg = str(ei.value)
    assert url in msg and "3 times" in msg and "HTTP 50" in msg and "retries exhausted" in msg


def test_transient_5xx_then_success(flaky_server, dachs_tap_url):
    url, handler = flaky_server(fail=2, upstream=dachs_tap_url)
    table, prov = fetch_table(url, FULL_QUERY, maxrec=5000, mode="sync", retries=3, backoff=0.05)
    assert len(table) == N_ROWS and prov["attempts"] == 3 and handler.count == 3

"""Fetch tables from a TAP service (sync or async) with retries and overflow checks.

Public API (used by the workflow's fetch rules; the Parquet I/O is in dimred_flow.tables, the
chunks' conditions in dimred_flow.chunks):

    fetch_table(url, query, maxrec=..., mode="auto", ...) -> (astropy Table, provenance dict)
    fetch_chunk(url, query, condition, ...) -> fetch_table for one chunk (may be empty)
    combine_chunk_provenance(chunks) -> provenance of the concatenated table

Every failure surfaces as :class:`TapError` with one readable message (what failed,
where, and the config key that fixes it); no stack traces in messages.

Timeout semantics: ``timeout`` bounds the *whole* fetch (all attempts, async
waiting included). Each HTTP request gets at most the time that is left; a
service that accepts connections but never answers ends with TapError when
``timeout`` has passed. ``retries`` is the number of re-tries after the first
attempt (so at most ``retries + 1`` attempts), with exponential backoff
``backoff * 2**(n-1)`` seconds between them, never sleeping past the deadline.
"""
from __future__ import annotations

import contextlib
import re
import socket
import time
import warnings

import requests

from dimred_flow.chunks import render_chunk_query
from dimred_flow.clock import utc_now
from dimred_flow.errors import UserError

__all__ = [
    "TapError",
    "combine_chunk_provenance",
    "fetch_chunk",
    "fetch_table",
]

# connect phase of a request never waits longer than this (the read phase may
# use all the remaining time), so an unreachable host is retried within the deadline
_CONNECT_TIMEOUT_CAP = 10.0

# words in a UWS error summary / DALQueryError that mark a transient, server-side problem
_TRANSIENT_WORDS = re.compile(
    r"temporar|unavailable|overload|too many|try again|retry|timed? ?out|timeout|"
    r"connection (?:reset|refused|closed|aborted)|server (?:busy|shutting)|"
    r"out of memory|cannot allocate|deadlock|canceling statement|could not connect",
    re.IGNORECASE,
)


class TapError(UserError):
    """One readable message naming the problem and the fix; never a traceback dump."""


class _Transient(Exception):
    """Internal: an attempt failed for a reason worth retrying."""

    def __init__(self, what: str, *, is_timeout: bool = False):
        super().__init__(what)
        self.what = what
        self.is_timeout = is_timeout


class _Permanent(Exception):
    """Internal: an attempt failed for a reason that retrying will not fix."""


class _DeadlineSession(requests.Session):
    """requests session that applies the time left before ``deadline`` to every request.

    pyvo passes its own ``session``'s requests through here, so sync queries, job
    submission, polling, result download and job deletion are all bounded.
    """

    def __init__(self) -> None:
        super().__init__()
        self.deadline: float | None = None
        # Cosmetic only: pyvo's user agent, in the pyvo versions that have one.
        with contextlib.suppress(ImportError):
            from pyvo.utils.http import USER_AGENT  # type: ignore

            self.headers["User-Agent"] = "dimred-flow " + USER_AGENT

    def remaining(self) -> float:
        if self.deadline is None:
            return float("inf")
        return self.deadline - time.monotonic()

    def request(self, method, url, **kwargs):  # type: ignore[override]
        left = self.remaining()
        if left <= 0:
            raise requests.exceptions.ReadTimeout(f"deadline reached before {method} {url}")
        asked = kwargs.get("timeout")
        read = left
        if isinstance(asked, (int, float)) and asked > 0:
            read = min(read, float(asked))
        elif isinstance(asked, tuple) and len(asked) == 2 and asked[1]:
            read = min(read, float(asked[1]))
        kwargs["timeout"] = (min(_CONNECT_TIMEOUT_CAP, read), read)
        return super().request(method, url, **kwargs)


# --------------------------------------------------------------------------- helpers


def _one_line(text: object, limit: int = 600) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _cause_chain(exc: BaseException) -> list[BaseException]:
    """exc plus everything it wraps (pyvo .cause, __cause__, __context__, requests args)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        for nxt in (getattr(e, "cause", None), e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        for a in getattr(e, "args", ()):
            if isinstance(a, BaseException):
                todo.append(a)
        reason = getattr(e, "reason", None)  # urllib3 MaxRetryError.reason
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def _classify(exc: BaseException) -> Exception:
    """Turn an exception from pyvo/requests into _Transient or _Permanent."""
    import urllib3.exceptions as u3
    from pyvo.dal.exceptions import DALFormatError, DALQueryError, DALServiceError

    if isinstance(exc, (_Transient, _Permanent)):
        return exc
    chain = _cause_chain(exc)

    # connection-level failures -> transient (checked first: urllib3's NewConnectionError
    # subclasses ConnectTimeoutError although it means "refused"/"unreachable")
    if any(isinstance(e, (ConnectionRefusedError, u3.NewConnectionError)) for e in chain):
        refused = any(isinstance(e, ConnectionRefusedError) for e in chain) or \
            any("refused" in str(e).lower() for e in chain)
        return _Transient("connection refused (nothing listens there?)" if refused
                          else "could not connect (host unreachable or unknown?)")
    # timeouts (read or connect) -> transient, flagged so the deadline logic can report them
    for e in chain:
        if isinstance(e, (requests.exceptions.Timeout, u3.TimeoutError, socket.timeout, TimeoutError)):
            return _Transient("no answer in time (timeout)", is_timeout=True)
    for e in chain:
        if isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                          u3.ProtocolError, ConnectionError)):
            return _Transient(f"connection failed ({type(e).__name__}: {_one_line(e, 160)})")

    if isinstance(exc, DALQueryError):
        msg = _one_line(exc.reason or exc)
        if _TRANSIENT_WORDS.search(msg):
            return _Transient(f"service reported a transient error: {msg}")
        return _Permanent(msg)

    if isinstance(exc, DALServiceError):
        code = exc.code or 0
        msg = _one_line(exc.reason or exc)
        if code >= 500 or code in (408, 429):
            return _Transient(f"HTTP {code} from the service ({msg})")
        if code:
            return _Permanent(f"HTTP {code} from the service: {msg}")
        return _Transient(f"service error: {msg}")

    if isinstance(exc, DALFormatError):
        return _Permanent(
            "the service's answer is not a valid VOTable "
            f"({_one_line(exc.reason or exc, 200)}); is the URL a TAP service base URL (ending e.g. in /tap)?"
        )
    return _Permanent(f"{type(exc).__name__}: {_one_line(exc)}")


def _column_provenance(result) -> list[dict]:
    cols = []
    for f in result.fielddescs:
        unit = getattr(f, "unit", None)
        cols.append({
            "name": f.name,
            "unit": None if unit is None else str(unit),
            "ucd": getattr(f, "ucd", None),
            "datatype": getattr(f, "datatype", None),
            "description": getattr(f, "description", None),
        })
    return cols


def _run_sync(service, query: str, maxrec: int | None):
    kwargs = {} if maxrec is None else {"maxrec": maxrec}
    return service.run_sync(query, **kwargs)


def _run_async(service, session: _DeadlineSession, query: str, maxrec: int | None):
    kwargs = {} if maxrec is None else {"maxrec": maxrec}
    job = service.submit_job(query, **kwargs)
    try:
        job.run()
        interval = 0.2
        while True:
            phase = job.phase  # one GET of the job (bounded by the session deadline)
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                break
            if phase not in ("PENDING", "QUEUED", "EXECUTING", "RUN", "UNKNOWN", "HELD", "SUSPENDED"):
                raise _Transient(f"async job {job.url} in unexpected phase {phase}")
            left = session.remaining()
            if left <= 0:
                raise _Transient(f"async job still {phase} when the timeout was reached", is_timeout=True)
            time.sleep(min(interval, max(left, 0.01)))
            interval = min(interval * 1.5, 5.0)
        if phase != "COMPLETED":
            job.raise_if_error()  # DALQueryError with the service's message
            raise _Transient(f"async job ended in phase {phase} without an error message")
        return job.fetch_result()
    finally:
        saved = session.deadline
        session.deadline = time.monotonic() + 5.0  # a short grace period for cleanup
        try:
            if job.url is not None:
                if job.phase in ("PENDING", "QUEUED", "EXECUTING", "RUN"):
                    job.abort()
                job.delete()
        except Exception:  # noqa: BLE001, S110 - cleanup is best effort; the service expires jobs itself
            pass
        finally:
            session.deadline = saved


# --------------------------------------------------------------------------- public API


def fetch_table(url: str, query: str, *, maxrec: int | None, mode: str = "auto",
                async_threshold: int = 20000, timeout: float = 300.0, retries: int = 3,
                backoff: float = 2.0, on_overflow: str = "fail", allow_empty: bool = False):
    """Run ADQL ``query`` on the TAP service at ``url``.

    mode: "sync", "async" or "auto" (async when maxrec is None or maxrec > async_threshold).
    Returns ``(table, provenance)``; the table keeps masked (NULL) values masked.
    provenance keys: kind ("tap"), service_url, query, maxrec, mode, row_count, overflow,
    truncated_warning, columns [{name, unit, ucd, datatype, description}],
    fetched_at (UTC ISO 8601 'Z'), attempts.
    ``allow_empty=True`` returns an empty table instead of raising (for chunks).
    Raises TapError for every failure.
    """
    import pyvo

    if mode not in ("sync", "async", "auto"):
        raise TapError(f"source.tap.mode must be 'sync', 'async' or 'auto', not {mode!r}")
    if on_overflow not in ("fail", "warn"):
        raise TapError(f"on_overflow must be 'fail' or 'warn', not {on_overflow!r}")
    if maxrec is not None and (not isinstance(maxrec, int) or isinstance(maxrec, bool) or maxrec <= 0):
        raise TapError(f"source.tap.maxrec must be a positive integer or null, not {maxrec!r}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TapError(f"TAP service URL must start with http:// or https://, got {url!r} (config key source.tap.url)")
    if not query or not str(query).strip():
        raise TapError("the ADQL query is empty (config key source.tap.query)")
    if timeout is None or timeout <= 0:
        raise TapError(f"source.tap.timeout must be a positive number of seconds, not {timeout!r}")
    retries = max(0, int(retries))

    used_mode = mode
    if mode == "auto":
        used_mode = "async" if (maxrec is None or maxrec > async_threshold) else "sync"

    session = _DeadlineSession()
    session.deadline = time.monotonic() + float(timeout)
    service = pyvo.dal.TAPService(url, session=session)

    attempts = 0
    last: _Transient | None = None
    result = None
    try:
        while True:
            attempts += 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # overflow/VOTable warnings are handled below
                    if used_mode == "sync":
                        result = _run_sync(service, query, maxrec)
                    else:
                        result = _run_async(service, session, query, maxrec)
                break
            except Exception as exc:  # noqa: BLE001 - classified below
                err = _classify(exc)
            if isinstance(err, _Permanent):
                raise TapError(
                    f"TAP query failed at {url}: {err}\n"
                    f"Query was:\n{query}\n"
                    "Fix the ADQL in the config (source.tap.query) and run again."
                ) from None
            last = err
            left = session.remaining()
            if err.is_timeout and left <= 0:
                raise TapError(
                    f"TAP service {url} did not answer within {timeout:g} s ({used_mode} mode, "
                    f"{attempts} attempt{'s' if attempts > 1 else ''}): {err.what}. "
                    "Check the URL and the service status; for a slow service or a big query "
                    "raise source.tap.timeout (or use source.tap.mode: async)."
                ) from None
            if attempts > retries:
                break
            delay = backoff * (2 ** (attempts - 1))
            if delay >= left:
                break
            time.sleep(delay)
    finally:
        session.close()

    if result is None:
        assert last is not None
        left = session.remaining()
        why = "timeout reached" if left <= 0 or last.is_timeout else "retries exhausted"
        raise TapError(
            f"TAP service {url} failed {attempts} time{'s' if attempts > 1 else ''} ({why}; "
            f"{used_mode} mode): {last.what}. Check the URL (source.tap.url) and the service "
            "status; if the service is only slow or flaky, raise source.tap.timeout / source.tap.retries."
        )

    table = result.to_table()
    n = len(table)
    status = (getattr(result, "query_status", None) or "OK").upper()
    overflow = status == "OVERFLOW"
    truncated_warning = None
    if overflow:
        limit = f"maxrec={maxrec}" if maxrec is not None else "the service's default MAXREC"
        truncated_warning = (
            f"TAP service {url} truncated the result to {n} rows ({limit}, QUERY_STATUS=OVERFLOW); "
            "the table is incomplete."
        )
        if on_overflow == "fail":
            raise TapError(
                f"TAP result truncated: {n} rows came back with {limit} and the service flagged "
                f"QUERY_STATUS=OVERFLOW at {url}. Raise source.tap.maxrec above the expected row count "
                "(some services, DaCHS among them, also flag OVERFLOW when the count equals maxrec exactly), "
                "set it to null to use async mode with the service's limit, or split the query into chunks."
            )
    if n == 0 and not allow_empty:
        raise TapError(
            f"query returned no rows from {url}. Check the table name and the WHERE clause "
            f"(config key source.tap.query). Query was:\n{query}"
        )

    provenance = {
        "kind": "tap",
        "service_url": url,
        "query": query,
        "maxrec": maxrec,
        "mode": used_mode,
        "row_count": n,
        "overflow": overflow,
        "truncated_warning": truncated_warning,
        "columns": _column_provenance(result),
        "fetched_at": utc_now(),
        "attempts": attempts,
    }
    return table, provenance


def fetch_chunk(url: str, query: str, condition: str, **options):
    """fetch_table for one chunk: ``condition`` replaces the placeholder in ``query``.

    A chunk may be empty (a range of the chunk column can hold no rows); only the
    concatenated table must not be. The provenance records the template and the
    condition next to the exact query sent.
    """
    table, provenance = fetch_table(url, render_chunk_query(query, condition), allow_empty=True, **options)
    provenance.update(query_template=query, chunk_condition=condition)
    return table, provenance


def combine_chunk_provenance(chunks: list[dict]) -> dict:
    """Provenance of the table concatenated from the chunks whose fetch_chunk provenances
    are ``chunks``, in order: the service, template, maxrec and columns of the fetch, the
    total row count, the latest fetch time, and one entry per chunk."""
    if not chunks:
        raise TapError("there are no chunks to concatenate: set at least two source.tap.chunks.edges")
    first = chunks[0]
    row_count = sum(chunk["row_count"] for chunk in chunks)
    if row_count == 0:
        raise TapError(
            f"every chunk of the query came back empty from {first['service_url']}. Check the table name, "
            "the WHERE clause (source.tap.query) and that source.tap.chunks.edges cover the column's values. "
            f"Query was:\n{first['query_template']}"
        )
    return {
        "kind": "tap",
        "service_url": first["service_url"],
        "query": first["query_template"],
        "maxrec": first["maxrec"],
        "mode": first["mode"],
        "row_count": row_count,
        "overflow": any(chunk["overflow"] for chunk in chunks),
        "columns": first["columns"],
        "fetched_at": max(chunk["fetched_at"] for chunk in chunks),
        "chunks": [
            {key: chunk[key] for key in ("chunk_condition", "query", "row_count", "overflow", "truncated_warning",
                                         "fetched_at", "attempts")}
            for chunk in chunks
        ],
    }

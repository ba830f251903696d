"""Timestamps as every record of the workflow writes them."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    """The current time in UTC to the second, as ISO 8601 with a 'Z'."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

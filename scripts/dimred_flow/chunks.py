"""A TAP query split into ranges of one column (config key source.tap.chunks): the ADQL condition
of each range and the query it goes into.

Light (no numpy, no network): the configuration checks its chunks with these same functions when
the Snakefile is parsed, and the fetch jobs use them to build each chunk's query.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re

from dimred_flow.errors import UserError

CHUNK_PLACEHOLDER = "{chunk_condition}"

_IDENT = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+"))*$')


class ChunkError(UserError, ValueError):
    """Chunk settings that give no valid ADQL; the message names the config key."""


def _adql_number(value) -> str:
    # numbers.Real covers numpy's scalars too, without importing numpy.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ChunkError(f"source.tap.chunks.edges: {value!r} is not a number")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        raise ChunkError(f"source.tap.chunks.edges: {value!r} is not a finite number")
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def chunk_conditions(column: str, edges: list) -> list[str]:
    """ADQL conditions ``col >= a AND col < b`` for consecutive edges; the last one is
    ``col >= a AND col <= b`` (inclusive of the upper edge)."""
    if not isinstance(column, str) or not _IDENT.match(column.strip()):
        raise ChunkError(f"source.tap.chunks.column: {column!r} is not a valid ADQL column name")
    column = column.strip()
    edges = list(edges)
    if len(edges) < 2:
        raise ChunkError(f"source.tap.chunks.edges needs at least two values, got {edges!r}")
    literals = [_adql_number(edge) for edge in edges]
    if any(not b > a for a, b in itertools.pairwise(edges)):
        raise ChunkError(f"source.tap.chunks.edges must increase strictly, got {edges!r}")
    last = len(edges) - 2
    return [
        f"{column} >= {literals[i]} AND {column} {'<=' if i == last else '<'} {literals[i + 1]}"
        for i in range(len(edges) - 1)
    ]


def require_placeholder(query: str) -> None:
    if CHUNK_PLACEHOLDER not in query:
        raise ChunkError(
            f"source.tap.chunks is set, so source.tap.query must contain the placeholder {CHUNK_PLACEHOLDER}, "
            "e.g. '... WHERE {chunk_condition} AND parallax > 0'"
        )


def render_chunk_query(query: str, condition: str) -> str:
    """Substitute the placeholder ``{chunk_condition}`` in ``query`` with ``(condition)``."""
    require_placeholder(query)
    return query.replace(CHUNK_PLACEHOLDER, f"({condition})")

"""The ADQL conditions of a chunked TAP query, and the query each goes into."""

import numpy as np
import pytest

from dimred_flow.chunks import ChunkError, chunk_conditions, render_chunk_query
from dimred_flow.errors import UserError


def test_chunk_conditions_edges_and_last_inclusive():
    assert chunk_conditions("random_index", [0, 250, 500]) == [
        "random_index >= 0 AND random_index < 250",
        "random_index >= 250 AND random_index <= 500",
    ]
    assert chunk_conditions("ra", [0.0, 0.5, 360.0]) == [
        "ra >= 0 AND ra < 0.5", "ra >= 0.5 AND ra <= 360"]
    assert chunk_conditions("x", [np.int64(1), np.float64(2.25)]) == ["x >= 1 AND x <= 2.25"]


@pytest.mark.parametrize("column, edges", [
    ("random_index", [0]),            # one edge: no interval
    ("random_index", [0, 10, 10]),    # not strictly increasing
    ("random_index", [5, 1]),
    ("random_index", [0, float("nan")]),
    ("random_index", [0, "10"]),
    ("x; DROP TABLE y", [0, 1]),      # not a column name
])
def test_chunk_conditions_rejects_bad_input(column, edges):
    with pytest.raises(ChunkError):
        chunk_conditions(column, edges)


def test_render_chunk_query():
    q = "SELECT * FROM t WHERE {chunk_condition} AND parallax > 0"
    assert render_chunk_query(q, "a >= 0 AND a < 1") == \
        "SELECT * FROM t WHERE (a >= 0 AND a < 1) AND parallax > 0"
    with pytest.raises(ChunkError, match=r"\{chunk_condition\}"):
        render_chunk_query("SELECT * FROM t", "a >= 0 AND a < 1")


def test_chunk_errors_are_user_errors():
    assert issubclass(ChunkError, UserError)

"""Parquet read a column at a time and written a row group at a time: the whole-table paths' bytes."""

import numpy as np
import pyarrow.parquet as pq
from astropy.table import MaskedColumn, Table

from dimred_flow import tables
from dimred_flow.tables import read_table_file, write_parquet


def test_a_parquet_source_read_by_column_and_written_by_row_group_gives_the_whole_tables_bytes(tmp_path, monkeypatch):
    rows = 10
    source = Table(
        {
            "count": MaskedColumn(np.arange(rows), mask=np.arange(rows) % 3 == 0),
            "parallax": MaskedColumn(np.linspace(0.1, 2.0, rows), mask=np.arange(rows) == 7, unit="mas"),
            "name": [f"star {i}" * (i % 3) for i in range(rows)],
            "position": np.arange(2.0 * rows).reshape(rows, 2),
        },
        meta={"origin": "a test"},
    )
    source["parallax"].description = "trigonometric parallax"
    # astropy's writer stores a masked column as its data and a mask column, read back as one.
    source.write(tmp_path / "source.parquet")
    at_once = tmp_path / "at_once.parquet"
    whole = Table.read(tmp_path / "source.parquet", format="parquet")
    pq.write_table(tables._table_to_arrow(whole), at_once, row_group_size=4)

    monkeypatch.setattr(tables, "PARQUET_ROW_GROUP_ROWS", 4)
    read = read_table_file(tmp_path / "source.parquet")
    assert read.colnames == whole.colnames and isinstance(read["count"], MaskedColumn)
    write_parquet(read, tmp_path / "in_parts.parquet")
    assert (tmp_path / "in_parts.parquet").read_bytes() == at_once.read_bytes()
    assert pq.ParquetFile(tmp_path / "in_parts.parquet").num_row_groups == 3


def test_a_parquet_string_column_with_nulls_is_read_masked(tmp_path):
    """astropy's reader fails on a NULL string (a file from pandas or pyarrow): read as masked strings."""
    import pyarrow as pa

    pq.write_table(pa.table({"flag": ["VARIABLE", None, "CONSTANT"], "g": [10.5, 11.0, None]}), tmp_path / "t.parquet")
    table = read_table_file(tmp_path / "t.parquet")
    assert list(table["flag"].mask) == [False, True, False]
    assert table["flag"][0] == "VARIABLE" and table["flag"][2] == "CONSTANT"
    write_parquet(table, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("flag").to_pylist() == ["VARIABLE", None, "CONSTANT"]

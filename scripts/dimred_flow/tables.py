"""Reading source tables and writing them as Parquet, keeping units and NULLs."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.table import Table

from dimred_flow.errors import UserError

FORMATS = {
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".parquet": "parquet",
}


class TableError(UserError, ValueError):
    """A table that cannot be used, with the reason and the fix."""


def read_table_file(path: str | Path) -> Table:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"Source table {path} does not exist: check source.path in the config.")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TableError(
            f"Cannot read {path}: unknown extension {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}."
        )
    table = Table.read(path, format=fmt)
    if len(table) == 0:
        raise TableError(f"Source table {path} has no rows: point source.path at a table with data.")
    return table


def column_metadata(table: Table) -> list[dict]:
    return [
        {
            "name": name,
            "unit": str(column.unit) if column.unit is not None else None,
            "ucd": column.meta.get("ucd") if column.meta else None,
            "datatype": str(column.dtype),
            "description": column.description or None,
        }
        for name, column in table.columns.items()
    ]


def write_parquet(table: Table, path: str | Path) -> None:
    """Write atomically: a killed job never leaves a truncated Parquet file under the final name."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    table.write(partial, format="parquet", overwrite=True)
    os.replace(partial, path)


def read_parquet(path: str | Path, columns: list[str] | None = None) -> Table:
    return Table.read(path, format="parquet", include_names=columns)

"""Reading source tables, and the Parquet files between steps, keeping units and NULLs.

astropy's own Parquet writer stores a masked float as NaN, after which a NULL can no
longer be told from a NaN; write_parquet stores masked values as Parquet nulls instead,
with each column's unit, UCD and description in the Arrow field metadata and, for an
exact round trip through read_parquet, as JSON in the schema metadata.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.table import Column, MaskedColumn, Table
from astropy.utils.exceptions import AstropyUserWarning

from dimred_flow.atomic import replaced_atomically
from dimred_flow.errors import UserError
from dimred_flow.features import COLUMNS_IN_FILE

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


FORMAT_NAMES = {"ascii.csv": "CSV", "ascii.ecsv": "ECSV", "fits": "FITS", "votable": "VOTable", "parquet": "Parquet"}


def _extensions_of(fmt: str) -> list[str]:
    return [extension for extension, candidate in FORMATS.items() if candidate == fmt]


def _format_by_content(path: Path) -> str | None:
    """The format the first bytes of `path` announce, for those whose files open with a signature;
    None for the text tables (CSV, ECSV), which have none."""
    with path.open("rb") as file:
        head = file.read(1024)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    if head.lstrip().startswith(b"<") and b"<VOTABLE" in head:
        return "votable"
    return None


def _unreadable(path: Path, fmt: str, error: Exception) -> str:
    """One line: what the reader found wrong with `path`, and the fix."""
    # The readers' messages can run over several lines (astropy lists every guess it tried).
    reason = (str(error).splitlines() or [type(error).__name__])[0].rstrip(".")
    if isinstance(error, UnicodeDecodeError):
        reason = f"it is binary, not UTF-8 text ({reason})"
    return (
        f"Cannot read {path} as {FORMAT_NAMES[fmt]}: {reason}. Give the file the extension of its "
        f"real format ({', '.join(sorted(FORMATS))}) or fix it; source.path in the config names it."
    )


def read_table_file(path: str | Path) -> Table:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"Source table {path} does not exist: check source.path in the config.")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TableError(
            f"Cannot read {path}: unknown extension {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}."
        )
    actual = _format_by_content(path)
    if actual is not None and actual != fmt:
        raise TableError(
            f"{path} is a {FORMAT_NAMES[actual]} file but its extension {path.suffix!r} says "
            f"{FORMAT_NAMES[fmt]}: rename it to {' or '.join(_extensions_of(actual))} (and source.path in the config)."
        )
    # The readers fail in their own ways: a text reader on binary bytes (UnicodeDecodeError), astropy's
    # ASCII, VOTable and FITS readers on malformed content (ValueError), FITS on a missing header
    # (OSError), pyarrow with its own exceptions.
    try:
        table = _read_parquet_by_column(path) if fmt == "parquet" else Table.read(path, format=fmt)
    except (ValueError, OSError, pa.ArrowException) as error:
        raise TableError(_unreadable(path, fmt, error)) from None
    if len(table) == 0:
        raise TableError(f"Source table {path} has no rows: point source.path at a table with data.")
    return table


def _read_parquet_by_column(path: Path) -> Table:
    """astropy's Parquet reader, one column at a time: it holds the Arrow table and the NumPy columns
    together, 2.2 times the table at its peak (10 GB at ten million rows of the snapshot's columns)."""
    with warnings.catch_warnings():
        # Without a string column's length in the file's metadata astropy guesses one for the schema.
        warnings.simplefilter("ignore", AstropyUserWarning)
        schema = Table.read(path, format="parquet", schema_only=True)
    table = Table(meta=schema.meta)
    for name in schema.colnames:
        table.add_column(_read_parquet_column(path, name)[name], copy=False)
    return table


def _read_parquet_column(path: Path, name: str) -> Table:
    try:
        return Table.read(path, format="parquet", include_names=[name])
    except TypeError:
        # astropy sizes a string column by its longest value and fails on a NULL (len(None)): such a
        # column (a file from pandas or pyarrow) becomes a masked string column.
        arrow = pq.read_table(path, columns=[name])
        field_meta = {k.decode(): v.decode() for k, v in (arrow.schema.field(name).metadata or {}).items()}
        return Table([_arrow_to_column(arrow.column(name).combine_chunks(), name, field_meta, {"masked": True})])


def count_rows(path: str | Path) -> int:
    """A table file's rows, from Parquet's footer or the FITS header where the format keeps the count,
    without reading the data; other formats are read."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "parquet" and path.is_file():
        return pq.ParquetFile(path).metadata.num_rows
    if fmt == "fits" and path.is_file():
        from astropy.io import fits

        with fits.open(path) as hdus:
            tables = [hdu for hdu in hdus if isinstance(hdu, fits.BinTableHDU | fits.TableHDU)]
            if tables:
                return int(tables[0].header["NAXIS2"])
    return len(read_table_file(path))


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


# pyarrow's default row group: write_parquet's files are the bytes pq.write_table made of the whole table.
PARQUET_ROW_GROUP_ROWS = 1024 * 1024
_COLUMNS_KEY = b"dimred_flow.columns"
_TABLE_META_KEY = b"dimred_flow.table_meta"


def _jsonable(mapping) -> dict:
    """The entries of `mapping` that survive JSON (meta can hold arbitrary objects)."""
    kept = {}
    for key, value in (mapping or {}).items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        kept[str(key)] = value
    return kept


def _column_to_arrow(column) -> pa.Array:
    mask = np.ma.getmaskarray(column) if hasattr(column, "mask") else None
    data = np.asarray(np.ma.getdata(column))
    if mask is not None and mask.ndim > 1:
        # An array cell is NULL only when every element is masked.
        mask = mask.reshape(len(mask), -1).all(axis=1)
    if mask is not None and not mask.any():
        mask = None
    if data.dtype.kind in "biuf":
        # VOTable data arrive big-endian, which Arrow does not take.
        data = data.astype(data.dtype.newbyteorder("="), copy=False)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "utf-8", errors="replace")
    if data.ndim > 1:
        flat = data.reshape(len(data), -1)
        array = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), flat.shape[1])
        return array if mask is None else pa.array(array.to_pylist(), type=array.type, mask=mask)
    if data.dtype.kind in "biuf":
        return pa.array(data, mask=mask)
    values = data.tolist()
    return pa.array(
        [None if (mask is not None and mask[i]) or value is None else str(value) for i, value in enumerate(values)],
        type=pa.string(),
    )


def _table_to_arrow(table: Table) -> pa.Table:
    arrays, fields, columns = [], [], {}
    for name in table.colnames:
        column = table[name]
        array = _column_to_arrow(column)
        unit = column.unit.to_string() if column.unit is not None else None
        meta = _jsonable(column.meta)
        description = column.description or None
        field_meta = {k: str(v) for k, v in (("unit", unit), ("ucd", meta.get("ucd")), ("description", description)) if v}
        fields.append(pa.field(name, array.type, nullable=True, metadata=field_meta or None))
        arrays.append(array)
        columns[name] = {
            "unit": unit,
            "description": description,
            "format": column.format if isinstance(column.format, str) else None,
            "meta": meta,
            "masked": hasattr(column, "mask"),
        }
    schema = pa.schema(
        fields,
        metadata={_COLUMNS_KEY: json.dumps(columns).encode(), _TABLE_META_KEY: json.dumps(_jsonable(table.meta)).encode()},
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_to_column(array: pa.Array, name: str, field_meta: dict, info: dict):
    kind = array.type
    nulls = array.null_count > 0
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        filled = array.fill_null(False if pa.types.is_boolean(kind) else 0) if nulls else array
        data = filled.to_numpy(zero_copy_only=False)
        mask = array.is_null().to_numpy(zero_copy_only=False) if nulls else None
    else:
        values = array.to_pylist()
        mask = np.array([value is None for value in values]) if nulls else None
        if pa.types.is_fixed_size_list(kind):
            data = np.array([[0] * kind.list_size if value is None else value for value in values])
        else:
            data = np.array(["" if value is None else str(value) for value in values], dtype=str)
    meta = dict(info.get("meta") or {})
    if "ucd" not in meta and field_meta.get("ucd"):
        meta["ucd"] = field_meta["ucd"]
    options = {
        "name": name,
        "unit": info.get("unit", field_meta.get("unit")) or None,
        "description": info.get("description", field_meta.get("description")),
        "meta": meta,
    }
    if info.get("format"):
        options["format"] = info["format"]
    if mask is not None or info.get("masked"):
        return MaskedColumn(data, mask=False if mask is None else mask, **options)
    return Column(data, **options)


def _arrow_to_table(arrow: pa.Table) -> Table:
    metadata = arrow.schema.metadata or {}
    columns = json.loads(metadata.get(_COLUMNS_KEY, b"{}"))
    table = Table(meta=json.loads(metadata.get(_TABLE_META_KEY, b"{}")))
    for name in arrow.column_names:
        field_meta = {k.decode(): v.decode() for k, v in (arrow.schema.field(name).metadata or {}).items()}
        table.add_column(_arrow_to_column(arrow.column(name).combine_chunks(), name, field_meta, columns.get(name, {})))
    return table


def write_parquet(table: Table, path: str | Path) -> None:
    """`table` as Parquet, converted to Arrow a row group at a time (the same bytes as at once, which
    would hold the table twice)."""
    parts = (table[start : start + PARQUET_ROW_GROUP_ROWS] for start in range(0, len(table), PARQUET_ROW_GROUP_ROWS))
    first = _table_to_arrow(next(parts, table))
    with replaced_atomically(path) as partial, pq.ParquetWriter(partial, first.schema) as writer:
        writer.write_table(first, row_group_size=PARQUET_ROW_GROUP_ROWS)
        for part in parts:
            writer.write_table(_table_to_arrow(part), row_group_size=PARQUET_ROW_GROUP_ROWS)


def read_parquet(path: str | Path, columns: list[str] | None = None) -> Table:
    """The table in `path`; with `columns`, only those of them it has, and every column name the file
    holds in meta[COLUMNS_IN_FILE] (for messages that list what a table has)."""
    if not Path(path).is_file():
        raise TableError(f"Parquet table {path} does not exist: run the step that writes it first.")
    if columns is None:
        return _arrow_to_table(pq.read_table(path))
    in_file = pq.read_schema(path).names
    table = _arrow_to_table(pq.read_table(path, columns=[name for name in columns if name in in_file]))
    table.meta[COLUMNS_IN_FILE] = in_file
    return table


def concatenate_parquet(paths: list[str | Path], out: str | Path) -> None:
    """Append the row groups of `paths` to `out` one at a time, so memory stays bounded by the
    largest row group; the first file's schema is kept."""
    paths, out = [Path(p) for p in paths], Path(out)
    if not paths:
        raise TableError("There are no Parquet tables to concatenate: give at least one.")
    schema = pq.read_schema(paths[0])
    with replaced_atomically(out) as partial, pq.ParquetWriter(partial, schema) as writer:
        for path in paths:
            parquet = pq.ParquetFile(path)
            if parquet.schema_arrow.names != schema.names:
                raise TableError(
                    f"Cannot concatenate {path}: its columns {parquet.schema_arrow.names} differ from "
                    f"{paths[0]}'s {schema.names}; every part must come from the same query."
                )
            for group in range(parquet.num_row_groups):
                part = parquet.read_row_group(group)
                try:
                    # Every part gets the first file's schema metadata (units, UCDs, descriptions).
                    part = part.cast(schema)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise TableError(
                        f"Cannot concatenate {path}: its column types differ from {paths[0]}'s ({error}); "
                        "every part must come from the same query."
                    ) from None
                writer.write_table(part)

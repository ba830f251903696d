"""The embedding catalogue: one row per star a run projected, with its identifier, position, label or
colour, raw feature values and every method's coordinates of every iteration, as FITS and VOTable for
TOPCAT and the other VO tools.

Units, UCDs and descriptions are written where those tools read them: in FITS as TUNITn, TUCDn and
TCOMMn (the STIL convention TOPCAT follows), in VOTable as FIELD attributes; the run's fingerprint,
seeds and methods as FITS header keywords and VOTable PARAMs of the same names.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Column, Table

from dimred_flow.atomic import replaced_atomically
from dimred_flow.errors import UserError
from dimred_flow.features import (
    IDENTIFIER_COLUMN,
    PreparedFeatures,
    derive_features,
    feature_columns,
    kept_rows,
    row_identifiers,
)

# What a column the catalogue copies means, where the source table does not say.
KNOWN_UCDS = {
    IDENTIFIER_COLUMN: "meta.id;meta.main",
    "ra": "pos.eq.ra;meta.main",
    "dec": "pos.eq.dec;meta.main",
}
# Copied from the table where it has them: they let TOPCAT plot the stars on the sky and match them
# with other catalogues.
POSITION_COLUMNS = ("ra", "dec")
# Named when the table has no IDENTIFIER_COLUMN: counted from 1, as TOPCAT's $index counts rows.
ROW_NUMBER_COLUMN = "source_row"
# A FITS binary table holds at most 999 columns (TFIELDS).
FITS_MAX_COLUMNS = 999
FITS_BLOCK_BYTES = 2880
# Rows converted and written at a time. A multiple of 57, the bytes base64 encodes on one line, so that
# each part's encoding continues the one before as if the whole table were encoded at once.
WRITE_CHUNK_ROWS = 57 * 4096


class CatalogueError(UserError, ValueError):
    """Inputs that do not make one catalogue (a table, features or embeddings of different runs)."""


@dataclass(frozen=True)
class ProjectedMethod:
    name: str
    label: str
    settings: dict


@dataclass(frozen=True)
class RunDescription:
    """What the catalogue's metadata says about the run that made it."""

    fingerprint: str
    seeds: dict[int, int]
    methods: list[ProjectedMethod]
    version: str


@dataclass(frozen=True)
class Selection:
    """How prepare_features chose the rows (its settings): the catalogue finds the same rows again."""

    derive: list[str]
    max_rows: int | None


def embedding_column(method: str, iteration: int, axis: str) -> str:
    return f"{method}_{iteration}_{axis}"


def _copied(table: Table, name: str, kept: np.ndarray) -> Column:
    """Column `name` of the kept rows, with its unit and description; its UCD, or the one KNOWN_UCDS gives."""
    column = table[name][kept]
    column.meta = {"ucd": (table[name].meta or {}).get("ucd") or KNOWN_UCDS.get(name)}
    return column


def catalogue_table(
    source: Table,
    features: PreparedFeatures,
    selection: Selection,
    embeddings: dict[str, dict[int, np.ndarray]],
    run: RunDescription,
) -> Table:
    """The catalogue of `features` (prepared from `source` with `selection`) and its `embeddings`, by
    method and iteration, each (rows, 2). Raw feature values come from the table, derived ones derived
    again: the prepared matrix may be standardised."""
    table = derive_features(source, selection.derive)
    raw = feature_columns(table, features.feature_names)
    kept = kept_rows(raw, selection.max_rows)
    if not np.array_equal(row_identifiers(table, kept), features.row_ids):
        raise CatalogueError(
            f"The features ({len(features.row_ids)} rows) were not prepared from this table with these settings "
            f"({len(kept)} rows selected): rerun prepare_features, then the catalogue."
        )
    catalogue = Table()
    if IDENTIFIER_COLUMN in table.colnames:
        catalogue[IDENTIFIER_COLUMN] = _copied(table, IDENTIFIER_COLUMN, kept)
    else:
        catalogue[ROW_NUMBER_COLUMN] = Column(
            kept + 1,
            description="row number in the source table, counted from 1 (TOPCAT's $index)",
            meta={"ucd": "meta.id;meta.main"},
        )
    shown = [
        name
        for name in (*POSITION_COLUMNS, features.colour_name)
        if name in table.colnames and name not in features.feature_names
    ]
    for name in shown:
        catalogue[name] = _copied(table, name, kept)
    for index, name in enumerate(features.feature_names):
        column = table[name]
        catalogue[name] = Column(
            raw[kept, index],
            unit=column.unit,
            description=column.description or "input feature of the projections",
            meta={"ucd": (column.meta or {}).get("ucd") or KNOWN_UCDS.get(name)},
        )
    catalogue.meta["embeddings"] = {projected.name: sorted(run.seeds) for projected in run.methods}
    for projected in run.methods:
        for iteration, seed in sorted(run.seeds.items()):
            embedding = embeddings[projected.name][iteration]
            if embedding.shape != (len(kept), 2):
                raise CatalogueError(
                    f"The {projected.name} embedding of iteration {iteration} has shape {embedding.shape}, "
                    f"not ({len(kept)}, 2) as the features: rerun the projections of this run."
                )
            for axis, values in zip("xy", embedding.T):
                catalogue[embedding_column(projected.name, iteration, axis)] = Column(
                    values.astype(np.float32),
                    description=f"{projected.label} {axis} of iteration {iteration} (seed {seed})",
                )
    catalogue.meta["parameters"] = run_parameters(run) + colour_parameters(features.colour_name, features.colour_is_label)
    return catalogue


@dataclass(frozen=True)
class Parameter:
    """A table-level value: a FITS header keyword (8 characters at most) and a VOTable PARAM."""

    name: str
    value: str | int
    description: str


def run_parameters(run: RunDescription) -> list[Parameter]:
    parameters = [
        Parameter("FPRINT", run.fingerprint, "fingerprint of these embeddings and settings; stored as catalogues/<FPRINT>.json"),
        Parameter("VERSION", run.version, "dimred-flow version that wrote this catalogue"),
        Parameter("NITER", len(run.seeds), "iterations, each with its own seed"),
    ]
    parameters += [Parameter(f"SEED{i}", seed, f"seed of iteration {i}") for i, seed in sorted(run.seeds.items())]
    for number, projected in enumerate(run.methods, start=1):
        parameters += [
            Parameter(f"METHOD{number}", projected.name, f"method {number}, columns {projected.name}_<iteration>_x, _y"),
            Parameter(f"MLABEL{number}", projected.label, f"label of method {number}"),
            Parameter(
                f"MSETS{number}", json.dumps(projected.settings, sort_keys=True), f"settings of method {number} (JSON)"
            ),
        ]
    return parameters


def colour_parameters(colour_name: str, is_label: bool) -> list[Parameter]:
    """Which column the plots colour by, and how: what a page drawn from the catalogue alone needs to
    colour it as the PDF (a numeric label column looks like any other number)."""
    return [
        Parameter("COLOUR", colour_name, "column the plots colour by"),
        Parameter(
            "COLOURBY",
            "label" if is_label else "value",
            "label: one colour per category; value: a colour scale",
        ),
    ]


def _fits_card(parameter: Parameter):
    """The parameter as a header card, with its description where the 80-character card has room (the
    VOTable always has it); a long value goes on CONTINUE cards."""
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    card = fits.Card(parameter.name, parameter.value, parameter.description)
    with warnings.catch_warnings():
        # astropy formats a card when it is first shown, and only warns where it cuts the description.
        warnings.simplefilter("error", VerifyWarning)
        try:
            str(card)
        except VerifyWarning:
            return fits.Card(parameter.name, parameter.value)
    return card


def folded(catalogue: Table) -> Table:
    """The catalogue with each method's coordinates as two vector columns, `<method>_x` and `<method>_y`,
    whose element i - 1 is iteration i: what FITS can hold above its column limit (TOPCAT reads
    `umap_x[0]`); the VOTable keeps a column per iteration."""
    embedding_columns = {
        embedding_column(name, iteration, axis)
        for name, iterations in catalogue.meta["embeddings"].items()
        for iteration in iterations
        for axis in "xy"
    }
    result = Table([column for name, column in catalogue.columns.items() if name not in embedding_columns], copy=False)
    for name, iterations in catalogue.meta["embeddings"].items():
        for axis in "xy":
            first = catalogue[embedding_column(name, iterations[0], axis)]
            result[f"{name}_{axis}"] = Column(
                np.stack([catalogue[embedding_column(name, i, axis)] for i in iterations], axis=1),
                description=f"{first.description.split(' of iteration')[0]} of iterations "
                f"{iterations[0]}-{iterations[-1]}, element i-1 being iteration i",
            )
    result.meta = catalogue.meta
    return result


def _fits_rows(table: Table) -> bytes:
    """The rows of `table` as a FITS binary table holds them, as astropy converts and writes them."""
    from astropy.io import fits

    part = fits.table_to_hdu(table)
    primary = fits.PrimaryHDU()
    buffer = io.BytesIO()
    fits.HDUList([primary, part]).writeto(buffer)
    start = len(primary.header.tostring()) + len(part.header.tostring())
    return buffer.getvalue()[start : start + part.header["NAXIS1"] * len(table)]


def write_fits(catalogue: Table, path: str | Path, chunk_rows: int = WRITE_CHUNK_ROWS) -> None:
    """The catalogue as the EMBEDDINGS extension of a FITS file, its rows converted `chunk_rows` at a
    time: the bytes astropy writes for the whole table, without a second copy of it in memory."""
    from astropy.io import fits

    if len(catalogue.columns) > FITS_MAX_COLUMNS:
        catalogue = folded(catalogue)
    plain = Table(catalogue, copy=False)
    plain.meta = {}
    # The header of the whole table: astropy's comes from the columns' types (a masked integer's TNULLn from
    # its fill value), not from their values.
    hdu = fits.table_to_hdu(plain[:0])
    hdu.name = "EMBEDDINGS"
    for number, column in enumerate(catalogue.columns.values(), start=1):
        if column.description:
            hdu.header[f"TCOMM{number}"] = column.description
        if column.meta.get("ucd"):
            hdu.header[f"TUCD{number}"] = column.meta["ucd"]
    for parameter in catalogue.meta["parameters"]:
        hdu.header.append(_fits_card(parameter))
    hdu.header["NAXIS2"] = len(plain)
    with replaced_atomically(path) as partial, open(partial, "wb") as out:
        fits.PrimaryHDU().writeto(out)
        out.write(hdu.header.tostring().encode("ascii"))
        for start in range(0, len(plain), chunk_rows):
            out.write(_fits_rows(plain[start : start + chunk_rows]))
        out.write(bytes(-hdu.header["NAXIS1"] * len(plain) % FITS_BLOCK_BYTES))


# VOTable datatypes whose BINARY2 serialisation is their big-endian bytes (VOTable 1.3, 5.4 and 5.5).
BINARY2_TYPES = {"unsignedByte": "u1", "short": ">i2", "int": ">i4", "long": ">i8", "float": ">f4", "double": ">f8"}


def _ascii_strings(table: Table) -> Table:
    """The table with its text columns as fixed-width ASCII bytes (VOTable char[N]) where they are ASCII."""
    plain = Table(table, copy=False)
    plain.meta = {}
    for name in plain.colnames:
        column = plain[name]
        if column.dtype.kind == "U" and all(str(value).isascii() for value in np.unique(np.ma.filled(column, ""))):
            plain[name] = np.ma.MaskedArray(np.char.encode(np.ma.filled(column, ""), "ascii"), mask=np.ma.getmaskarray(column))
    return plain


def binary2_stream(table: Table, fields) -> bytes | None:
    """The rows of `table` as VOTable BINARY2 bytes for its `fields`: each row its null flags (a bit per
    field, first field in the most significant bit), then every field's fixed-width big-endian value.
    Built by numpy in one array: astropy's own BINARY2 writer goes row by row in Python, 4 minutes for
    a million-row catalogue. None where a field has no fixed width here (astropy then writes it)."""
    formats = []
    for field, name in zip(fields, table.colnames):
        shape = table[name].shape[1:]
        if field.datatype == "char" and field.arraysize not in (None, "*") and "x" not in field.arraysize and not shape:
            formats.append((name, f"S{field.arraysize}"))
        elif field.datatype in BINARY2_TYPES and (field.arraysize is None) == (not shape):
            formats.append((name, BINARY2_TYPES[field.datatype], shape))
        else:
            return None
    flag_bytes = (len(formats) + 7) // 8
    rows = np.zeros(len(table), dtype=np.dtype([(f"{'_' * 8}null_flags", "u1", (flag_bytes,)), *formats]))
    flags = rows.dtype.names[0]
    for index, name in enumerate(table.colnames):
        column = table[name]
        mask = np.ma.getmaskarray(column)
        if mask.ndim > 1:
            mask = mask.any(axis=tuple(range(1, mask.ndim)))
        fill = np.nan if column.dtype.kind == "f" else 0 if column.dtype.kind in "iu" else b""
        rows[name] = np.ma.filled(np.ma.asarray(column), fill)
        rows[flags][mask, index // 8] |= np.uint8(0x80 >> (index % 8))
    return rows.tobytes()


def write_votable(catalogue: Table, path: str | Path, chunk_rows: int = WRITE_CHUNK_ROWS) -> None:
    import base64

    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Param

    plain = _ascii_strings(catalogue)
    # The fields and parameters from astropy; the rows, where every field has a fixed width, from numpy,
    # `chunk_rows` at a time.
    votable = from_table(plain[:0])
    element = votable.get_first_table()
    by_numpy = binary2_stream(plain[:0], element.fields) is not None
    if not by_numpy:
        votable = from_table(plain)
        element = votable.get_first_table()
    element.name = "embeddings"
    for parameter in catalogue.meta["parameters"]:
        if isinstance(parameter.value, int):
            datatype, arraysize = "long", None
        else:
            datatype, arraysize = "char", "*"
        param = Param(votable, name=parameter.name, value=parameter.value, datatype=datatype, arraysize=arraysize)
        param.description = parameter.description
        element.params.append(param)
    with replaced_atomically(path) as partial:
        # Binary: the coordinates keep every bit, and a million rows stay a file of their size, not of their text.
        votable.to_xml(str(partial), tabledata_format="binary2")
        if by_numpy:
            xml = partial.read_bytes()
            end = xml.rindex(b"</TABLE>")
            with open(partial, "wb") as out:
                out.write(xml[:end] + b'<DATA><BINARY2><STREAM encoding="base64">\n')
                for start in range(0, len(plain), chunk_rows):
                    out.write(base64.encodebytes(binary2_stream(plain[start : start + chunk_rows], element.fields)))
                out.write(b"</STREAM></BINARY2></DATA>\n" + xml[end:])

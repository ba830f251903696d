"""The prepare step: derive astrometric features, select, drop incomplete rows, standardise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dimred_flow.arrays import save_arrays
from dimred_flow.errors import UserError

# astropy costs ~0.5 s to import: jobs that only load the prepared features never pay it.
if TYPE_CHECKING:
    from astropy.table import Table


class FeatureError(UserError, ValueError):
    """A table that does not have what the config asks for."""


DERIVATIONS = {
    "galactocentric_xyz": ("ra", "dec", "parallax"),
    "absolute_g_magnitude": ("phot_g_mean_mag", "parallax"),
}

# The column that names a star (Gaia's), where the table has it.
IDENTIFIER_COLUMN = "source_id"

# Table.meta key of a table read in some of its file's columns (tables.read_parquet): all of them, for
# messages that list what the table has.
COLUMNS_IN_FILE = "columns_in_file"

# Rows transformed to Galactocentric coordinates at once: astropy's transform holds some twenty arrays
# the size of its input, 1.6 GB for a million rows at a time rather than 16 GB for ten million.
TRANSFORM_CHUNK_ROWS = 1_000_000

# Below this many rows no projection or neighbour score says anything, whatever the neighbour counts.
MIN_ROWS = 10


def subsample(n_rows: int, max_rows: int) -> np.ndarray:
    """Indices of at most `max_rows` evenly spaced rows: deterministic and independent of every seed."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.linspace(0, n_rows - 1, max_rows).round().astype(int)


def _as_float(table: Table, name: str, config_fix: str) -> np.ndarray:
    """Column `name` as floats, NULLs as NaN; text that is no number is an error naming the first such
    value and its row, with `config_fix`: the change to the config that stops asking for the column."""
    column = table[name]
    mask = np.ma.getmaskarray(column)
    data = np.ma.getdata(column)
    if data.dtype.kind in "biuf":
        return np.where(mask, np.nan, data.astype(float))
    # A text column (one non-numeric entry makes the CSV reader keep a whole column as text): a masked
    # entry is a NULL, every other one must read as a number.
    values = np.full(len(column), np.nan)
    for row in np.flatnonzero(~mask):
        text = data[row].decode(errors="replace") if isinstance(data[row], bytes) else str(data[row])
        try:
            values[row] = float(text)
        except ValueError:
            raise FeatureError(
                f"Column {name!r} must be numeric but row {row + 1} of the table holds {text!r}: correct or "
                f"delete that row, or {config_fix}."
            ) from None
    return values


@dataclass(frozen=True)
class RowsNeeded:
    """How many distinct rows a table needs, and the why and the config fix its error messages give."""

    count: int
    reason: str
    config_fix: str

    @classmethod
    def for_neighbours(cls, min_distinct_rows: int) -> RowsNeeded:
        if min_distinct_rows <= MIN_ROWS:
            return cls(MIN_ROWS, "the fewest a projection is made from", "")
        return cls(
            min_distinct_rows,
            f"the largest n_neighbors of the chosen methods and stability.n_neighbors, {min_distinct_rows - 1}, "
            "plus the row itself",
            ", or lower those neighbour counts in the config",
        )


def columns_read(features: list[str], derive: list[str], colour_name: str, *also: str) -> list[str]:
    """The table columns the features are made from: the features, what each derivation derives from,
    the label or colour column, the identifier and `also`; a table's other columns need not be loaded."""
    names = [*features, *(name for derivation in derive for name in DERIVATIONS[derivation]), colour_name]
    return list(dict.fromkeys([*names, IDENTIFIER_COLUMN, *also]))


def _require(table: Table, names, purpose: str) -> None:
    missing = [name for name in names if name not in table.colnames]
    if missing:
        available = table.meta.get(COLUMNS_IN_FILE, table.colnames)
        raise FeatureError(
            f"The table has no column {', '.join(repr(m) for m in missing)} needed for {purpose}. "
            f"Available columns: {', '.join(available)}. Fix the config (features, derive, "
            "label_column, color_by) or the query."
        )


def derive_features(table: Table, derivations: list[str]) -> Table:
    """Add derived columns; rows without a positive parallax get NaN and are dropped later."""
    from astropy import units as u

    table = table.copy(copy_data=False)
    for derivation in derivations:
        _require(table, DERIVATIONS[derivation], f"derive: {derivation}")
    without_derivations = f"remove {', '.join(derivations)} from derive in the config"
    with np.errstate(invalid="ignore", divide="ignore"):
        parallax = _as_float(table, "parallax", without_derivations) if derivations else None
        usable = parallax > 0 if derivations else None
        if "galactocentric_xyz" in derivations:
            from astropy.coordinates import Distance, Galactocentric, SkyCoord

            safe_parallax = np.where(usable, parallax, 1.0)
            ra = np.nan_to_num(_as_float(table, "ra", without_derivations))
            dec = np.nan_to_num(_as_float(table, "dec", without_derivations))
            xyz = np.empty((3, len(table)))
            for start in range(0, len(table), TRANSFORM_CHUNK_ROWS):
                rows = slice(start, start + TRANSFORM_CHUNK_ROWS)
                coords = SkyCoord(
                    ra=ra[rows] * u.deg,
                    dec=dec[rows] * u.deg,
                    distance=Distance(parallax=safe_parallax[rows] * u.mas),
                ).transform_to(Galactocentric())
                xyz[:, rows] = coords.cartesian.xyz.to_value(u.kpc)
            for axis, name, values in zip("xyz", ("xgal", "ygal", "zgal"), xyz):
                table[name] = np.where(usable, values, np.nan) * u.kpc
                table[name].description = f"Galactocentric {axis} (astropy defaults) from ra, dec, 1/parallax"
        if "absolute_g_magnitude" in derivations:
            g_mag = _as_float(table, "phot_g_mean_mag", without_derivations)
            values = g_mag + 5 * np.log10(np.where(usable, parallax, np.nan) / 100.0)
            table["abs_g"] = values * u.mag
            table["abs_g"].description = "Absolute G magnitude, G + 5 log10(parallax / 100 mas), no extinction"
    return table


@dataclass
class PreparedFeatures:
    matrix: np.ndarray
    feature_names: list[str]
    row_ids: np.ndarray
    colour_values: np.ndarray
    colour_name: str
    colour_unit: str
    colour_is_label: bool
    summary: dict

    def save(self, path, fingerprint: str) -> None:
        save_arrays(
            path,
            fingerprint=np.array(fingerprint),
            matrix=self.matrix,
            feature_names=np.array(self.feature_names),
            row_ids=self.row_ids,
            colour_values=self.colour_values,
            colour_meta=np.array([self.colour_name, self.colour_unit, str(self.colour_is_label)]),
        )


def load_features(path) -> PreparedFeatures:
    with np.load(path, allow_pickle=False) as data:
        name, unit, is_label = (str(x) for x in data["colour_meta"])
        return PreparedFeatures(
            matrix=data["matrix"],
            feature_names=[str(x) for x in data["feature_names"]],
            row_ids=data["row_ids"],
            colour_values=data["colour_values"],
            colour_name=name,
            colour_unit=unit,
            colour_is_label=is_label == "True",
            summary={},
        )


def feature_columns(table: Table, features: list[str]) -> np.ndarray:
    """The raw values of `features` (after derive_features), one column each, NULLs as NaN."""
    return np.column_stack(
        [_as_float(table, name, f"remove {name} from features in the config") for name in features]
    )


def kept_rows(matrix: np.ndarray, max_rows: int | None) -> np.ndarray:
    """The table rows prepare_features keeps, in order: those with every feature, evenly subsampled to
    `max_rows`. The embedding catalogue finds its rows' raw values again with it."""
    kept = np.flatnonzero(np.all(np.isfinite(matrix), axis=1))
    if max_rows is not None and kept.size > max_rows:
        kept = kept[subsample(kept.size, max_rows)]
    return kept


def row_identifiers(table: Table, kept: np.ndarray) -> np.ndarray:
    """Each kept row's name: its IDENTIFIER_COLUMN where the table has one, else its index in the table."""
    if IDENTIFIER_COLUMN in table.colnames:
        return np.asarray(table[IDENTIFIER_COLUMN])[kept].astype(np.int64)
    return kept.astype(np.int64)


def _require_distinct_rows(matrix: np.ndarray, features: list[str], needed: RowsNeeded, subsampled: bool) -> None:
    """Identical rows are one point to every method: too few distinct ones leave the neighbourhoods
    to ties, and trustworthiness scores near 1 that mean nothing."""
    distinct = np.unique(matrix, axis=0).shape[0]
    if distinct >= needed.count:
        return
    fix = f"use a table with more distinct rows{', or raise max_rows' if subsampled else ''}{needed.config_fix}"
    if distinct == 1:
        raise FeatureError(
            f"All {matrix.shape[0]} rows have the same features ({', '.join(features)}), and at least "
            f"{needed.count} distinct rows are needed ({needed.reason}): {fix}."
        )
    raise FeatureError(
        f"Only {distinct} of the {matrix.shape[0]} rows have distinct features ({', '.join(features)}); at least "
        f"{needed.count} are needed ({needed.reason}): {fix}."
    )


def prepare_features(
    table: Table,
    features: list[str],
    *,
    derive: list[str],
    label_column: str | None,
    color_by: str,
    standardize: bool,
    max_rows: int | None,
    min_distinct_rows: int = MIN_ROWS,
) -> PreparedFeatures:
    """The feature matrix of `table`. `min_distinct_rows` is one more than the largest neighbour count
    the methods and metrics ask for: a table with fewer distinct rows is an error, not a projection."""
    if len(table) == 0:
        raise FeatureError("The table has no rows: check the query or the source file.")
    needed = RowsNeeded.for_neighbours(min_distinct_rows)
    if len(table) < needed.count:
        raise FeatureError(
            f"The table has {len(table)} row{'' if len(table) == 1 else 's'}; at least {needed.count} are needed "
            f"({needed.reason}): use a larger table{needed.config_fix}."
        )
    table = derive_features(table, derive)
    colour_name = label_column or color_by
    _require(table, features, "the configured features")
    _require(table, [colour_name], "label_column" if label_column else "color_by")

    matrix = feature_columns(table, features)
    complete = np.all(np.isfinite(matrix), axis=1)
    all_missing = [name for name, column in zip(features, matrix.T) if not np.isfinite(column).any()]
    if all_missing:
        raise FeatureError(
            f"Feature column(s) {', '.join(all_missing)} hold no values (all NULL or NaN): "
            "remove them from features or fix the query."
        )
    complete_count = int(complete.sum())
    if complete_count < needed.count:
        missing_counts = (~np.isfinite(matrix)).sum(axis=0)
        most_missing = int(np.argmax(missing_counts))
        raise FeatureError(
            f"Only {complete_count} of {len(table)} rows have every feature ({', '.join(features)}); at least "
            f"{needed.count} are needed ({needed.reason}). Choose features with fewer missing values "
            f"({features[most_missing]} is missing in {missing_counts[most_missing]} rows)."
        )
    kept = kept_rows(matrix, max_rows)
    subsampled = kept.size < complete_count
    matrix = matrix[kept]
    _require_distinct_rows(matrix, features, needed, subsampled)
    means, stds = matrix.mean(axis=0), matrix.std(axis=0)
    if standardize:
        matrix = (matrix - means) / np.where(stds > 0, stds, 1.0)

    colour = table[colour_name]
    if label_column:
        colour_values = np.array([str(v) for v in np.asarray(colour)[kept]])
    else:
        colour_values = _as_float(table, colour_name, "choose another color_by in the config")[kept]
    row_ids = row_identifiers(table, kept)
    summary = {
        "rows_in": len(table),
        "rows_dropped_incomplete": len(table) - complete_count,
        "rows_kept": int(kept.size),
        "subsampled_to": max_rows if subsampled else None,
        "features": features,
        "derived": derive,
        "standardized": standardize,
        "means": dict(zip(features, means.round(6).tolist())),
        "stds": dict(zip(features, stds.round(6).tolist())),
        "colour": colour_name,
    }
    return PreparedFeatures(
        matrix=matrix.astype(np.float64),
        feature_names=list(features),
        row_ids=row_ids,
        colour_values=colour_values,
        colour_name=colour_name,
        colour_unit=str(colour.unit) if getattr(colour, "unit", None) is not None else "",
        colour_is_label=bool(label_column),
        summary=summary,
    )

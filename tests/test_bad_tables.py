"""Bad source tables end in one line that names the file or the column, what is wrong and the fix,
never in a traceback (issue 23); every bad table is built from real rows of the shipped snapshot."""

import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from dimred_flow.config import validate_config
from dimred_flow.derivation import derive
from dimred_flow.features import FeatureError, prepare_features
from dimred_flow.plan import features_settings
from dimred_flow.tables import TableError, read_table_file
from environment_files import REPO

SNAPSHOT = REPO / "data" / "gaia_dr2_open_clusters.csv"
FEATURES = ["xgal", "ygal", "zgal", "abs_g", "bp_rp", "parallax", "pmra", "pmdec"]
DERIVE = ["galactocentric_xyz", "absolute_g_magnitude"]
# What the rule passes for the default config: the largest n_neighbors (UMAP's 15) plus the row itself.
MIN_DISTINCT_ROWS = 16


def snapshot_lines(n_rows: int) -> tuple[str, list[str]]:
    """The snapshot's header and its first `n_rows` data lines, each of which has every feature."""
    with SNAPSHOT.open() as file:
        header = next(file).rstrip("\n")
        return header, [next(file).rstrip("\n") for _ in range(n_rows)]


def write_csv(path, header: str, rows: list[str]):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def text_in_numeric_column(tmp_path):
    header, rows = snapshot_lines(50)
    cells = rows[2].split(",")
    cells[header.split(",").index("parallax")] = "n/a?"
    rows[2] = ",".join(cells)
    return write_csv(tmp_path / "text_parallax.csv", header, rows)


def random_bytes(tmp_path):
    # The 50 MB of random bytes fail at the first byte that is not UTF-8, as 1 MB does: the CSV
    # reader decodes the whole file before it parses a line, so the size changes nothing but the time.
    path = tmp_path / "random.csv"
    path.write_bytes(np.random.default_rng(23).bytes(1_000_000))
    return path


def parquet_named_csv(tmp_path):
    header, rows = snapshot_lines(20)
    table = read_table_file(write_csv(tmp_path / "real.csv", header, rows))
    path = tmp_path / "parquet_inside.csv"
    table.write(path, format="parquet")
    return path


def one_row(tmp_path):
    header, rows = snapshot_lines(1)
    return write_csv(tmp_path / "one_row.csv", header, rows)


def identical_rows(tmp_path):
    header, rows = snapshot_lines(1)
    return write_csv(tmp_path / "identical_rows.csv", header, rows * 200)


def few_distinct_rows(tmp_path):
    header, rows = snapshot_lines(12)
    return write_csv(tmp_path / "twelve_distinct_rows.csv", header, rows * 17)


def prepare(table, **overrides):
    options = {
        "derive": DERIVE,
        "label_column": "Cluster",
        "color_by": "bp_rp",
        "standardize": True,
        "max_rows": None,
        "min_distinct_rows": MIN_DISTINCT_ROWS,
    }
    return prepare_features(table, overrides.pop("features", FEATURES), **{**options, **overrides})


def test_random_bytes_named_csv_are_a_table_error_naming_the_file(tmp_path):
    path = random_bytes(tmp_path)
    with pytest.raises(TableError, match=rf"Cannot read {path} as CSV: it is binary, not UTF-8 text") as raised:
        read_table_file(path)
    assert ".parquet" in str(raised.value) and "\n" not in str(raised.value)


def test_parquet_named_csv_is_told_to_take_its_own_extension(tmp_path):
    path = parquet_named_csv(tmp_path)
    with pytest.raises(TableError, match=rf"{path} is a Parquet file .* rename it to \.parquet"):
        read_table_file(path)


def test_malformed_csv_gives_the_readers_reason_on_one_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3\n4,5,6\n")
    with pytest.raises(TableError, match=rf"Cannot read {path} as CSV: Number of header columns") as raised:
        read_table_file(path)
    assert "\n" not in str(raised.value)


def test_text_in_a_numeric_column_names_column_value_and_row(tmp_path):
    table = read_table_file(text_in_numeric_column(tmp_path))
    with pytest.raises(FeatureError, match=r"Column 'parallax' must be numeric but row 3 .* holds 'n/a\?'.*derive"):
        prepare(table)
    with pytest.raises(FeatureError, match=r"row 3 .* or remove parallax from features in the config"):
        prepare(table, features=["parallax", "pmra"], derive=[])


def test_nulls_in_a_text_column_stay_missing_values():
    text = MaskedColumn([str(value) for value in range(20)], mask=[row < 4 for row in range(20)])
    table = Table({"a": text, "b": np.arange(20.0) ** 2})
    prepared = prepare(table, features=["a", "b"], derive=[], label_column=None, color_by="b")
    assert prepared.summary["rows_dropped_incomplete"] == 4
    assert prepared.matrix.shape == (16, 2)


def test_one_row_is_told_how_many_rows_are_needed_and_why(tmp_path):
    table = read_table_file(one_row(tmp_path))
    with pytest.raises(FeatureError) as raised:
        prepare(table)
    message = str(raised.value)
    assert "has 1 row; at least 16 are needed" in message
    assert "n_neighbors of the chosen methods and stability.n_neighbors" in message
    assert "missing" not in message


def test_rows_dropped_for_missing_values_keep_the_missing_values_message():
    table = Table({"a": np.arange(20.0), "b": MaskedColumn(np.arange(20.0), mask=[row < 15 for row in range(20)])})
    with pytest.raises(FeatureError, match=r"Only 5 of 20 rows .* fewer missing values \(b is missing in 15 rows\)"):
        prepare(table, features=["a", "b"], derive=[], label_column=None, color_by="a")


def test_identical_rows_are_degenerate(tmp_path):
    table = read_table_file(identical_rows(tmp_path))
    with pytest.raises(FeatureError, match=r"All 200 rows have the same features .* at least 16 distinct rows"):
        prepare(table)


def test_fewer_distinct_rows_than_neighbours_are_degenerate(tmp_path):
    table = read_table_file(few_distinct_rows(tmp_path))
    with pytest.raises(FeatureError, match=r"Only 12 of the 204 rows have distinct features .* at least 16"):
        prepare(table)
    assert prepare(table, min_distinct_rows=12).matrix.shape == (204, 8)


def test_a_subsample_too_small_for_the_neighbours_asks_for_more_rows():
    table = Table({"a": np.arange(100.0), "b": np.arange(100.0) ** 2})
    with pytest.raises(FeatureError, match=r"Only 10 of the 10 rows .* raise max_rows"):
        prepare(table, features=["a", "b"], derive=[], label_column=None, color_by="a", max_rows=10)


@pytest.mark.parametrize(
    ("bad_table", "named"),
    [
        (text_in_numeric_column, "Column 'parallax'"),
        (random_bytes, "random.csv"),
        (parquet_named_csv, "parquet_inside.csv"),
        (one_row, "has 1 row"),
        (identical_rows, "All 200 rows"),
        (few_distinct_rows, "Only 12 of the 204 rows"),
    ],
)
def test_programs_end_a_bad_table_with_one_line(tmp_path, bad_table, named):
    """import_table.py then prepare_features.py, as the workflow runs them: the first that fails
    prints one line on stderr."""
    source = bad_table(tmp_path)
    table = tmp_path / "table.parquet"
    settings = features_settings(validate_config({}))
    features = ["--settings", json.dumps(settings), "--fingerprint", derive("prepare_features", settings, {})]
    programs = [
        ["import_table.py", "--source", source, "--table", table, "--provenance", tmp_path / "provenance.json"],
        ["prepare_features.py", "--table", table, *features, "--min-distinct-rows", str(MIN_DISTINCT_ROWS),
         "--out", tmp_path / "features.npz", "--summary", tmp_path / "features.json"],
    ]
    for program, *args in programs:
        command = [sys.executable, REPO / "scripts" / program, *args]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            break
    assert result.returncode != 0, f"{source.name} went through both programs"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("ERROR: ") and named in lines[0]

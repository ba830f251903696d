import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from dimred_flow import features
from dimred_flow.features import FeatureError, columns_read, prepare_features, subsample
from dimred_flow.tables import read_parquet, read_table_file, write_parquet

FEATURES = ["xgal", "ygal", "zgal", "abs_g", "bp_rp", "parallax", "pmra", "pmdec"]
DERIVE = ["galactocentric_xyz", "absolute_g_magnitude"]


@pytest.fixture(scope="module")
def snapshot():
    return read_table_file("data/gaia_dr2_open_clusters.csv")


def prepare(table, **overrides):
    options = {"derive": DERIVE, "label_column": "Cluster", "color_by": "bp_rp", "standardize": True, "max_rows": None}
    return prepare_features(table, overrides.pop("features", FEATURES), **{**options, **overrides})


def test_snapshot_features_are_standardised_and_drops_recorded(snapshot):
    prepared = prepare(snapshot)
    assert prepared.matrix.shape == (5370, 8)
    assert prepared.summary["rows_dropped_incomplete"] == 5629 - 5370
    np.testing.assert_allclose(prepared.matrix.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(prepared.matrix.std(axis=0), 1, atol=1e-9)
    assert set(prepared.colour_values) >= {"Pleiades", "Hyades"}


def test_galactocentric_positions_are_physical(snapshot):
    prepared = prepare(snapshot, standardize=False)
    x, z = prepared.matrix[:, 0], prepared.matrix[:, 2]
    # Nearby clusters sit around the Sun: x near -8.1 kpc (astropy's frame), z within a few hundred pc.
    assert -8.4 < np.median(x) < -8.0
    assert np.mean(np.abs(z) < 0.5) > 0.99


def test_masked_values_are_dropped_not_zeroed():
    n = 20
    table = Table({"a": np.arange(n, dtype=float), "b": MaskedColumn(np.ones(n), mask=[i < 5 for i in range(n)])})
    prepared = prepare(table, features=["a", "b"], derive=[], label_column=None, color_by="a", standardize=False)
    assert prepared.summary["rows_dropped_incomplete"] == 5
    assert prepared.matrix[:, 1].tolist() == [1.0] * 15


def test_missing_feature_lists_the_available_columns(snapshot):
    with pytest.raises(FeatureError, match=r"no column 'mg0'.*Available columns: .*parallax"):
        prepare(snapshot, features=["mg0", "parallax"])


def test_all_null_feature_is_named():
    table = Table({"a": np.arange(20.0), "b": MaskedColumn(np.zeros(20), mask=[True] * 20)})
    with pytest.raises(FeatureError, match="b hold no values"):
        prepare(table, features=["a", "b"], derive=[], label_column=None, color_by="a")


def test_empty_table_is_rejected():
    with pytest.raises(FeatureError, match="no rows"):
        prepare(Table({"a": [], "b": []}), features=["a", "b"], derive=[], label_column=None, color_by="a")


def test_subsample_is_fixed_and_seed_independent():
    first = subsample(10_000, 2000)
    assert first.size == 2000 and np.array_equal(first, subsample(10_000, 2000))
    assert first[0] == 0 and first[-1] == 9_999 and np.all(np.diff(first) > 0)
    assert np.array_equal(subsample(500, 2000), np.arange(500))


def test_subsample_is_deterministic(snapshot):
    first, second = prepare(snapshot, max_rows=300), prepare(snapshot, max_rows=300)
    assert first.matrix.shape == (300, 8)
    assert np.array_equal(first.row_ids, second.row_ids)


def test_read_in_columns_and_transformed_in_parts_the_features_are_those_of_the_whole_table(snapshot, tmp_path, monkeypatch):
    """prepare_features reads only the columns it uses, and the Galactocentric transform takes a million rows
    at a time (500 here): the same matrix, and a missing column's message still lists the file's columns."""
    whole = prepare(snapshot)
    write_parquet(snapshot, tmp_path / "table.parquet")
    columns = columns_read(FEATURES, DERIVE, "Cluster")
    assert {"ra", "dec", "parallax", "phot_g_mean_mag", "Cluster", "source_id"} <= set(columns)
    read = read_parquet(tmp_path / "table.parquet", columns)
    assert len(read.colnames) < len(snapshot.colnames) / 3
    monkeypatch.setattr(features, "TRANSFORM_CHUNK_ROWS", 500)
    parts = prepare(read)
    np.testing.assert_array_equal(parts.matrix, whole.matrix)
    np.testing.assert_array_equal(parts.row_ids, whole.row_ids)
    with pytest.raises(FeatureError, match=r"no column 'mg0'.*Available columns: .*ra_error"):
        prepare(read_parquet(tmp_path / "table.parquet", columns_read(["mg0"], [], "Cluster")), features=["mg0"], derive=[])

"""The embedding catalogue (issue 25): its columns, units, UCDs, descriptions and metadata, its rows
joined to the table they came from, and the same in its FITS and VOTable files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from dimred_flow.catalogue import (
    CatalogueError,
    ProjectedMethod,
    RunDescription,
    Selection,
    catalogue_table,
    write_fits,
    write_votable,
)
from dimred_flow.features import load_features, prepare_features

ROWS = 60
FEATURES = ["parallax", "pmra", "abs_g"]
DERIVE = ["absolute_g_magnitude"]
RUN = RunDescription(
    fingerprint="f" * 64,
    seeds={1: 111, 2: 222},
    methods=[
        ProjectedMethod("alpha", "Alpha (k=5)", {"k": 5}),
        ProjectedMethod("beta", "Beta", {}),
    ],
    version="9.9.9",
)


def source_table(with_identifier: bool = True) -> Table:
    """A star table with units and a UCD, two incomplete rows and a label."""
    generator = np.random.default_rng(1)
    table = Table()
    if with_identifier:
        table["source_id"] = np.arange(ROWS, dtype=np.int64) * 1000 + 7
    table["ra"] = generator.uniform(0, 360, ROWS) * u.deg
    table["dec"] = generator.uniform(-90, 90, ROWS) * u.deg
    table["parallax"] = MaskedColumn(generator.uniform(1, 10, ROWS), unit=u.mas, mask=np.arange(ROWS) == 3)
    table["parallax"].meta["ucd"] = "pos.parallax"
    table["parallax"].description = "Parallax"
    table["pmra"] = generator.normal(0, 5, ROWS) * u.mas / u.yr
    table["pmra"][10] = np.nan
    table["phot_g_mean_mag"] = generator.uniform(8, 18, ROWS) * u.mag
    table["Cluster"] = np.array(["Hyades", "Pleiades", "Praesepe"])[np.arange(ROWS) % 3]
    return table


def prepared_features(table: Table, tmp_path, max_rows=None):
    """prepare_features as the workflow runs it, through its .npz file."""
    prepared = prepare_features(
        table, FEATURES, derive=DERIVE, label_column="Cluster", color_by="bp_rp", standardize=True,
        max_rows=max_rows,
    )
    prepared.save(tmp_path / "features.npz", "fingerprint")
    return load_features(tmp_path / "features.npz")


def embeddings_for(rows: int) -> dict[str, dict[int, np.ndarray]]:
    generator = np.random.default_rng(2)
    return {
        projected.name: {i: generator.normal(size=(rows, 2)).astype(np.float32) for i in RUN.seeds}
        for projected in RUN.methods
    }


@pytest.fixture
def made(tmp_path):
    table = source_table()
    features = prepared_features(table, tmp_path)
    embeddings = embeddings_for(len(features.row_ids))
    catalogue = catalogue_table(table, features, Selection(DERIVE, None), embeddings, RUN)
    return table, features, embeddings, catalogue


def test_columns_in_order_identifier_position_label_features_embeddings(made):
    _, _, _, catalogue = made
    assert catalogue.colnames == [
        "source_id", "ra", "dec", "Cluster", "parallax", "pmra", "abs_g",
        "alpha_1_x", "alpha_1_y", "alpha_2_x", "alpha_2_y", "beta_1_x", "beta_1_y", "beta_2_x", "beta_2_y",
    ]


def test_one_row_per_kept_star_joined_to_its_table_row(made):
    table, features, _, catalogue = made
    assert len(catalogue) == ROWS - 2
    np.testing.assert_array_equal(catalogue["source_id"], features.row_ids)
    by_id = {int(row["source_id"]): row for row in table}
    for row in catalogue:
        source = by_id[int(row["source_id"])]
        assert row["Cluster"] == source["Cluster"]
        assert row["ra"] == source["ra"] and row["parallax"] == source["parallax"]
    # Raw values, not the standardised matrix the projections read.
    assert catalogue["parallax"].min() >= 1


def test_derived_features_carry_their_values_and_units(made):
    table, _, _, catalogue = made
    row = table[table["source_id"] == catalogue["source_id"][0]][0]
    expected = row["phot_g_mean_mag"] + 5 * np.log10(row["parallax"] / 100)
    assert catalogue["abs_g"][0] == pytest.approx(expected)
    assert catalogue["abs_g"].unit == u.mag


def test_units_ucds_and_descriptions(made):
    _, _, _, catalogue = made
    assert catalogue["ra"].unit == u.deg and catalogue["pmra"].unit == u.mas / u.yr
    assert catalogue["source_id"].meta["ucd"] == "meta.id;meta.main"
    assert catalogue["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert catalogue["dec"].meta["ucd"] == "pos.eq.dec;meta.main"
    assert catalogue["parallax"].meta["ucd"] == "pos.parallax"
    assert catalogue["parallax"].description == "Parallax"
    assert catalogue["alpha_2_y"].description == "Alpha (k=5) y of iteration 2 (seed 222)"


def test_embedding_columns_are_the_embeddings_as_float32(made):
    _, _, embeddings, catalogue = made
    for name, by_iteration in embeddings.items():
        for iteration, embedding in by_iteration.items():
            assert catalogue[f"{name}_{iteration}_x"].dtype == np.float32
            np.testing.assert_array_equal(catalogue[f"{name}_{iteration}_x"], embedding[:, 0])
            np.testing.assert_array_equal(catalogue[f"{name}_{iteration}_y"], embedding[:, 1])


def test_a_table_without_source_id_names_rows_by_their_number(tmp_path):
    table = source_table(with_identifier=False)
    features = prepared_features(table, tmp_path, max_rows=20)
    catalogue = catalogue_table(table, features, Selection(DERIVE, 20), embeddings_for(20), RUN)
    assert catalogue.colnames[0] == "source_row" and len(catalogue) == 20
    np.testing.assert_array_equal(catalogue["source_row"], features.row_ids + 1)
    for row in catalogue:
        assert row["ra"] == table["ra"][row["source_row"] - 1]


def test_features_of_another_selection_are_refused(tmp_path):
    table = source_table()
    features = prepared_features(table, tmp_path, max_rows=20)
    with pytest.raises(CatalogueError, match="not prepared from this table"):
        catalogue_table(table, features, Selection(DERIVE, None), embeddings_for(20), RUN)


def test_an_embedding_of_other_rows_is_refused(tmp_path):
    table = source_table()
    features = prepared_features(table, tmp_path)
    with pytest.raises(CatalogueError, match="rerun the projections"):
        catalogue_table(table, features, Selection(DERIVE, None), embeddings_for(10), RUN)


def test_the_fits_file_holds_columns_units_ucds_and_the_run(made, tmp_path):
    *_, catalogue = made
    write_fits(catalogue, tmp_path / "catalogue.fits")
    assert not list(tmp_path.glob("*.partial*"))
    with fits.open(tmp_path / "catalogue.fits") as hdus:
        header = hdus["EMBEDDINGS"].header
        names = [header[f"TTYPE{n}"] for n in range(1, header["TFIELDS"] + 1)]
        assert names == catalogue.colnames and header["NAXIS2"] == len(catalogue)
        number = {name: n for n, name in enumerate(names, start=1)}
        assert header[f"TUCD{number['source_id']}"] == "meta.id;meta.main"
        assert u.Unit(header[f"TUNIT{number['pmra']}"], format="fits") == u.mas / u.yr
        assert header[f"TCOMM{number['beta_1_x']}"] == "Beta x of iteration 1 (seed 111)"
        assert header[f"TFORM{number['beta_1_x']}"] == "E"
        assert header["FPRINT"] == "f" * 64 and header["VERSION"] == "9.9.9"
        assert (header["NITER"], header["SEED1"], header["SEED2"]) == (2, 111, 222)
        assert (header["METHOD1"], header["MLABEL1"], json.loads(header["MSETS1"])) == ("alpha", "Alpha (k=5)", {"k": 5})
    read = Table.read(tmp_path / "catalogue.fits")
    np.testing.assert_array_equal(read["source_id"], catalogue["source_id"])
    np.testing.assert_array_equal(read["alpha_2_y"], catalogue["alpha_2_y"])


def test_the_votable_holds_columns_units_ucds_and_the_run(made, tmp_path):
    *_, catalogue = made
    write_votable(catalogue, tmp_path / "catalogue.vot")
    from astropy.io.votable import parse_single_table

    element = parse_single_table(tmp_path / "catalogue.vot")
    fields = {field.name: field for field in element.fields}
    assert list(fields) == catalogue.colnames
    assert fields["source_id"].ucd == "meta.id;meta.main" and fields["dec"].ucd == "pos.eq.dec;meta.main"
    assert str(fields["ra"].unit) == "deg"
    assert fields["alpha_1_x"].datatype == "float"
    assert fields["alpha_1_x"].description == "Alpha (k=5) x of iteration 1 (seed 111)"
    params = {param.name: param.value for param in element.params}
    assert params["FPRINT"] == "f" * 64 and params["SEED2"] == 222 and params["METHOD2"] == "beta"
    read = element.to_table()
    assert len(read) == len(catalogue)
    np.testing.assert_array_equal(read["Cluster"], catalogue["Cluster"])
    np.testing.assert_array_equal(read["beta_2_x"], catalogue["beta_2_x"])


def test_the_votable_rows_written_by_numpy_read_back_as_astropy_writes_them(tmp_path):
    """binary2_stream, against astropy's own BINARY2 writer: masked values, text, vectors, 64-bit ids."""
    table = Table()
    table["source_id"] = np.array([2**62 + 1, 5, 2**40], dtype=np.int64)
    table["label"] = MaskedColumn(["Hyades", "", "Pleiades"], mask=[False, True, False])
    table["parallax"] = MaskedColumn([1.5, np.nan, -0.25], mask=[False, True, False], unit="mas")
    table["count"] = MaskedColumn(np.array([1, 2, 3], dtype=np.int32), mask=[False, False, True])
    table["x"] = np.arange(6, dtype=np.float32).reshape(3, 2)
    table.meta["parameters"] = []
    write_votable(table, tmp_path / "numpy.vot")
    from astropy.io.votable import from_table, parse_single_table

    from_table(table).to_xml(str(tmp_path / "astropy.vot"), tabledata_format="binary2")
    ours, theirs = (parse_single_table(tmp_path / name).to_table() for name in ("numpy.vot", "astropy.vot"))
    for name in table.colnames:
        np.testing.assert_array_equal(np.ma.getmaskarray(ours[name]), np.ma.getmaskarray(theirs[name]), err_msg=name)
        np.testing.assert_array_equal(np.ma.filled(ours[name]), np.ma.filled(theirs[name]), err_msg=name)
    assert ours["source_id"][0] == 2**62 + 1 and str(ours["parallax"].unit) == "mas"


def test_above_the_fits_column_limit_each_method_becomes_two_vector_columns(tmp_path):
    """FITS holds 999 columns: 250 iterations of two methods fold into alpha_x[250], ... (VOTable keeps them)."""
    table = source_table()
    features = prepared_features(table, tmp_path)
    many = RunDescription(RUN.fingerprint, {i: i for i in range(1, 251)}, RUN.methods, RUN.version)
    rows = len(features.row_ids)
    embeddings = {m.name: {i: np.full((rows, 2), i, dtype=np.float32) for i in many.seeds} for m in many.methods}
    catalogue = catalogue_table(table, features, Selection(DERIVE, None), embeddings, many)
    write_fits(catalogue, tmp_path / "many.fits")
    written = Table.read(tmp_path / "many.fits")
    assert written["alpha_x"].shape == (rows, 250) and "alpha_1_x" not in written.colnames
    assert written["beta_y"][0, 249] == 250
    write_votable(catalogue, tmp_path / "many.vot")
    assert "beta_250_y" in Table.read(tmp_path / "many.vot").colnames


def test_written_a_few_rows_at_a_time_both_files_hold_the_bytes_of_one_write(tmp_path):
    """The writers convert `chunk_rows` rows at a time (a 10,000,000-row catalogue is never copied whole);
    the files are byte for byte those of one conversion, a masked integer's TNULL seen in a late row included."""
    rows = 200
    table = Table()
    table["source_id"] = np.arange(rows, dtype=np.int64) + 2**40
    table["label"] = MaskedColumn(np.array(["Hyades", "Pleiades"])[np.arange(rows) % 2], mask=np.arange(rows) == 170)
    table["count"] = MaskedColumn(np.arange(rows, dtype=np.int32), mask=np.arange(rows) >= 150)
    table["parallax"] = MaskedColumn(np.linspace(0.1, 9, rows), mask=np.arange(rows) % 7 == 3, unit="mas")
    table["x"] = np.arange(2 * rows, dtype=np.float32).reshape(rows, 2)
    table.meta["parameters"] = []
    write_fits(table, tmp_path / "chunked.fits", chunk_rows=3)
    whole = fits.table_to_hdu(table)
    whole.name = "EMBEDDINGS"
    fits.HDUList([fits.PrimaryHDU(), whole]).writeto(tmp_path / "whole.fits")
    assert "TNULL3" in whole.header
    assert (tmp_path / "chunked.fits").read_bytes() == (tmp_path / "whole.fits").read_bytes()
    write_votable(table, tmp_path / "chunked.vot", chunk_rows=57)
    write_votable(table, tmp_path / "whole.vot", chunk_rows=rows)
    assert (tmp_path / "chunked.vot").read_bytes() == (tmp_path / "whole.vot").read_bytes()

"""The reference run's embedding catalogue as astronomers' tools read it: STILTS (the command-line
face of STIL, the library TOPCAT reads tables with) opens the FITS and the VOTable file with every row
and column, and matches every row with the input table on its identifier.

STILTS comes from Debian (tests/servers/stilts/provision.sh, run by `make servers`). Without it the
tests are skipped, except under CI=true, where they fail: CI must never skip them silently.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess

import numpy as np
import pytest
from astropy.table import Table

from dimred_flow.features import load_features
from dimred_flow.tables import read_parquet
from machine_needs import installed_command
from workflow_runner import SMALL_CONFIG

pytestmark = pytest.mark.workflow

CATALOGUE_FILES = ("results/embedding_catalogue.fits", "results/embedding_catalogue.vot")
# The test config's rows, and its methods (the default projections), in panel order.
ROWS = SMALL_CONFIG["max_rows"]
METHODS = ("umap", "pca", "tsne")
FEATURES = ["xgal", "ygal", "zgal", "abs_g", "bp_rp", "parallax", "pmra", "pmdec"]
COLUMNS = [
    "source_id", "ra", "dec", "Cluster", *FEATURES,
    *(f"{method}_{i}_{axis}" for method in METHODS for i in range(1, SMALL_CONFIG["n_test"] + 1) for axis in "xy"),
]


@pytest.fixture(scope="module")
def stilts() -> str:
    return installed_command("stilts", "tests/servers/stilts/provision.sh")


def run_stilts(stilts: str, *arguments: str) -> str:
    done = subprocess.run([stilts, *arguments], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("name", CATALOGUE_FILES)
def test_stilts_reads_every_row_and_column_with_units_ucds_and_the_run(reference_run, stilts, name):
    path = reference_run.workdir / name
    counted = run_stilts(stilts, "tpipe", f"in={path}", "omode=count")
    assert re.search(rf"columns:\s*{len(COLUMNS)}\s+rows:\s*{ROWS}\b", counted), counted
    # One row per column, as STILTS understood it.
    described = run_stilts(stilts, "tpipe", f"in={path}", "cmd=meta", "ofmt=csv")
    columns = {row["Name"]: row for row in csv.DictReader(io.StringIO(described))}
    assert list(columns) == COLUMNS
    assert columns["source_id"]["UCD"] == "meta.id;meta.main" and columns["source_id"]["Class"] == "Long"
    assert (columns["ra"]["UCD"], columns["dec"]["UCD"]) == ("pos.eq.ra;meta.main", "pos.eq.dec;meta.main")
    assert (columns["xgal"]["Units"], columns["abs_g"]["Units"]) == ("kpc", "mag")
    assert columns["umap_2_y"]["Class"] == "Float"
    assert re.fullmatch(r"UMAP y of iteration 2 \(seed \d+\)", columns["umap_2_y"]["Description"])
    parameters = run_stilts(stilts, "tpipe", f"in={path}", "omode=meta")
    assert re.search(r"^FPRINT:\s+[0-9a-f]{64}$", parameters, re.M), parameters
    assert re.search(r"^SEED2:\s+\d+$", parameters, re.M) and re.search(r"^METHOD3:\s+tsne$", parameters, re.M)


@pytest.mark.parametrize("name", CATALOGUE_FILES)
def test_every_catalogue_row_matches_its_input_row_on_source_id(reference_run, stilts, name, tmp_path):
    workdir = reference_run.workdir
    # STILTS 3.4 reads no Parquet: the input table goes to it as FITS.
    source = tmp_path / "input.fits"
    read_parquet(workdir / "results" / "data" / "file_table.parquet").write(source)
    matched = tmp_path / "matched.fits"
    run_stilts(
        stilts, "tmatch2", f"in1={workdir / name}", f"in2={source}", "matcher=exact",
        "values1=source_id", "values2=source_id", "join=1and2", "find=best1", f"out={matched}", "ofmt=fits",
    )
    joined = Table.read(matched)
    assert len(joined) == ROWS
    # Columns both tables have come back as NAME_1 (the catalogue's) and NAME_2 (the input's).
    for column in ("ra", "dec", "Cluster", "parallax", "pmra", "pmdec", "bp_rp"):
        np.testing.assert_array_equal(joined[f"{column}_1"], joined[f"{column}_2"], err_msg=column)
    features = next((workdir / "results" / "data" / "features").glob("*.npz"))
    np.testing.assert_array_equal(joined["source_id_1"], load_features(features).row_ids)


def test_the_catalogue_embeddings_are_the_runs_arrays(reference_run):
    catalogue = Table.read(reference_run.workdir / CATALOGUE_FILES[0])
    for method in METHODS:
        for path in (reference_run.workdir / "results" / "embeddings" / method).glob("*/iteration_*.npy"):
            iteration = int(re.search(r"iteration_(\d+)", path.name).group(1))
            embedding = np.load(path)
            np.testing.assert_array_equal(catalogue[f"{method}_{iteration}_x"], embedding[:, 0])
            np.testing.assert_array_equal(catalogue[f"{method}_{iteration}_y"], embedding[:, 1])

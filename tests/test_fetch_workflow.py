"""The fetch rules against the real DaCHS test server (tests/servers/dachs): the workflow with a
TAP source, its provenance, re-runs decided by the query, chunks, and readable failures.

Full workflow runs cost about a minute of CPU each (UMAP compiles numba per process), so only one
test runs the whole workflow; the others stop at the fetched table or at the feature matrix.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from dachs_fixture import COLUMNS, LARGE_TABLE, N_ROWS, TABLE, assert_same_tables
from dimred_flow.config import validate_config
from dimred_flow.tables import read_parquet
from dimred_flow.tap import fetch_table
from workflow_runner import REPO, deep_merge, run_snakemake

pytestmark = pytest.mark.workflow

TAP_TABLE = "results/data/tap_table.parquet"
CHUNKED_TABLE = "results/data/tap_chunked_table.parquet"
# The features' path carries their fingerprint: asked for by the rule's name.
FEATURES_NPZ = "prepare_features"
FEATURES = ["xgal", "ygal", "zgal", "bprp0", "mg0", "parallax", "pmra", "pmdec"]
SEED_QUERY = (
    "SELECT TOP 1000 sh.*, g.ra, g.dec, g.parallax, g.pmra, g.pmdec FROM gaiaedr3.gaia_source AS g "
    "JOIN gaiaedr3_contrib.starhorse AS sh USING (source_id)"
)
# Newlines, both quote characters, shell metacharacters and braces: all must reach the service as written.
AWKWARD_QUERY = f"""SELECT {', '.join(COLUMNS)},
       'it''s "quoted"' AS note  -- $HOME, `date`, $(id) and {{braces}} stay ADQL
FROM {TABLE}
ORDER BY source_id
"""
CHUNKS = {"column": "random_index", "edges": [0, 333, 666, N_ROWS - 1]}
CHUNK_QUERY = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {{chunk_condition}} ORDER BY source_id"
# Large enough that each chunk is an async job of its own and above the profile's maxrec of 5,000.
LARGE_ROWS = 50_000


def load_profile(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def dachs_config(url: str, **tap) -> dict:
    """config/dachs_local.yaml pointed at the fixture's server, with `tap` overriding source.tap."""
    profile = load_profile("dachs_local.yaml")
    profile["source"]["tap"].update(url=url, **tap)
    return profile


def fetch_failure(tmp_path, url: str, target: str = TAP_TABLE, **tap) -> str:
    run = run_snakemake(tmp_path, target, config=dachs_config(url, **tap))
    assert run.returncode != 0, run.output[-3000:]
    return run.output


def assert_one_readable_error(output: str) -> str:
    """The failed job's log holds exactly one 'ERROR: ...' message and no traceback; return it."""
    errors = re.findall(r"^ERROR: .*$", output, flags=re.MULTILINE)
    assert len(errors) == 1, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    return errors[0]


# --------------------------------------------------------------------------- shipped profiles


def test_gaia_aip_profile_is_valid_and_holds_the_seed_query():
    profile = load_profile("gaia_aip.yaml")
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for config in (profile, deep_merge(base, profile)):
        resolved = validate_config(config)
        assert resolved["source"]["kind"] == "tap"
        assert resolved["features"] == FEATURES and resolved["derive"] == []
        assert resolved["label_column"] is None and resolved["color_by"] == "mg0"
    tap = profile["source"]["tap"]
    assert tap["url"] == "https://gaia.aip.de/tap"
    query = " ".join(tap["query"].split())
    assert query == f"{SEED_QUERY} ORDER BY source_id"
    assert re.match(r"SELECT TOP 1000 ", query) and re.search(r" ORDER BY source_id$", query)
    # StarHorse (sh.*) holds the positions and photometry; Gaia (g.) the astrometry.
    assert "sh.*" in query and "gaiaedr3_contrib.starhorse AS sh" in query
    for name in ("parallax", "pmra", "pmdec"):
        assert f"g.{name}" in query
    # DaCHS-like services flag OVERFLOW when the row count equals maxrec.
    assert tap["maxrec"] > 1000


def test_gaia_aip_query_shape_runs_on_dachs(dachs_tap_url):
    """The same ADQL (join with USING, ORDER BY the joined column) parsed and run by a real ADQL engine."""
    query = load_profile("gaia_aip.yaml")["source"]["tap"]["query"]
    local = query.replace("gaiaedr3.gaia_source", TABLE).replace("gaiaedr3_contrib.starhorse", TABLE)
    table, provenance = fetch_table(dachs_tap_url, local, maxrec=2000, mode="sync")
    assert provenance["row_count"] == min(1000, N_ROWS)
    assert set(FEATURES) <= set(table.colnames)
    assert (np.diff(np.asarray(table["source_id"])) > 0).all()


def test_dachs_local_profile_is_valid():
    resolved = validate_config(load_profile("dachs_local.yaml"))
    assert resolved["source"]["tap"]["url"] == "http://127.0.0.1:8765/tap"
    assert TABLE in resolved["source"]["tap"]["query"]


# --------------------------------------------------------------------------- the whole workflow


@pytest.fixture(scope="module")
def tap_run(tmp_path_factory, dachs_tap_url):
    workdir = tmp_path_factory.mktemp("tap_run")
    config = dachs_config(dachs_tap_url, query=AWKWARD_QUERY)
    run = run_snakemake(workdir, config=config).assert_ok()
    return workdir, config, run


def test_workflow_on_dachs_makes_the_merged_pdf(tap_run):
    workdir, _, run = tap_run
    assert (workdir / "results" / "merged_plots.pdf").stat().st_size > 0
    assert "fetch_tap_table" in run.output
    [summary_file] = (workdir / "results" / "data" / "features").glob("*.json")
    summary = json.loads(summary_file.read_text())
    assert summary["rows_in"] == N_ROWS and summary["rows_kept"] == 400
    assert summary["rows_dropped_incomplete"] > 0  # the NULLs, dropped rather than zeroed


def test_provenance_records_service_query_and_columns(tap_run, dachs_tap_url):
    workdir, _, _ = tap_run
    provenance = json.loads((workdir / "results" / "data" / "tap_table.json").read_text())
    assert provenance["service_url"] == dachs_tap_url
    assert provenance["query"] == AWKWARD_QUERY  # byte for byte, through the shell
    assert provenance["maxrec"] == 5000
    assert provenance["row_count"] == N_ROWS and provenance["overflow"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", provenance["fetched_at"])
    columns = {column["name"]: column for column in provenance["columns"]}
    assert list(columns) == [*COLUMNS, "note"]
    assert columns["xgal"]["unit"] == "kpc" and columns["pmra"]["unit"] == "mas / yr"
    assert columns["ra"]["ucd"] == "pos.eq.ra;meta.main"
    assert columns["source_id"]["datatype"] == "long" and columns["ra"]["datatype"] == "double"


def test_fetched_parquet_keeps_nulls_and_units(tap_run):
    workdir, _, _ = tap_run
    raw = pq.read_table(workdir / TAP_TABLE)
    for name in ("xgal", "bprp0", "mg0"):
        assert raw.column(name).null_count > 0, name
        assert np.isfinite(raw.column(name).drop_null().to_numpy()).all(), name
    assert raw.schema.field("xgal").metadata[b"unit"] == b"kpc"
    table = read_parquet(workdir / TAP_TABLE)
    assert str(table["pmra"].unit) == "mas / yr"
    assert table["note"][0] == 'it\'s "quoted"'


def test_unchanged_query_is_not_fetched_again_and_a_changed_one_is(tap_run):
    workdir, config, _ = tap_run
    # run_snakemake writes the config file anew, newer than every output: no reason to fetch again.
    again = run_snakemake(workdir, "-n", FEATURES_NPZ, config=config).assert_ok().output
    assert "Nothing to be done" in again, again[-3000:]

    query = AWKWARD_QUERY.replace("ORDER BY", "WHERE parallax > 1 ORDER BY")
    changed = deep_merge(config, {"source": {"tap": {"query": query}}})
    dry = run_snakemake(workdir, "-n", FEATURES_NPZ, config=changed).assert_ok().output
    assert re.search(r"rule fetch_tap_table:.*?reason: Params have changed", dry, flags=re.DOTALL), dry[-3000:]
    run_snakemake(workdir, TAP_TABLE, config=changed).assert_ok()
    provenance = json.loads((workdir / "results" / "data" / "tap_table.json").read_text())
    assert "WHERE parallax > 1" in provenance["query"] and 0 < provenance["row_count"] < N_ROWS


# --------------------------------------------------------------------------- chunks


def test_chunked_fetch_equals_unchunked(tmp_path, dachs_tap_url):
    run_snakemake(tmp_path, TAP_TABLE, config=dachs_config(dachs_tap_url)).assert_ok()
    run = run_snakemake(
        tmp_path, CHUNKED_TABLE, config=dachs_config(dachs_tap_url, query=CHUNK_QUERY, chunks=CHUNKS)
    ).assert_ok()
    assert len(re.findall(r"^(?:local)?rule fetch_tap_chunk:", run.output, flags=re.MULTILINE)) == 3

    whole, chunked = read_parquet(tmp_path / TAP_TABLE), read_parquet(tmp_path / CHUNKED_TABLE)
    chunked.sort("source_id")
    assert_same_tables(whole, chunked)
    whole_schema, chunked_schema = pq.read_schema(tmp_path / TAP_TABLE), pq.read_schema(tmp_path / CHUNKED_TABLE)
    assert chunked_schema.equals(whole_schema, check_metadata=False)
    for name in COLUMNS:
        assert chunked_schema.field(name).metadata == whole_schema.field(name).metadata, name

    provenance = json.loads((tmp_path / "results" / "data" / "tap_chunked_table.json").read_text())
    assert provenance["query"] == CHUNK_QUERY and provenance["row_count"] == N_ROWS
    assert [chunk["chunk_condition"] for chunk in provenance["chunks"]] == [
        "random_index >= 0 AND random_index < 333",
        "random_index >= 333 AND random_index < 666",
        f"random_index >= 666 AND random_index <= {N_ROWS - 1}",
    ]
    assert sum(chunk["row_count"] for chunk in provenance["chunks"]) == N_ROWS
    assert "{chunk_condition}" not in provenance["chunks"][0]["query"]
    assert [column["name"] for column in provenance["columns"]] == COLUMNS


def test_server_stopped_mid_run_then_rerun_completes(tmp_path, dachs):
    config = dachs_config(dachs.url, query=CHUNK_QUERY, chunks=CHUNKS, retries=1, timeout=20)
    first_chunk = tmp_path / "results" / "data" / "tap_chunks" / "chunk_1.parquet"
    run_snakemake(tmp_path, str(first_chunk.relative_to(tmp_path)), config=config).assert_ok()
    fetched_at = first_chunk.stat().st_mtime_ns

    dachs.stop()
    run = run_snakemake(tmp_path, CHUNKED_TABLE, config=config)
    assert run.returncode != 0
    error = run.output[run.output.index("ERROR: "):]
    assert "connection refused" in error and dachs.url in error and "source.tap.url" in error
    assert "Traceback" not in run.output

    dachs.start()
    run_snakemake(tmp_path, CHUNKED_TABLE, config=config).assert_ok()
    assert first_chunk.stat().st_mtime_ns == fetched_at  # the chunk fetched before the stop is kept
    assert json.loads((tmp_path / "results" / "data" / "tap_chunked_table.json").read_text())["row_count"] == N_ROWS



def test_chunked_fetch_of_a_large_table(tmp_path, dachs_server):
    dachs_server.fill_large_table(LARGE_ROWS)
    query = f"SELECT {', '.join(COLUMNS)} FROM {LARGE_TABLE} WHERE {{chunk_condition}} ORDER BY source_id"
    chunks = {"column": "random_index", "edges": [*range(0, LARGE_ROWS, 10_000), LARGE_ROWS - 1]}
    config = dachs_config(dachs_server.url, query=query, chunks=chunks, maxrec=20_000)
    run_snakemake(tmp_path, CHUNKED_TABLE, config=config).assert_ok()

    chunked = read_parquet(tmp_path / CHUNKED_TABLE)
    chunked.sort("source_id")
    assert list(chunked["source_id"]) == list(range(1, LARGE_ROWS + 1))
    assert sorted(chunked["random_index"]) == list(range(LARGE_ROWS))
    sample, _ = fetch_table(dachs_server.url, f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY source_id",
                            maxrec=N_ROWS + 1)
    # Row i of the large table repeats sample row i mod 1000 (tests/servers/dachs/make_large_table.py).
    expected = sample[(np.asarray(chunked["source_id"]) - 1) % N_ROWS]
    values = [name for name in COLUMNS if name not in ("source_id", "random_index")]
    assert_same_tables(expected[values], chunked[values])
    provenance = json.loads((tmp_path / "results" / "data" / "tap_chunked_table.json").read_text())
    assert [chunk["row_count"] for chunk in provenance["chunks"]] == [10_000] * 5


# --------------------------------------------------------------------------- failures


def test_overflow_fails_naming_maxrec(tmp_path, dachs_tap_url):
    error = assert_one_readable_error(fetch_failure(tmp_path, dachs_tap_url, maxrec=100))
    assert "source.tap.maxrec" in error and "OVERFLOW" in error
    assert not (tmp_path / TAP_TABLE).exists()


@pytest.mark.parametrize(
    "target, query, expected",
    [
        pytest.param(TAP_TABLE, f"SELECT no_such_column FROM {TABLE}", "could not be located", id="adql_error"),
        pytest.param(
            TAP_TABLE, f"SELECT * FROM {TABLE} WHERE parallax > 1000", "query returned no rows", id="empty_result"
        ),
        pytest.param(
            FEATURES_NPZ,
            f"SELECT source_id, xgal, ygal, zgal, mg0, parallax, pmra, pmdec FROM {TABLE}",
            "has no column 'bprp0'",
            id="missing_feature_column",
        ),
    ],
)
def test_failures_end_with_one_readable_error(tmp_path, dachs_tap_url, target, query, expected):
    error = assert_one_readable_error(fetch_failure(tmp_path, dachs_tap_url, target, query=query))
    assert expected in error, error

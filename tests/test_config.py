import subprocess
import sys
from pathlib import Path

import pytest

from dimred_flow.config import (
    ConfigError,
    batch_of,
    describe_keys,
    iteration_seed,
    load_schema,
    method_batches,
    seed_jobs,
    validate_config,
)
from dimred_flow.estimate import rows_before_reading


def test_defaults_fill_an_empty_config():
    config = validate_config({})
    assert config["user_folder"] == "new_user" and config["n_test"] == 5
    assert config["source"]["kind"] == "file"
    assert config["methods"]["tsne"]["implementation"] == "opentsne"
    assert config["stability"] == {"n_neighbors": 10, "max_rows": 2000}


def test_strings_from_the_command_line_are_cast():
    config = validate_config({"n_test": "3", "seed": "7", "user_folder": 123, "standardize": "false"})
    assert config["n_test"] == 3 and config["seed"] == 7
    assert config["user_folder"] == "123" and config["standardize"] is False


@pytest.mark.parametrize("folder", ["../other", "/abs", "a/../../b", "", "with space", "tab\there", "..", ".", "a..b", "nul\x00"])
def test_unsafe_user_folders_are_rejected(folder):
    with pytest.raises(ConfigError, match="user_folder"):
        validate_config({"user_folder": folder})


@pytest.mark.parametrize("folder", [".incoming", ".x", "x" * 65])
def test_reserved_and_overlong_user_folders_are_refused_naming_the_rules(folder):
    # Every area the workflow keeps for itself under the storage root starts with '.' (.incoming is swept).
    with pytest.raises(ConfigError) as error:
        validate_config({"user_folder": folder})
    message = str(error.value)
    assert "'user_folder'" in message and "64" in message and "'.'" in message and "\n" not in message


def test_user_folder_may_hold_64_characters_and_inner_dots():
    assert validate_config({"user_folder": "a" * 64})["user_folder"] == "a" * 64
    assert validate_config({"user_folder": "alice.v2"})["user_folder"] == "alice.v2"


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3:////"])
def test_s3_storage_url_must_name_a_bucket(url):
    with pytest.raises(ConfigError, match=r"'storage\.url'.*s3://bucket"):
        validate_config({"storage": {"url": url}})


@pytest.mark.parametrize(
    "url", ["s3://plots", "s3://plots/prefix", "davs://dcache.example.org/pnfs", "storage", "/abs/dir"]
)
def test_storage_urls_that_name_their_place_pass(url):
    assert validate_config({"storage": {"url": url}})["storage"]["url"] == url


@pytest.mark.parametrize(
    "override, key",
    [
        ({"n_test": 0}, "n_test"),
        ({"n_test": "five"}, "n_test"),
        ({"seed": -1}, "seed"),
        ({"features": ["only_one"]}, "features"),
        ({"methods": {"tsne": {"implementation": "cuda"}}}, "methods.tsne.implementation"),
        ({"storage": {"endpoint_url": "ftp://x"}}, "storage.endpoint_url"),
        ({"storage": {"secret_key": "x"}}, "storage"),
        ({"unknown": 1}, "(top level)"),
    ],
)
def test_invalid_values_name_their_key(override, key):
    with pytest.raises(ConfigError) as error:
        validate_config(override)
    assert f"'{key}'" in str(error.value)
    assert "\n" not in str(error.value)


def test_tap_source_needs_url_and_query():
    with pytest.raises(ConfigError, match=r"source\.tap\.url"):
        validate_config({"source": {"kind": "tap"}})


def test_chunked_query_needs_the_placeholder():
    tap = {"url": "http://x/tap", "query": "SELECT * FROM t", "chunks": {"column": "random_index", "edges": [0, 5, 10]}}
    with pytest.raises(ConfigError, match="chunk_condition"):
        validate_config({"source": {"kind": "tap", "tap": tap}})


@pytest.mark.parametrize("chunks, key", [
    ({"column": "random_index", "edges": [0, 5, 5]}, "edges must increase strictly"),
    ({"column": "ra", "edges": [0, float("inf")]}, "not a finite number"),
])
def test_chunks_are_checked_at_validation(chunks, key):
    tap = {"url": "http://x/tap", "query": "SELECT * FROM t WHERE {chunk_condition}", "chunks": chunks}
    with pytest.raises(ConfigError, match=f"source.tap.chunks.*{key}"):
        validate_config({"source": {"kind": "tap", "tap": tap}})


def test_iteration_seeds_do_not_depend_on_n_test():
    assert iteration_seed(1, 3) == iteration_seed(1, 3)
    assert len({iteration_seed(1, i) for i in range(1, 200)}) == 199
    assert iteration_seed(1, 3) != iteration_seed(2, 3)


@pytest.mark.parametrize("n_test, jobs", [(5, 2), (1, 4), (7, 7), (10, 3), (3, 1)])
def test_batches_cover_every_iteration_once(n_test, jobs):
    batches = method_batches(n_test, jobs)
    covered = [i for first, last in batches for i in range(first, last + 1)]
    assert covered == list(range(1, n_test + 1))
    assert len(batches) == min(jobs, n_test)
    sizes = [last - first + 1 for first, last in batches]
    assert max(sizes) - min(sizes) <= 1


def test_batch_of_finds_the_batch_and_pca_runs_once():
    config = validate_config({"n_test": 5, "methods": {"umap": {"jobs": 2}}})
    assert batch_of(config, "umap", 4) == (4, 5)
    assert batch_of(config, "pca", 4) == (1, 5)


def test_auto_jobs_keep_each_methods_own_number_on_one_machine_unless_its_seeds_take_more_than_their_share():
    config = validate_config({"n_test": 5, "methods": {"umap": {"jobs": "auto"}}})
    assert [seed_jobs(config, name) for name in ("umap", "tsne", "pca")] == [1, 3, 1]
    # 1,000,000 rows: UMAP's five seeds (348 s expected) are less than half of all three methods' (796 s): one job.
    assert [seed_jobs(config, name, rows=1_000_000, cores=2) for name in ("umap", "tsne", "pca")] == [1, 3, 1]
    # 10,000,000 rows: UMAP's placement makes its seeds 1,878 of 2,462 s: two jobs on two cores.
    assert [seed_jobs(config, name, rows=10**7, cores=2) for name in ("umap", "tsne", "pca")] == [2, 3, 1]
    assert [seed_jobs(config, name, rows=10**7, cores=16) for name in ("umap", "tsne")] == [5, 4]


def test_auto_jobs_on_a_cluster_give_a_seed_its_own_job_unless_it_takes_less_than_a_jobs_start():
    config = validate_config({"n_test": 5})
    assert seed_jobs(config, "umap", cluster=True, rows=1_000_000) == 5
    assert seed_jobs(config, "tsne", cluster=True, rows=None) == 5  # a TAP source without maxrec
    assert seed_jobs(config, "pca", cluster=True, rows=1_000_000) == 1  # every seed gives the same embedding
    # 2,000 rows: a UMAP seed takes 2.7 s (its timing), five of them fill two jobs of a 10 s start.
    assert seed_jobs(config, "umap", cluster=True, rows=2_000) == 2
    assert seed_jobs(validate_config({"n_test": 5, "methods": {"umap": {"jobs": "4"}}}), "umap", cluster=True) == 4


def test_rows_before_reading_bound_a_file_by_its_size_and_a_tap_query_by_maxrec():
    assert rows_before_reading(validate_config({}), 5_000_000) == 100_000
    assert rows_before_reading(validate_config({"max_rows": 500}), 5_000_000) == 500
    assert rows_before_reading(validate_config({}), None) is None
    tap = {"kind": "tap", "tap": {"url": "http://127.0.0.1/tap", "query": "SELECT * FROM t", "maxrec": 1000}}
    assert rows_before_reading(validate_config({"source": tap}), None) == 1000
    assert rows_before_reading(validate_config({"source": {**tap, "tap": {**tap["tap"], "maxrec": None}}}), None) is None


def _leaves(schema, path=()):
    for key, sub in schema.get("properties", {}).items():
        if sub.get("properties"):
            yield from _leaves(sub, (*path, key))
        else:
            yield (*path, key), sub


def _wrong_values(sub):
    types = sub.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "enum" in sub:
        yield "no-such-choice"
    if "integer" in types or "number" in types:
        yield "not-a-number"
        if "minimum" in sub or "exclusiveMinimum" in sub:
            yield sub.get("minimum", sub.get("exclusiveMinimum", 0)) - 1
        if "maximum" in sub:
            yield sub["maximum"] + 1
    if "boolean" in types:
        yield "perhaps"
    if "string" in types:
        yield {"a": "mapping"}
    if "array" in types:
        yield 5
    if "object" in types:
        yield "text"


def _nest(path, value):
    for key in reversed(path):
        value = {key: value}
    return value


BAD_VALUES = [
    (".".join(path), value) for path, sub in _leaves(load_schema()) for value in _wrong_values(sub)
]


@pytest.mark.parametrize("key, value", BAD_VALUES, ids=[f"{k}={v!r}" for k, v in BAD_VALUES])
def test_every_key_rejects_a_wrong_value_in_one_readable_line(key, value):
    with pytest.raises(ConfigError) as error:
        validate_config(_nest(key.split("."), value))
    message = str(error.value)
    assert message.startswith("Invalid configuration: config key '") and "\n" not in message
    reported = message.split("'")[1]
    assert key.startswith(reported) or reported.startswith(key), (key, message)


def test_the_sweep_covers_every_key():
    covered = {key for key, _ in BAD_VALUES}
    assert covered == {".".join(path) for path, _ in _leaves(load_schema())}


def test_every_config_key_is_described_and_show_config_prints_it():
    """One command lists every key with its type, default and meaning, from the schema alone."""
    rows = describe_keys(load_schema())
    assert not [key for key, _, _, meaning in rows if not meaning], "keys without a description"
    script = Path(__file__).resolve().parents[1] / "scripts" / "show_config.py"
    shown = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert all(f"{key}  [" in shown for key, *_ in rows)
    assert "storage.timeout  [number]  default 60" in shown and "methods.umap.n_neighbors" in shown

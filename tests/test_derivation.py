"""The cache key cannot drift: every config key changes a result's fingerprint, or the schema says why not."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest

from dimred_flow.config import ConfigError, iteration_seeds, load_schema, validate_config
from dimred_flow.derivation import DerivationError, check_derivation, derive, read_batch_fingerprints, read_carried
from dimred_flow.methods import REGISTRY
from dimred_flow.plan import plan_run, result_neutral_keys

SCHEMA = load_schema()
NEUTRAL = result_neutral_keys(SCHEMA)
TAP = {
    "kind": "tap",
    "tap": {
        "url": "http://127.0.0.1/tap",
        "query": "SELECT * FROM t WHERE {chunk_condition}",
        "maxrec": 1000,
        "chunks": {"column": "random_index", "edges": [0, 5, 10]},
    },
}
# Each key is changed on the configs where it is read: a TAP setting only matters for a TAP source.
EVERY_METHOD = sorted(REGISTRY)
CREATOR = {"name": "A", "orcid": "https://orcid.org/0000-0002-1825-0097", "affiliation": "B", "affiliation_url": "https://c"}
BASES = {
    "file source": {"projections": EVERY_METHOD},
    "TAP source": {"source": TAP, "projections": EVERY_METHOD},
    "a creator named": {"projections": EVERY_METHOD, "creator": CREATOR},
}
# A different valid value where the schema alone does not suggest one.
OTHER_VALUES = {
    "user_folder": "someone_else",
    "source.path": "data/other.csv",
    "source.endpoint_url": "http://127.0.0.1:9000",
    "source.tap.url": "http://127.0.0.1/other-tap",
    "source.tap.query": "SELECT ra FROM t WHERE {chunk_condition}",
    "source.tap.chunks.column": "source_id",
    "source.tap.chunks.edges": [0, 3, 10],
    "derive": ["galactocentric_xyz"],
    "features": ["xgal", "ygal"],
    "label_column": None,
    "color_by": "parallax",
    "storage.url": "elsewhere",
    "storage.endpoint_url": "http://127.0.0.1:9000",
    "container_image": "docker://example.org/other:1",
    "projections": ["umap", "pca"],
    "creator.name": "Someone Else",
    "creator.orcid": "https://orcid.org/0000-0001-5109-3700",
    "creator.affiliation": "Elsewhere",
    "creator.affiliation_url": "https://elsewhere.example",
    "reana.rule_backends": {"project_embeddings": "htcondorcern"},
    "reana.settings.htcondor_accounting_group": "group_u_dimred",
    "reana.settings.slurm_partition": "short",
    "reana.settings.c4p_additional_requirements": "(CUDACapability >= 7)",
    **{f"methods.{name}.jobs": 4 for name, known in REGISTRY.items() if known.stochastic},
}


def leaves(schema, path=()):
    for key, sub in schema.get("properties", {}).items():
        if "properties" in sub:
            yield from leaves(sub, (*path, key))
        else:
            yield ".".join((*path, key)), sub


def other_value(key: str, sub: dict, current):
    if key in OTHER_VALUES:
        return OTHER_VALUES[key]
    if "enum" in sub:
        return next(choice for choice in sub["enum"] if choice != current)
    types = sub.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "boolean" in types:
        return not current
    if "integer" in types:
        low = sub.get("minimum", 1)
        return low + 10 if current is None else (current - 1 if current + 1 > sub.get("maximum", current + 1) else current + 1)
    if "number" in types:
        return 0.5 if current is None else (current / 2 if current * 2 > sub.get("maximum", current * 2) else current * 2)
    raise AssertionError(f"no other value for {key}: add one to OTHER_VALUES")


def nested(config: dict, key: str):
    for part in key.split("."):
        config = config[part]
    return config


def parents(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def with_value(config: dict, key: str, value) -> dict:
    changed = copy.deepcopy(config)
    *parents, last = key.split(".")
    target = changed
    for part in parents:
        target = target[part]
    target[last] = value
    return changed


def plan(config: dict, remote_state=None):
    validated = validate_config(config)
    return plan_run(validated, iteration_seeds(validated), remote_state)


def is_neutral(key: str) -> bool:
    return any(key == declared or key.startswith(f"{declared}.") for declared in NEUTRAL)


KEYS = [key for key, _ in leaves(SCHEMA)]


@pytest.mark.parametrize("key", KEYS)
def test_every_config_key_changes_a_fingerprint_or_is_declared_result_neutral(key):
    sub = dict(leaves(SCHEMA))[key]
    changes = {}
    for name, base in BASES.items():
        config = validate_config(base)
        if not all(isinstance(nested(config, parent), dict) for parent in parents(key)):
            continue  # e.g. chunks.column where chunks is null: the key is not read there
        changed = with_value(config, key, other_value(key, sub, nested(config, key)))
        with contextlib.suppress(ConfigError):  # e.g. kind 'tap' on the file source, which names no service
            changes[name] = plan(changed) != plan(config)
    assert changes, f"no base config accepts another value of {key}"
    if is_neutral(key):
        assert not any(changes.values()), f"{key} is declared result-neutral but changes a fingerprint: {changes}"
    else:
        assert any(changes.values()), (
            f"changing {key} changes no fingerprint: derive it into a job's settings, or declare it "
            f"'x-result-neutral: <reason>' in the schema"
        )


def test_every_declared_result_neutral_key_says_why():
    assert NEUTRAL and all(len(reason.split()) >= 4 for reason in NEUTRAL.values()), NEUTRAL


def test_a_remote_tables_state_is_part_of_every_fingerprint():
    first, second = plan({}, {"size": 10, "etag": "a"}), plan({}, {"size": 10, "etag": "b"})
    assert first.features != second.features and first.plots[1] != second.plots[1]


def test_more_iterations_keep_the_fingerprints_of_the_earlier_ones():
    two, three = plan({"n_test": 2}), plan({"n_test": 3})
    assert {i: two.plots[i] for i in (1, 2)} == {i: three.plots[i] for i in (1, 2)}
    assert two.run != three.run and two.stability != three.stability


def test_job_counts_only_schedule():
    assert plan({}) == plan({"methods": {"umap": {"jobs": 5}, "tsne": {"jobs": 1}}})


def test_a_job_refuses_inputs_made_with_other_settings(tmp_path):
    expected = derive("step", {"k": 1}, {"features": "a"})
    assert check_derivation("step", {"k": 1}, {"features": "a"}, expected, [tmp_path]) == expected
    with pytest.raises(DerivationError, match=r"step was given inputs made with other settings .*delete them and rerun"):
        check_derivation("step", {"k": 1}, {"features": "b"}, expected, [tmp_path / "features.npz"])


def test_a_result_without_a_fingerprint_is_refused(tmp_path):
    np.savez(tmp_path / "old.npz", matrix=np.zeros(2))
    with pytest.raises(DerivationError, match=r"old\.npz carries no fingerprint.*delete it and rerun"):
        read_carried(tmp_path / "old.npz")
    (tmp_path / "batch").mkdir()
    with pytest.raises(DerivationError, match="batch carries no fingerprint"):
        read_batch_fingerprints(tmp_path / "batch")

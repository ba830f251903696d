"""Configuration: schema validation with defaults, per-iteration seeds, job batches.

Imported by the Snakefile at parse time, so it stays light (no numpy, no network)
and never touches credentials.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path

import jsonschema
import yaml

from dimred_flow.backends import REANA_BACKENDS
from dimred_flow.chunks import ChunkError, chunk_conditions, require_placeholder
from dimred_flow.costs import CLUSTER_JOB_START_S
from dimred_flow.errors import UserError
from dimred_flow.methods import REGISTRY, method

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(UserError, ValueError):
    """An invalid configuration; the message names the key and the fix."""


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    """The config schema, with each method's settings from its module (dimred_flow.methods) and the REANA
    backends from dimred_flow.backends."""
    with open(path) as handle:
        schema = yaml.safe_load(handle)
    schema["properties"]["methods"]["properties"] = {
        name: {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "properties": copy.deepcopy(known.config_settings),
        }
        for name, known in REGISTRY.items()
    }
    schema["properties"]["projections"]["items"]["enum"] = sorted(REGISTRY)
    reana = schema["properties"]["reana"]["properties"]
    reana["compute_backend"]["enum"] = [None, *REANA_BACKENDS]
    reana["rule_backends"]["additionalProperties"] = {"enum": list(REANA_BACKENDS)}
    return schema


def _coerce(value, schema: dict):
    """Turn strings from the command line or REANA parameters into the schema's scalar types."""
    if value is None:
        return value
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, dict) and "properties" in schema:
        return {
            key: _coerce(item, schema["properties"].get(key, {}))
            for key, item in value.items()
        }
    if isinstance(value, str) and types == ["array"] and not value.lstrip().startswith("["):
        # `--config projections=umap,pacmap` (and REANA's string parameters): a comma-separated list.
        value = [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and "items" in schema:
        return [_coerce(item, schema["items"]) for item in value]
    if isinstance(value, str):
        text = value.strip()
        if "integer" in types and text.lstrip("-").isdigit():
            return int(text)
        if "number" in types:
            try:
                return float(text)
            except ValueError:
                return value
        if "boolean" in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if "null" in types and text.lower() in ("null", "none", ""):
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and types in (["string"], ["string", "null"]):
        return str(value)
    return value


def _fill_defaults(value: dict, schema: dict) -> dict:
    for key, sub in schema.get("properties", {}).items():
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if isinstance(value.get(key), dict) and "properties" in sub:
            _fill_defaults(value[key], sub)
    return value


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    description = " ".join(error.schema.get("description", "").split())
    if error.validator == "additionalProperties":
        return f"config key '{key}': {error.message}; see config/README.md for the keys that exist."
    if error.validator in ("pattern", "enum") and description:
        return f"config key '{key}': {error.instance!r} is not allowed. {description}"
    hint = f" ({description})" if description else ""
    return f"config key '{key}': {error.message}{hint}."


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return a validated copy of `config` with defaults filled in, or raise ConfigError."""
    schema = schema or load_schema()
    resolved = _fill_defaults(_coerce(copy.deepcopy(dict(config)), schema), schema)
    # REANA 0.9's client pins jsonschema 3.2, which predates draft 2020-12; the schema
    # uses nothing that draft 7 lacks, so validation is the same there.
    validator_class = getattr(jsonschema, "Draft202012Validator", jsonschema.Draft7Validator)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(resolved), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("Invalid configuration: " + _describe(errors[0]))
    _check_consistency(resolved)
    return resolved


def _check_consistency(config: dict) -> None:
    source = config["source"]
    tap = source["tap"]
    if source["kind"] == "tap":
        for key in ("url", "query"):
            if not tap[key]:
                raise ConfigError(
                    f"Invalid configuration: source.kind is 'tap' but source.tap.{key} is not set; "
                    f"set source.tap.{key} or use source.kind: file."
                )
        chunks = tap["chunks"]
        if chunks:
            try:
                chunk_conditions(chunks["column"], chunks["edges"])
                require_placeholder(tap["query"])
            except ChunkError as error:
                raise ConfigError(f"Invalid configuration: {error}.") from None


def iteration_seed(base_seed: int, iteration: int) -> int:
    """Seed of one iteration: independent of n_test, so adding iterations keeps earlier seeds."""
    digest = hashlib.sha256(f"dimred-flow:{base_seed}:{iteration}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def iteration_seeds(config: dict) -> dict[int, int]:
    return {i: iteration_seed(config["seed"], i) for i in range(1, config["n_test"] + 1)}


def method_batches(n_test: int, jobs: int) -> list[tuple[int, int]]:
    """Split iterations 1..n_test into at most `jobs` contiguous (first, last) ranges of near-equal size."""
    jobs = max(1, min(jobs, n_test))
    size, extra = divmod(n_test, jobs)
    batches, first = [], 1
    for job in range(jobs):
        last = first + size - 1 + (1 if job < extra else 0)
        batches.append((first, last))
        first = last + 1
    return batches


def seed_jobs(
    config: dict, name: str, *, cluster: bool = False, rows: int | None = None, cores: int | None = None
) -> int:
    """Jobs method `name` spreads its seeds over: methods.<name>.jobs, or where that is auto:

    - on one machine, the method's own number, or more where its seeds would take more than their share
      of the `cores` (ten million rows: UMAP's placement), so that no method's jobs are the run's longest
      chain;
    - on a `cluster`, as many as keep each job busy for at least a job's start (CLUSTER_JOB_START_S),
      from the expected seconds of one seed on `rows` rows (the method's timing); one seed per job at
      most, and where the rows are not known before the run, one seed per job.
    """
    known = method(name)
    if not known.stochastic:
        return 1
    jobs = config["methods"][name].get("jobs", "auto")
    if jobs != "auto":
        return jobs
    n_test = config["n_test"]
    if not cluster:
        if rows is None or not cores:
            return known.local_jobs
        # Each method's share of the cores: its seeds' expected seconds over what every chosen method's
        # seeds would take on each core if they shared them evenly.
        shared = sum(_fits_seconds(config, other, rows) for other in config["projections"]) / cores
        return max(known.local_jobs, min(n_test, math.ceil(_fits_seconds(config, name, rows) / shared)))
    if rows is None:
        return n_test
    return max(1, min(n_test, math.ceil(_fits_seconds(config, name, rows) / CLUSTER_JOB_START_S)))


def _fits_seconds(config: dict, name: str, rows: int) -> float:
    """Expected seconds of every fit method `name` makes in a run on `rows` rows (one for every seed where
    the seed matters, else one), from its timing, without its jobs' start."""
    known = method(name)
    fitted = min(rows, config["fit_rows"])
    fits = config["n_test"] if known.stochastic else 1
    return known.timing.job_seconds(fitted, rows - fitted, fits=fits) - known.timing.start


def batches_for(config: dict, name: str) -> list[tuple[int, int]]:
    """The (first, last) iterations of each of method `name`'s jobs; methods.<name>.jobs as seed_jobs reads
    it (the workflow puts the number it chose for this run's executor and table there)."""
    return method_batches(config["n_test"], seed_jobs(config, name))


def batch_of(config: dict, name: str, iteration: int) -> tuple[int, int]:
    for first, last in batches_for(config, name):
        if first <= iteration <= last:
            return first, last
    raise ValueError(f"iteration {iteration} is outside 1..{config['n_test']}")


def describe_keys(schema: dict, path: tuple[str, ...] = ()) -> list[tuple[str, str, str, str]]:
    """Every config key as (key, type, default, meaning), nested keys dotted, from the schema alone."""
    rows = []
    for name, sub in schema.get("properties", {}).items():
        key = ".".join((*path, name))
        if "properties" in sub:
            rows += describe_keys(sub, (*path, name))
            continue
        kind = sub.get("type", "enum" if "enum" in sub else "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        if "enum" in sub:
            kind += f" ({', '.join(str(choice) for choice in sub['enum'])})"
        default = json.dumps(sub["default"]) if "default" in sub else "(required)"
        rows.append((key, kind, default, " ".join(str(sub.get("description", "")).split())))
    return rows

"""How every result is named: a fingerprint derived from what the job that made it received.

A job's fingerprint digests its step, the code version, the settings it is given and the
fingerprints its inputs carry. Each compute program takes its settings as one JSON argument built
by the functions below, so what a job is told and what its fingerprint covers are the same object.
Before anything runs, `plan_run` derives every fingerprint from the config: that is how a stored
plot is found without recomputing it, and why local results live under paths named by their
fingerprint (a changed setting can only name a new path, never reuse an old file). Each job
derives its own fingerprint again from the settings and inputs it actually received, refuses to
run when that differs from the plan, and writes it into its output for the next job to check.

Imported by the Snakefile at parse time: no numpy, no network.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from dimred_flow import __version__
from dimred_flow.errors import UserError
from dimred_flow.methods import METHODS, STOCHASTIC_METHODS

# The leading characters of a fingerprint used in local paths and storage keys: 64 bits.
SHORT = 16
# Schema annotation of a config key that changes no result, with the reason (tests/test_derivation.py).
RESULT_NEUTRAL = "x-result-neutral"


class DerivationError(UserError, RuntimeError):
    """An input that was made with other settings than the plan says; names it and the fix."""


def digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def derive(step: str, settings: dict, inputs: dict) -> str:
    """The fingerprint of what `step` makes from `settings` and inputs carrying these fingerprints."""
    return digest({"step": step, "version": __version__, "settings": settings, "inputs": inputs})


def short(fingerprint: str) -> str:
    return fingerprint[:SHORT]


def check_derivation(step: str, settings: dict, inputs: dict, expected: str, paths) -> str:
    """Derive `step`'s fingerprint from what it received; fail unless it is the one the plan expects."""
    actual = derive(step, settings, inputs)
    if actual != expected:
        raise DerivationError(
            f"{step} was given inputs made with other settings than this run's ({', '.join(map(str, paths))}"
            f" lead to {short(actual)}, the plan expects {short(expected)}): delete them and rerun."
        )
    return actual


def result_neutral_keys(schema: dict, prefix: str = "") -> dict[str, str]:
    """Dotted config keys the schema declares as changing no result, with the reason it gives."""
    neutral = {}
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{prefix}{key}"
        if RESULT_NEUTRAL in sub:
            neutral[dotted] = " ".join(str(sub[RESULT_NEUTRAL]).split())
        neutral.update(result_neutral_keys(sub, f"{dotted}."))
    return neutral


def source_identity(config: dict, remote_state: dict | None) -> dict:
    """The source table as configured: what a fetch is asked for, without how it travels (the keys
    the schema declares result-neutral)."""
    source = config["source"]
    if source["kind"] == "file":
        return {"kind": "file", "path": source["path"], "remote": remote_state}
    from dimred_flow.config import load_schema  # here: the programs that import this module lack yaml

    neutral = result_neutral_keys(load_schema())
    tap = {key: value for key, value in source["tap"].items() if f"source.tap.{key}" not in neutral}
    return {"kind": "tap", "tap": tap}


def features_settings(config: dict, remote_state: dict | None = None) -> dict:
    """prepare_features: the source's identity (the table itself carries no fingerprint) and its options."""
    return {
        "source": source_identity(config, remote_state),
        "features": list(config["features"]),
        "derive": list(config["derive"]),
        "label_column": config["label_column"] or None,
        "color_by": config["color_by"],
        "standardize": bool(config["standardize"]),
        "max_rows": config["max_rows"] or None,
    }


def graph_settings(config: dict) -> dict:
    return {
        "umap_neighbors": int(config["methods"]["umap"]["n_neighbors"]),
        "perplexity": float(config["methods"]["tsne"]["perplexity"]),
        "seed": int(config["seed"]),
        "fit_rows": int(config["fit_rows"]),
    }


def uses_affinities(config: dict) -> bool:
    return config["methods"]["tsne"]["implementation"] == "opentsne"


def affinities_settings(config: dict) -> dict:
    return {"perplexity": float(config["methods"]["tsne"]["perplexity"])}


def embedding_settings(config: dict, method: str) -> dict:
    """A method's parameters; job counts only change scheduling."""
    return {key: value for key, value in config["methods"][method].items() if key != "jobs"}


def plot_settings(config: dict, iteration: int, seed: int) -> dict:
    return {
        "iteration": iteration,
        "seed": seed,
        "tsne_implementation": config["methods"]["tsne"]["implementation"],
        "dpi": int(config["plot"]["dpi"]),
        "point_size": float(config["plot"]["point_size"]),
        "density_above_rows": int(config["plot"]["density_above_rows"]),
    }


def stability_settings(config: dict, seeds: dict[int, int]) -> dict:
    return {
        "seeds": {str(i): seed for i, seed in seeds.items()},
        "n_neighbors": int(config["stability"]["n_neighbors"]),
        "max_rows": int(config["stability"]["max_rows"]),
    }


def embedding_inputs(method: str, features: str, graph: str, affinities: str | None) -> dict:
    """The fingerprints of what a method's job reads."""
    inputs = {"features": features}
    if method != "pca":
        inputs["graph"] = graph
    if method == "tsne" and affinities:
        inputs["affinities"] = affinities
    return inputs


def seeded_settings(method: str, settings: dict, seed: int) -> dict:
    """One iteration's settings: a seed-invariant method (PCA) gives every iteration the same embedding."""
    return {**settings, "seed": seed if method in STOCHASTIC_METHODS else None}


def embedding_fingerprint(method: str, settings: dict, seed: int, inputs: dict) -> str:
    return derive(f"project_{method}", seeded_settings(method, settings, seed), inputs)


@dataclass(frozen=True)
class Plan:
    """Every fingerprint of a run, derived from its config before anything runs."""

    features: str
    graph: str
    affinities: str | None
    embeddings: dict[str, dict[int, str]]
    plots: dict[int, str]
    stability: str
    run: str
    seeds: dict[int, int] = field(default_factory=dict)


def plan_run(config: dict, seeds: dict[int, int], remote_state: dict | None = None) -> Plan:
    features = derive("prepare_features", features_settings(config, remote_state), {})
    graph = derive("compute_neighbour_graph", graph_settings(config), {"features": features})
    affinities = (
        derive("compute_tsne_affinities", affinities_settings(config), {"graph": graph})
        if uses_affinities(config)
        else None
    )
    embeddings = {
        method: {
            i: embedding_fingerprint(
                method, embedding_settings(config, method), seed, embedding_inputs(method, features, graph, affinities)
            )
            for i, seed in seeds.items()
        }
        for method in METHODS
    }
    plots = {
        i: derive(
            "plot_projections",
            plot_settings(config, i, seed),
            {"features": features, **{method: embeddings[method][i] for method in METHODS}},
        )
        for i, seed in seeds.items()
    }
    stability = derive(
        "compute_stability_metrics",
        stability_settings(config, seeds),
        {"features": features, **{method: [embeddings[method][i] for i in seeds] for method in METHODS}},
    )
    run = digest({"plots": [plots[i] for i in seeds], "stability": stability})
    return Plan(features, graph, affinities, embeddings, plots, stability, run, dict(seeds))


def _unfingerprinted(path, error: Exception) -> DerivationError:
    return DerivationError(
        f"{path} carries no fingerprint ({type(error).__name__}): it was made by an interrupted job or an"
        " older release; delete it and rerun."
    )


def read_carried(path: str | Path) -> str:
    """The fingerprint an .npz result carries in its 'fingerprint' entry."""
    import numpy as np  # here: the Snakefile imports this module and never reads a result

    try:
        with np.load(path, allow_pickle=False) as stored:
            return str(stored["fingerprint"])
    except (OSError, KeyError, ValueError) as error:
        raise _unfingerprinted(path, error) from None


def read_batch_fingerprints(directory: str | Path) -> dict[int, str]:
    """The fingerprint of each iteration's embedding in a batch directory (its batch.json)."""
    try:
        record = json.loads((Path(directory) / "batch.json").read_text())
        return {int(i): fingerprint for i, fingerprint in record["fingerprints"].items()}
    except (OSError, KeyError, ValueError) as error:
        raise _unfingerprinted(directory, error) from None

"""The plan of a run: every fingerprint derived from the config before anything runs.

Each compute job is given its settings as one JSON argument built by the functions below, so what
a job is told and what its fingerprint covers are the same object (dimred_flow.derivation). Knowing
every fingerprint in advance is how a stored plot is found without recomputing it, and why local
results live under paths named by their fingerprint: a changed setting can only name a new path,
never reuse a file an interrupted or earlier run left behind.

Imported by the Snakefile at parse time: no numpy, no network.
"""

from __future__ import annotations

from dataclasses import dataclass

from dimred_flow.config import load_schema
from dimred_flow.derivation import derive, digest, embedding_fingerprint
from dimred_flow.methods import METHODS

# Schema annotation of a config key that changes no result, with the reason (tests/test_derivation.py).
RESULT_NEUTRAL = "x-result-neutral"


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
    return Plan(features, graph, affinities, embeddings, plots, stability, run)

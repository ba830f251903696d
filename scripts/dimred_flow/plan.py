"""The plan of a run: every fingerprint derived from the config before anything runs.

Each compute job is given its settings as one JSON argument built by the functions below, so what
a job is told and what its fingerprint covers are the same object (dimred_flow.derivation). Knowing
every fingerprint in advance is how a stored plot is found without recomputing it, and why local
results live under paths named by their fingerprint: a changed setting can only name a new path,
never reuse a file an interrupted or earlier run left behind.

Imported by the Snakefile at parse time: no numpy, no network.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dimred_flow.config import load_schema
from dimred_flow.derivation import derive, digest, embedding_fingerprint
from dimred_flow.methods import method

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


def chosen(config: dict) -> dict[str, dict]:
    """The methods to run, in panel order, each with its settings (job counts only schedule)."""
    return {
        name: {key: value for key, value in config["methods"][name].items() if key != "jobs"}
        for name in config["projections"]
    }


def graph_settings(config: dict) -> dict | None:
    """The shared neighbour graph: as many neighbours as the most demanding method reads; None when
    no chosen method reads it."""
    readers = {name: settings for name, settings in chosen(config).items() if method(name).uses_graph}
    if not readers:
        return None
    return {
        "neighbours": max(method(name).graph_neighbours(settings) for name, settings in readers.items()),
        "placement_neighbours": max(method(name).placement_neighbours(settings) for name, settings in readers.items()),
        "seed": int(config["seed"]),
        "fit_rows": int(config["fit_rows"]),
    }


def plot_settings(config: dict, iteration: int, seed: int) -> dict:
    return {
        "iteration": iteration,
        "seed": seed,
        "panels": [
            {"method": name, "label": method(name).label_for(settings), "stochastic": method(name).stochastic}
            for name, settings in chosen(config).items()
        ],
        "dpi": int(config["plot"]["dpi"]),
        "point_size": float(config["plot"]["point_size"]),
        "density_above_rows": int(config["plot"]["density_above_rows"]),
    }


def stability_settings(config: dict, seeds: dict[int, int]) -> dict:
    return {
        "seeds": {str(i): seed for i, seed in seeds.items()},
        "labels": [[name, method(name).label_for(settings)] for name, settings in chosen(config).items()],
        "n_neighbors": int(config["stability"]["n_neighbors"]),
        "max_rows": int(config["stability"]["max_rows"]),
    }


def catalogue_settings(config: dict, seeds: dict[int, int]) -> dict:
    """write_embedding_catalogue: how prepare_features chose the rows, and what the catalogue records of the run."""
    selection = features_settings(config)
    return {
        "derive": selection["derive"],
        "max_rows": selection["max_rows"],
        "seeds": {str(i): seed for i, seed in seeds.items()},
        "methods": [[name, method(name).label_for(settings), settings] for name, settings in chosen(config).items()],
    }


@dataclass(frozen=True)
class Plan:
    """Every fingerprint of a run, derived from its config before anything runs."""

    features: str
    graph: str | None
    # Each chosen method's input prepared once for every seed, where it has one.
    prepared: dict[str, str]
    embeddings: dict[str, dict[int, str]]
    plots: dict[int, str]
    stability: str
    catalogue: str
    run: str

    def embedding_inputs(self, name: str) -> dict:
        """The fingerprints of what a method's projection job reads."""
        inputs = {"features": self.features}
        if method(name).uses_graph:
            inputs["graph"] = self.graph
        if name in self.prepared:
            inputs["prepared"] = self.prepared[name]
        return inputs


def plan_run(config: dict, seeds: dict[int, int], remote_state: dict | None = None) -> Plan:
    methods = chosen(config)
    features = derive("prepare_features", features_settings(config, remote_state), {})
    graph_config = graph_settings(config)
    graph = derive("compute_neighbour_graph", graph_config, {"features": features}) if graph_config else None
    prepared = {
        name: derive("prepare_method_input", {"method": name, **needed}, {"graph": graph})
        for name, settings in methods.items()
        if (needed := method(name).prepared_settings(settings)) is not None
    }
    plan = Plan(features, graph, prepared, {}, {}, "", "", "")
    embeddings = {
        name: {
            i: embedding_fingerprint(name, settings, seed, method(name).stochastic, plan.embedding_inputs(name))
            for i, seed in seeds.items()
        }
        for name, settings in methods.items()
    }
    plots = {
        i: derive(
            "plot_projections",
            plot_settings(config, i, seed),
            {"features": features, **{name: embeddings[name][i] for name in methods}},
        )
        for i, seed in seeds.items()
    }
    stability = derive(
        "compute_stability_metrics",
        stability_settings(config, seeds),
        {"features": features, **{name: [embeddings[name][i] for i in seeds] for name in methods}},
    )
    catalogue = derive(
        "write_embedding_catalogue",
        catalogue_settings(config, seeds),
        {"features": features, **{name: [embeddings[name][i] for i in seeds] for name in methods}},
    )
    run = digest({"plots": [plots[i] for i in seeds], "stability": stability, "catalogue": catalogue})
    return replace(plan, embeddings=embeddings, plots=plots, stability=stability, catalogue=catalogue, run=run)

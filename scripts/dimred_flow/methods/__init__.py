"""The projection methods, as data: one module per method in this package, each defining `METHOD`.

A method is a `Method`: its name and label, whether its result depends on the iteration's seed, its
settings (a JSON Schema with defaults, merged into the config schema under `methods.<name>`), which
shared inputs it reads (the neighbour graph; an input it prepares once for every seed, as openTSNE's
affinities), how it fits and how it places the rows of a table above `fit_rows`. Adding a method is
adding a module here; nothing outside this package names a particular method.

Imported by the Snakefile at parse time: the modules import their libraries inside `fit`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from dimred_flow.costs import Cost, SeedTiming
from dimred_flow.errors import UserError

# A projection job's memory and time limit: a base, and how much each MB of its input adds (about
# twice the slope measured at 1,000,000 rows; benchmarks/results_archive.json).
PROJECTION_COST = Cost(4000, 60, mem_per_input_mb=12, minutes_per_input_mb=0.1, retried_for_memory=True)
PROJECTION_TIMING = SeedTiming(start=2.0, fit_per_krow=0.4)

# Nearest fitted rows a row above fit_rows is placed from, unless a method reads more.
PLACEMENT_NEIGHBOURS = 15

# methods.<name>.jobs of every method whose seeds give other embeddings (config.seed_jobs reads it).
JOBS_SETTING = {
    "x-result-neutral": "How the seeds are spread over jobs; every seed's embedding is the same in any batch.",
    "description": "Jobs the seeds are spread over: a number, or auto. auto on one machine is the method's own"
    " number, measured on 2 cores; on a cluster (an executor that runs jobs elsewhere) one seed per job, unless the"
    " table is so small that a seed takes less time than a job's start.",
    "type": ["integer", "string"],
    "minimum": 1,
    "pattern": "^auto$",
    "default": "auto",
}


class MethodError(UserError, ValueError):
    """An unknown method name; the message lists the known ones."""


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    # Whether each iteration's seed gives another embedding (PCA's is the same for every seed).
    stochastic: bool
    # JSON Schema properties of methods.<name>, each with its default.
    settings: dict
    # fit(matrix, seed, *, graph, prepared, threads, **settings) -> (rows, 2) float32 embedding of every row.
    fit: Callable
    # Whether it reads the shared neighbour graph (which also holds the fitted subsample above fit_rows).
    uses_graph: bool = True
    # Neighbours per row it reads from the graph, given its settings.
    graph_neighbours: Callable[[dict], int] = lambda settings: 0
    # Nearest fitted rows it reads for each row it places above fit_rows.
    placement_neighbours: Callable[[dict], int] = lambda settings: PLACEMENT_NEIGHBOURS
    # The settings of an input prepared once from the graph for every seed, or None when it needs none.
    prepared_settings: Callable[[dict], dict | None] = lambda settings: None
    # prepare(graph, *, threads, **prepared settings) -> a sparse matrix, saved once and given to fit.
    prepare: Callable | None = None
    # The label as it depends on the settings (e.g. which t-SNE implementation).
    title: Callable[[dict], str] | None = None
    # Memory and time limit of a projection job (dimred_flow/costs.py).
    resources: Cost = PROJECTION_COST
    # Expected seconds of its jobs, fitted to benchmarks/results_methods*.json.
    timing: SeedTiming = PROJECTION_TIMING
    # Scheduling order among the projection jobs (larger first).
    priority: float = 0
    # Jobs its seeds are spread over on one machine where methods.<name>.jobs is auto.
    local_jobs: int = 1
    # Whether a rerun with the same settings, seed, inputs and numeric environment gives the same bytes
    # (each job holds its library to its own threads and seeds every generator). A method that cannot
    # promise it (threads racing, a GPU) says False here, and the README's reproducibility table with it.
    bit_reproducible: bool = True
    # Largest Procrustes disparity between two runs that verify_run.py still calls "within tolerance"
    # (for a bit-reproducible method, what a change of CPU vendor or BLAS kernel may cost at most).
    tolerance: float = 1e-6

    def label_for(self, settings: dict) -> str:
        return self.title(settings) if self.title else self.label

    @property
    def config_settings(self) -> dict:
        """The JSON Schema properties of methods.<name>: its settings, and jobs where it has seeds to spread."""
        return {**self.settings, "jobs": JOBS_SETTING} if self.stochastic else self.settings


def _discover() -> dict[str, Method]:
    found = {}
    for module in pkgutil.iter_modules(__path__):
        method = importlib.import_module(f"{__name__}.{module.name}").METHOD
        found[method.name] = method
    return found


REGISTRY: dict[str, Method] = _discover()


def method(name: str) -> Method:
    try:
        return REGISTRY[name]
    except KeyError:
        raise MethodError(f"Unknown method {name!r}: choose among {', '.join(sorted(REGISTRY))}.") from None

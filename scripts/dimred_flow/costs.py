"""What each rule's job costs: the one model behind the jobs' `mem_mb` and `runtime` (common.smk) and
behind the plan printed before a run (dimred_flow/run_plan.py).

A job's memory and time limit grow with the size of its input, as a cluster needs them: a base, and
so much per MB of input (about twice the slope of the peak RSS measured at 1,000,000 rows,
benchmarks/results_archive.json, so that no job is killed for a table larger than the test's). The
limits are ceilings; what a job is expected to take is a separate figure, `seconds` plus
`seconds_per_krow` per 1,000 table rows, fitted to the per-rule times the benchmark measured on its
2-core machine (benchmarks/results_methods*.json; benchmarks/plan_accuracy.py checks them).

Imported by the Snakefile at parse time: no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A job killed for memory is retried this many times, asking this many times more each time (only the
# compute rules, whose memory is a model's estimate; resources.memory_scale scales their first request).
RETRIES_FOR_MEMORY = 2
MEMORY_GROWTH = 2

# What a job on a cluster costs beyond its work: the scheduler's round trip, Snakemake parsing the
# workflow again in the job, the imports. Seeds are spread over one job each where a seed takes longer.
CLUSTER_JOB_START_S = 10.0


@dataclass(frozen=True)
class Cost:
    mem_mb: int
    minutes: int
    mem_per_input_mb: float = 0.0
    minutes_per_input_mb: float = 0.0
    # Whether the job is retried with more memory when a cluster kills it for memory.
    retried_for_memory: bool = False
    # Expected wall seconds of one job: a start, and per 1,000 rows of the table.
    seconds: float = 1.0
    seconds_per_krow: float = 0.0

    def memory_mb(self, input_mb: float, scale: float = 1.0, attempt: int = 1) -> int:
        """What the job asks for on its `attempt`, with `scale` applied to a retried rule's request."""
        base = self.mem_mb + math.ceil(self.mem_per_input_mb * input_mb)
        if not self.retried_for_memory:
            return base
        return math.ceil(base * scale * MEMORY_GROWTH ** (attempt - 1))

    def limit_minutes(self, input_mb: float) -> int:
        return self.minutes + math.ceil(self.minutes_per_input_mb * input_mb)

    def expected_seconds(self, rows: int) -> float:
        return self.seconds + self.seconds_per_krow * rows / 1000

    @property
    def fixed(self) -> bool:
        """Whether the job asks for the same memory and time whatever its input and attempt."""
        return not (self.mem_per_input_mb or self.minutes_per_input_mb or self.retried_for_memory)


@dataclass(frozen=True)
class SeedTiming:
    """Expected seconds of a method's projection job: a start (imports, compiling numba loops), and per
    fit a fixed part, so much per 1,000 rows it fits and per 1,000 rows it places beside them (above
    fit_rows)."""

    start: float
    fit_per_krow: float
    place_per_krow: float = 0.0
    per_fit: float = 0.0

    def job_seconds(self, fitted_rows: int, placed_rows: int, fits: int) -> float:
        per_krow = self.fit_per_krow * fitted_rows + self.place_per_krow * placed_rows
        return self.start + fits * (self.per_fit + per_krow / 1000)


def staging(minutes: int = 10) -> Cost:
    """A job that lists, copies or writes a few small files."""
    return Cost(mem_mb=1000, minutes=minutes, seconds=0.2)


# Every rule but project_embeddings (whose cost is its method's, dimred_flow/methods) and the TAP
# fetches (tap_fetch_cost). Expected seconds: benchmarks/results_methods_archive.json at 100,000 and
# 1,000,000 rows, on 2 busy cores.
RULE_COSTS: dict[str, Cost] = {
    "stage_in_table": staging(minutes=30),
    "import_table": Cost(2000, 10, mem_per_input_mb=20, minutes_per_input_mb=0.1, seconds=0.6, seconds_per_krow=4e-3),
    "concatenate_tap_chunks": Cost(2000, 10, seconds=1.0, seconds_per_krow=2e-3),
    "prepare_features": Cost(4000, 15, mem_per_input_mb=20, minutes_per_input_mb=0.1, seconds=0.6, seconds_per_krow=4e-3),
    "compute_neighbour_graph": Cost(
        4000, 30, mem_per_input_mb=10, minutes_per_input_mb=0.1, retried_for_memory=True, seconds=0.4, seconds_per_krow=9e-3
    ),
    "prepare_method_input": Cost(
        4000, 30, mem_per_input_mb=5, minutes_per_input_mb=0.1, retried_for_memory=True, seconds=2.5, seconds_per_krow=4.5e-3
    ),
    "plot_projections": Cost(2000, 10, mem_per_input_mb=5, minutes_per_input_mb=0.05, seconds=0.8, seconds_per_krow=0.015),
    "compute_stability_metrics": Cost(
        4000, 30, mem_per_input_mb=5, minutes_per_input_mb=0.05, seconds=2.0, seconds_per_krow=6e-3
    ),
    "list_stored_plots": staging(),
    "list_stored_stability": staging(),
    "upload_plot": staging(),
    "download_plot": staging(),
    "download_stability_metrics": staging(),
    "upload_report_file": staging(),
    "list_stored_catalogue": staging(),
    "upload_embedding_catalogue": staging(),
    "download_embedding_catalogue": staging(),
    "collect_embedding_catalogue": Cost(500, 5, seconds=0.2),
    "plan_run": staging(),
    "render_stability_table": Cost(2000, 10, seconds=0.6),
    "merge_pdf": Cost(2000, 10, seconds=0.5),
    "write_run_crate": Cost(1000, 10, seconds=0.5),
    "write_notebook": Cost(1000, 10, seconds=0.2),
    "collect_report_plots": Cost(500, 5, seconds=0.2),
    # Holds the table, the features and every embedding at once.
    "write_embedding_catalogue": Cost(
        2000, 10, mem_per_input_mb=5, minutes_per_input_mb=0.05, seconds=1.0, seconds_per_krow=0.01
    ),
    # Reads the catalogue's FITS, but draws at most explorer.ROW_LIMIT rows of it.
    "write_explorer_page": Cost(
        1000, 10, mem_per_input_mb=2, minutes_per_input_mb=0.01, seconds=2.0, seconds_per_krow=0.001
    ),
}


def tap_fetch_cost(maxrec: int | None, timeout_s: float) -> Cost:
    """A TAP fetch holds its whole result in memory, about 1.1 KB per row of the seed's 12 columns
    (1,000,000 rows: 1,079 MB, benchmarks/results_tap_fetch.json); maxrec bounds the rows of each query,
    chunks included, and without one the service's limit decides, unknown here. Its timeout bounds
    the whole fetch, retries included; ten minutes more are for writing.
    """
    memory = 500 + math.ceil(1.5e-3 * maxrec) if maxrec else 4000
    return Cost(memory, int(timeout_s // 60) + 10, seconds=5.0, seconds_per_krow=0.05)

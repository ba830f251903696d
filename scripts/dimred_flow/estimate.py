"""What a run will cost, before it runs.

The jobs a run needs, given what storage already holds, as the workflow's DAG has them
(tests/test_plan.py compares the counts with Snakemake's own dry run). Each job gets the memory and
time limit the workflow gives it, from the same `Cost` (dimred_flow/costs.py) applied to the input
sizes the table's rows imply, and its expected time. They add up to core-hours, memory, disk and bytes
to and from storage, for this machine's cores and for a cluster that runs every job at once, and are
checked against the config's `quota`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from dimred_flow.config import batches_for
from dimred_flow.costs import RULE_COSTS, Cost, tap_fetch_cost
from dimred_flow.errors import UserError
from dimred_flow.methods import method
from dimred_flow.plan import chosen, graph_settings

MB = 1024 * 1024  # Snakemake's input.size_mb

# Sizes of what the jobs write, per row where they grow with the table (measured on the shipped
# snapshot's columns; .npz arrays are stored uncompressed, so these are their nbytes).
FEATURES_BYTES_PER_ROW = 40  # row id, colour value, label; and 8 per feature
NEIGHBOUR_BYTES = 8  # an int32 index and a float32 distance
PREPARED_BYTES_PER_NEIGHBOUR = 15  # openTSNE's sparse affinities: 1.25 entries of 12 bytes per neighbour
EMBEDDING_BYTES_PER_ROW = 8  # two float32 coordinates
TAP_TABLE_BYTES_PER_ROW = 224  # Parquet of the seed's Gaia columns
# Fewer than any table the workflow reads spends on a row: Parquet of the eight features alone takes 64.
SOURCE_BYTES_PER_ROW_AT_LEAST = 50
PLOT_PANEL_BYTES_AT_110_DPI = 90_000
PDF_BYTES_PER_PLOT_BYTE = 0.45  # the PDF re-encodes the PNGs
SMALL_FILE_BYTES = 10_000  # a record, the metrics, the crate, the notebook
# The explorer page (benchmarks/results_explorer.json): BokehJS inlined, then per shown row its identifier
# and label as text and every feature and coordinate as base64 float32. explorer.ROW_LIMIT, repeated
# because this module runs in the plan's env, which has no Bokeh (tests/test_explorer.py compares them).
EXPLORER_SCRIPT_BYTES = 1_700_000
EXPLORER_BYTES_PER_ROW = 40
EXPLORER_BYTES_PER_VALUE = 5.4
EXPLORER_ROW_LIMIT = 20_000

# The order in which the workflow's stages follow each other: each stage waits for the one before.
STAGES = ("table", "features", "graph", "prepared", "projections", "plots", "report")


class QuotaExceeded(UserError):
    """The plan's estimate is above a limit of the config's `quota`."""


@dataclass
class Job:
    rule: str
    stage: str
    label: str
    threads: int
    input_mb: float
    mem_mb: int
    limit_minutes: int
    seconds: float


@dataclass
class Estimate:
    rows: int | None
    rows_known: str
    jobs: list[Job] = field(default_factory=list)
    reused: dict = field(default_factory=dict)
    features_bytes: float = 0
    disk_bytes: float = 0
    upload_bytes: float = 0
    download_bytes: float = 0

    def add(self, rule: str, stage: str, cost: Cost, input_bytes: float, seconds: float, label: str = "", threads: int = 1,
            memory_scale: float = 1.0) -> None:
        input_mb = input_bytes / MB
        self.jobs.append(Job(rule, stage, label or rule, threads, input_mb, cost.memory_mb(input_mb, memory_scale),
                             cost.limit_minutes(input_mb), seconds))

    @property
    def core_hours(self) -> float:
        return sum(job.seconds * job.threads for job in self.jobs) / 3600

    @property
    def limit_core_hours(self) -> float:
        """What a scheduler books: every job's time limit."""
        return sum(job.limit_minutes * job.threads for job in self.jobs) / 60

    def largest_job(self) -> Job | None:
        return max(self.jobs, key=lambda job: job.mem_mb, default=None)

    def wall_seconds(self, cores: int | None) -> float:
        """Stage after stage; within one, `cores` share the work (None: every job at once)."""
        total = 0.0
        for stage in STAGES:
            jobs = [job for job in self.jobs if job.stage == stage]
            if not jobs:
                continue
            longest = max(job.seconds for job in jobs)
            total += longest if cores is None else max(longest, sum(j.seconds * j.threads for j in jobs) / cores)
        return total

    def memory_at_once_mb(self, cores: int | None) -> int:
        """The most memory the jobs of one stage ask for together: the `cores` largest (None: all)."""
        peak = 0
        for stage in STAGES:
            asks = sorted((job.mem_mb for job in self.jobs if job.stage == stage), reverse=True)
            peak = max(peak, sum(asks if cores is None else asks[:cores]))
        return peak

    def as_dict(self, cores: int | None) -> dict:
        largest = self.largest_job()
        return {
            "rows": self.rows,
            "rows_known": self.rows_known,
            "reused": self.reused,
            "jobs": [asdict(job) for job in self.jobs],
            "core_hours": round(self.core_hours, 4),
            "limit_core_hours": round(self.limit_core_hours, 2),
            "wall_seconds": {"local": round(self.wall_seconds(cores), 1), "cluster": round(self.wall_seconds(None), 1)},
            "cores": cores,
            "largest_job": {"rule": largest.label, "mem_mb": largest.mem_mb} if largest else None,
            "memory_at_once_mb": {"local": self.memory_at_once_mb(cores), "cluster": self.memory_at_once_mb(None)},
            "disk_mb": round(self.disk_bytes / MB, 1),
            "upload_mb": round(self.upload_bytes / MB, 2),
            "download_mb": round(self.download_bytes / MB, 2),
        }


def plot_bytes(config: dict) -> float:
    panels = len(config["projections"])
    return PLOT_PANEL_BYTES_AT_110_DPI * panels * (int(config["plot"]["dpi"]) / 110) ** 2


@dataclass(frozen=True)
class Stored:
    """What the storage holds of this run: the iterations whose plots it has, the metrics, and the
    catalogue's size in bytes (None where it has none)."""

    plots: frozenset[int] = frozenset()
    stability: bool = False
    catalogue_bytes: int | None = None


def estimate_run(config: dict, rows: int | None, rows_known: str, source_bytes: float | None, stored: Stored) -> Estimate:
    """The jobs of a run of `config` on a table of `rows` rows, given what storage holds."""
    iterations = list(range(1, int(config["n_test"]) + 1))
    reused_plots = sorted(stored.plots & set(iterations))
    to_plot = [i for i in iterations if i not in stored.plots]
    estimate = Estimate(rows, rows_known, reused={
        "plots": reused_plots, "stability": stored.stability, "catalogue": stored.catalogue_bytes is not None})
    scale = float(config["resources"]["memory_scale"])
    plot_size = plot_bytes(config)
    # The metrics and the catalogue need every iteration's embeddings, the plots their own.
    every_iteration = not stored.stability or stored.catalogue_bytes is None
    if (to_plot or every_iteration) and rows is None:
        raise UserError(
            "The plan cannot size a TAP query without a row limit: set source.tap.maxrec (the most rows the"
            " service may return), or run `snakemake --cores 1 plan` again once the table is fetched."
        )
    if to_plot or every_iteration:
        _add_computation(estimate, config, rows, source_bytes, iterations if every_iteration else to_plot, scale)
    # Above plot.density_above_rows a panel is a binned density: its time stops growing.
    plotted_rows = min(rows or 0, int(config["plot"]["density_above_rows"]))
    for i in to_plot:
        estimate.add("plot_projections", "plots", RULE_COSTS["plot_projections"], estimate.features_bytes,
                     RULE_COSTS["plot_projections"].expected_seconds(plotted_rows), label=f"plot_projections {i}")
        _transfer(estimate, "upload_plot", plot_size + SMALL_FILE_BYTES)
    for _ in reused_plots:
        _transfer(estimate, "download_plot", plot_size + SMALL_FILE_BYTES)
    if stored.stability:
        _transfer(estimate, "download_stability_metrics", SMALL_FILE_BYTES)
    else:
        cost = RULE_COSTS["compute_stability_metrics"]
        estimate.add("compute_stability_metrics", "plots", cost, estimate.features_bytes, cost.expected_seconds(rows))
        _transfer(estimate, "upload_report_file", SMALL_FILE_BYTES)
    _add_catalogue(estimate, config, rows, len(iterations), stored.catalogue_bytes)
    _add_explorer_page(estimate, config, rows, len(iterations))
    pdf_bytes = PDF_BYTES_PER_PLOT_BYTE * plot_size * len(iterations) + SMALL_FILE_BYTES
    for rule in ("render_stability_table", "merge_pdf", "write_run_crate", "write_notebook", "collect_report_plots"):
        estimate.add(rule, "report", RULE_COSTS[rule], 0, RULE_COSTS[rule].seconds)
    _transfer(estimate, "upload_report_file", SMALL_FILE_BYTES)  # the crate
    _transfer(estimate, "upload_report_file", pdf_bytes)
    # Each plot is kept three times (results/plots, the staging copy, the report's), the PDF twice.
    estimate.disk_bytes += 3 * plot_size * len(iterations) + 2 * pdf_bytes + 6 * SMALL_FILE_BYTES
    return estimate


def _transfer(estimate: Estimate, rule: str, size: float) -> None:
    """A staging job moving `size` bytes to storage (upload_*) or from it (download_*)."""
    estimate.add(rule, "report" if rule == "upload_report_file" else "plots", RULE_COSTS[rule], 0,
                 RULE_COSTS[rule].seconds)
    if rule.startswith("upload"):
        estimate.upload_bytes += size
    else:
        estimate.download_bytes += size


def _add_catalogue(estimate: Estimate, config: dict, rows: int | None, iterations: int,
                   stored_bytes: int | None) -> None:
    """The embedding catalogue: downloaded where stored (its record gives the size), written beside the
    metrics and uploaded otherwise; placed in results/ by a hard link either way."""
    if stored_bytes is not None:
        _transfer(estimate, "download_embedding_catalogue", stored_bytes)
        estimate.disk_bytes += stored_bytes
    else:
        coordinates = iterations * len(config["projections"]) * rows * EMBEDDING_BYTES_PER_ROW
        # FITS and binary VOTable: identifier, position, label and features at 8 bytes, coordinates at 4.
        files = 2 * (rows * 8 * (len(config["features"]) + 4) + coordinates)
        cost = RULE_COSTS["write_embedding_catalogue"]
        estimate.add("write_embedding_catalogue", "plots", cost, estimate.features_bytes + coordinates,
                     cost.expected_seconds(rows))
        _transfer(estimate, "upload_embedding_catalogue", files)
        estimate.disk_bytes += 2 * files  # written, and the staged copy
    cost = RULE_COSTS["collect_embedding_catalogue"]
    estimate.add("collect_embedding_catalogue", "report", cost, 0, cost.seconds)


def _add_explorer_page(estimate: Estimate, config: dict, rows: int | None, iterations: int) -> None:
    """The explorer page, drawn from the catalogue (written or downloaded) wherever the run ends."""
    values = len(config["features"]) + 2 * iterations * len(config["projections"])
    # A run that downloads everything may not know its rows: the page shows at most the limit.
    shown = min(rows, EXPLORER_ROW_LIMIT) if rows is not None else EXPLORER_ROW_LIMIT
    cost = RULE_COSTS["write_explorer_page"]
    estimate.add("write_explorer_page", "report", cost, shown * 8 * values, cost.expected_seconds(shown))
    estimate.disk_bytes += EXPLORER_SCRIPT_BYTES + shown * (EXPLORER_BYTES_PER_ROW + EXPLORER_BYTES_PER_VALUE * values)


def _add_computation(estimate: Estimate, config: dict, rows: int, source_bytes: float | None,
                     iterations: list[int], scale: float) -> None:
    """The table, features, graph, prepared inputs and the projection batches of `iterations`."""
    source = config["source"]
    if source["kind"] == "file":
        table_bytes = source_bytes or rows * TAP_TABLE_BYTES_PER_ROW
        cost = RULE_COSTS["import_table"]
        estimate.add("import_table", "table", cost, table_bytes, cost.expected_seconds(rows))
    else:
        table_bytes = rows * TAP_TABLE_BYTES_PER_ROW
        fetch = tap_fetch_cost(source["tap"]["maxrec"], float(source["tap"]["timeout"]))
        chunks = source["tap"]["chunks"]
        queries = len(chunks["edges"]) - 1 if chunks else 1
        rule = "fetch_tap_chunk" if chunks else "fetch_tap_table"
        for _ in range(queries):
            estimate.add(rule, "table", fetch, 0, fetch.expected_seconds(rows / queries))
        if chunks:
            cost = RULE_COSTS["concatenate_tap_chunks"]
            estimate.add("concatenate_tap_chunks", "table", cost, table_bytes, cost.expected_seconds(rows))
    estimate.disk_bytes += table_bytes
    features_bytes = rows * (FEATURES_BYTES_PER_ROW + 8 * len(config["features"]))
    estimate.features_bytes = features_bytes
    cost = RULE_COSTS["prepare_features"]
    estimate.add("prepare_features", "features", cost, table_bytes, cost.expected_seconds(rows))
    estimate.disk_bytes += features_bytes

    fit_rows = min(rows, int(config["fit_rows"]))
    placed_rows = rows - fit_rows
    graph = graph_settings(config)
    graph_bytes = 0.0
    if graph:
        graph_bytes = NEIGHBOUR_BYTES * (fit_rows * graph["neighbours"] + placed_rows * graph["placement_neighbours"])
        cost = RULE_COSTS["compute_neighbour_graph"]
        estimate.add("compute_neighbour_graph", "graph", cost, features_bytes, cost.expected_seconds(rows), threads=2,
                     memory_scale=scale)
        estimate.disk_bytes += graph_bytes
    methods = chosen(config)
    prepared_bytes = {}
    for name, settings in methods.items():
        if method(name).prepared_settings(settings) is not None:
            prepared_bytes[name] = PREPARED_BYTES_PER_NEIGHBOUR * fit_rows * graph["neighbours"]
            cost = RULE_COSTS["prepare_method_input"]
            estimate.add("prepare_method_input", "prepared", cost, graph_bytes, cost.expected_seconds(rows),
                         label=f"prepare_method_input {name}", memory_scale=scale)
            estimate.disk_bytes += prepared_bytes[name]
    for name in methods:
        definition = method(name)
        input_bytes = features_bytes + (graph_bytes if definition.uses_graph else 0) + prepared_bytes.get(name, 0)
        fitted, placed = (fit_rows, placed_rows) if definition.uses_graph else (rows, 0)
        for first, last in batches_for(config, name):
            seeds = len([i for i in range(first, last + 1) if i in iterations])
            if not seeds:
                continue
            seconds = definition.timing.job_seconds(fitted, placed, seeds if definition.stochastic else 1)
            estimate.add("project_embeddings", "projections", definition.resources, input_bytes, seconds,
                         label=f"project_embeddings {name} {first}-{last}", memory_scale=scale)
            estimate.disk_bytes += seeds * rows * EMBEDDING_BYTES_PER_ROW


def quota_exceeded(summary: dict, quota: dict) -> list[str]:
    """One line for each limit of `quota` the plan's estimate is above."""
    largest = summary["largest_job"] or {"rule": "none", "mem_mb": 0}
    checks = [
        ("core_hours", summary["core_hours"], "core-hours", f"{summary['core_hours']:.3g} core-hours"),
        ("memory_per_job_mb", largest["mem_mb"], "MB in one job",
         f"{largest['mem_mb']:,} MB ({largest['rule']}; resources.memory_scale scales it)"),
        ("disk_mb", summary["disk_mb"], "MB of disk", f"{summary['disk_mb']:,.1f} MB"),
        ("storage_mb", summary["upload_mb"] + summary["download_mb"], "MB to and from storage",
         f"{summary['upload_mb'] + summary['download_mb']:,.2f} MB"),
    ]
    return [
        f"quota.{key} is {quota[key]:,} {unit}, but this run is estimated at {shown}"
        for key, value, unit, shown in checks
        if quota.get(key) is not None and value > quota[key]
    ]


def check_quota(summary: dict, quota: dict) -> None:
    exceeded = quota_exceeded(summary, quota)
    if exceeded:
        raise QuotaExceeded(
            "; ".join(exceeded) + ". Nothing was run: raise the quota in the config, or plan a smaller run"
            " (fewer rows, n_test or methods; `snakemake --cores 1 plan` prints the estimate)."
        )


def describe(summary: dict, config: dict, run: str) -> str:
    """The plan in a dozen lines."""
    jobs = summary["jobs"]
    counts: dict[str, int] = {}
    for job in jobs:
        if job["stage"] != "report" and not job["rule"].startswith(("upload", "download")):
            counts[job["rule"]] = counts.get(job["rule"], 0) + 1
    computed = ", ".join(f"{rule} {n}" for rule, n in counts.items())
    stored = summary["reused"]["plots"]
    largest = summary["largest_job"]
    cores = summary["cores"]
    quota = {key: value for key, value in config["quota"].items() if value is not None}
    hours = summary["core_hours"]
    lines = [
        f"Plan of run {run[:16]} for user_folder {config['user_folder']}: {config['n_test']} iterations of"
        f" {', '.join(config['projections'])} on {_rows(summary)}.",
        f"  reuse from storage: {len(stored)} of {config['n_test']} plots"
        + (f" (iterations {', '.join(map(str, stored))})" if stored else "")
        + f", stability metrics {'yes' if summary['reused']['stability'] else 'no'}"
        + f", catalogue {'yes' if summary['reused']['catalogue'] else 'no'}",
        f"  compute: {computed or 'nothing'} (jobs whose output results/ already holds are skipped)",
        f"  transfer: {summary['upload_mb']:,.2f} MB to storage, {summary['download_mb']:,.2f} MB from it",
        f"  time: about {hours:.3g} core-hours ({_duration(hours * 3600)} of CPU);"
        f" about {_duration(summary['wall_seconds']['local'])} here on {cores} cores,"
        f" {_duration(summary['wall_seconds']['cluster'])} on a cluster running every job at once",
        f"  time limits: {summary['limit_core_hours']:.3g} core-hours booked if every job ran to its runtime limit",
        f"  memory: the largest job asks for {largest['mem_mb']:,} MB ({largest['rule']});"
        f" at most {summary['memory_at_once_mb']['local']:,} MB at once here,"
        f" {summary['memory_at_once_mb']['cluster']:,} MB on a cluster" if largest else "  memory: no jobs",
        f"  disk: about {summary['disk_mb']:,.1f} MB under results/",
        "  quota: " + (", ".join(f"{key} {value:,}" for key, value in quota.items()) + ": within"
                       if quota else "none (config key quota: core_hours, memory_per_job_mb, disk_mb, storage_mb)"),
        "  Times are fitted on a 2-core AMD EPYC (within 0.95-1.2x of measured runs, benchmarks/plan_accuracy.json);"
        " memory is what jobs ask the scheduler for: a ceiling, 5-45x the peak RSS measured there.",
    ]
    return "\n".join(lines) + "\n"


def _rows(summary: dict) -> str:
    if summary["rows"] is None:
        return "a table of unknown size"
    return f"{summary['rows']:,} rows ({summary['rows_known']})"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def tap_row_bound(config: dict) -> int | None:
    """The most rows a TAP source can return: maxrec per query, chunks included; None without a maxrec."""
    tap = config["source"]["tap"]
    if not tap["maxrec"]:
        return None
    queries = len(tap["chunks"]["edges"]) - 1 if tap["chunks"] else 1
    return int(tap["maxrec"]) * queries


def rows_before_reading(config: dict, source_bytes: int | None) -> int | None:
    """At most how many rows the run uses, known before any table is read (when the workflow is parsed):
    a file's size over the fewest bytes a table spends on a row, a TAP source's maxrec; None where
    nothing bounds them."""
    if config["source"]["kind"] == "file":
        rows = None if source_bytes is None else source_bytes // SOURCE_BYTES_PER_ROW_AT_LEAST
    else:
        rows = tap_row_bound(config)
    return capped_rows(config, rows)


def capped_rows(config: dict, rows: int | None) -> int | None:
    """The rows the run uses: config max_rows caps them."""
    if rows is None or not config["max_rows"]:
        return rows
    return min(rows, int(config["max_rows"]))


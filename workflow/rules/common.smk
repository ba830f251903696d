import functools
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.exceptions import WorkflowError

# The workflow's own files are found from this file's directory, workflow/rules/: loaded as a
# module (README: "Use it in your own repository"), workflow.basedir is the user's directory.
REPO = Path(workflow.current_basedir).parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from dimred_flow.backends import (  # noqa: E402
    htcondor_limits,
    reana_cores_resource,
    reana_limits,
    reana_settings,
    unknown_rules,
)
from dimred_flow.config import (  # noqa: E402
    ConfigError,
    batch_of,
    batches_for,
    iteration_seeds,
    seed_jobs,
    validate_config,
)
from dimred_flow.chunks import chunk_conditions  # noqa: E402
from dimred_flow.clock import utc_now  # noqa: E402
from dimred_flow.costs import (  # noqa: E402
    RETRIES_FOR_MEMORY,
    RULE_COSTS,
    Cost,
    tap_fetch_cost,
)
from dimred_flow.derivation import digest, short  # noqa: E402
from dimred_flow.estimate import capped_rows, rows_before_reading  # noqa: E402
from dimred_flow.plan import (  # noqa: E402
    catalogue_settings,
    chosen,
    features_settings,
    graph_settings,
    plan_run,
    plot_settings,
    stability_settings,
)
from dimred_flow.methods import method  # noqa: E402
from dimred_flow.slurm_states import report_every_ended_slurm_job  # noqa: E402

report_every_ended_slurm_job()

try:
    config.update(validate_config(config))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Programs are Path params: Snakemake records only plain values (str, int, ...) as a rerun trigger,
# and where the checkout lives is no part of a result, so a moved checkout reruns nothing.
SCRIPTS = REPO / "scripts"
ENVS = str(REPO / "envs")
USER_FOLDER = str(config["user_folder"])
N_TEST = int(config["n_test"])
ITERATIONS = list(range(1, N_TEST + 1))
# The chosen methods, in panel order, with their settings.
METHODS = chosen(config)
SEEDS = iteration_seeds(config)
STAGING = f"results/staging/{USER_FOLDER}"
STORAGE = config["storage"]
# Stage in: a source.path on S3 or WebDAV is copied to STAGED_SOURCE by stage_in_table.
SOURCE_URL = (
    config["source"]["path"]
    if config["source"]["kind"] == "file"
    and config["source"]["path"].startswith(("s3://", "davs://", "dav://"))
    else None
)
SOURCE_ENDPOINT = config["source"]["endpoint_url"] or STORAGE["endpoint_url"]
STAGED_SOURCE = "results/data/staged/" + (
    Path(SOURCE_URL).name if SOURCE_URL else "none"
)
STAGED_SOURCE_RECORD = "results/data/staged_source.json"


def remote_source_state():
    """Size and ETag of a remote source table, read when the workflow starts: part of the plots'
    fingerprint and a param of stage_in_table, so a changed remote table is staged in again and
    everything that depends on it recomputed.
    """
    # Imported here: only a remote source needs fsspec and the storage clients at parse time.
    from dimred_flow.stage_in import open_source, remote_state
    from dimred_flow.storage import StorageError

    try:
        return remote_state(open_source(SOURCE_URL, SOURCE_ENDPOINT), SOURCE_URL)
    except StorageError as error:
        raise WorkflowError(str(error)) from None


SOURCE_STATE = remote_source_state() if SOURCE_URL else None
CONTAINER = config["container_image"]

# Every result's fingerprint, derived from the settings each job is given (dimred_flow/plan.py).
# Local results live under paths named by it: a changed setting names a new path, so a file an
# interrupted or earlier run left behind is never taken for this run's.
PLAN = plan_run(config, SEEDS, SOURCE_STATE)
FINGERPRINTS = PLAN.plots
FEATURES = f"results/data/features/{short(PLAN.features)}.npz"
FEATURES_SUMMARY = f"results/data/features/{short(PLAN.features)}.json"
GRAPH = f"results/data/neighbour_graph/{short(PLAN.graph)}.npz" if PLAN.graph else None
# The input each method prepares once for every seed (openTSNE's affinities), where it has one.
PREPARED = {
    name: f"results/data/prepared/{name}/{short(fingerprint)}.npz"
    for name, fingerprint in PLAN.prepared.items()
}
PLOT_ITERATION = {short(PLAN.plots[i]): i for i in ITERATIONS}


def plot_file(iteration, suffix):
    """Iteration's plot (png) or the record of what made it (json)."""
    return f"results/plots/{short(PLAN.plots[iteration])}.{suffix}"


def settings_json(settings):
    """A job's settings as its one --settings argument: what its fingerprint was derived from."""
    return json.dumps(settings, sort_keys=True)


def settings_param(settings):
    """settings_json as a param function: a plain string param is searched for {wildcards}, and
    settings may hold braces (an ADQL query's)."""
    return lambda wildcards: settings_json(settings)


wildcard_constraints:
    first=r"[0-9]+",
    last=r"[0-9]+",
    iteration=r"[0-9]+",


# Each job's memory and time limit come from its rule's Cost (dimred_flow/costs.py), which the
# run's plan (plan_run) reads too. A compute job's memory is a model's estimate: on a cluster that
# enforces memory (Slurm kills the job) it is retried, asking more each time; resources.memory_scale
# scales its first request.
MEMORY_SCALE = config["resources"]["memory_scale"]
REANA = config["reana"]


def job_resources(cost, rule):
    """mem_mb (for the local scheduler, Slurm and Kubernetes) and runtime in minutes, from a Cost or a
    function of the wildcards giving one, grown with the job's input: a job on a million-row table
    asks for what it needs. The same limits as the HTCondor executor and rule's REANA backend read
    them (dimred_flow/backends.py; REANA's default pod limit is smaller than some jobs need), and
    that backend's name and settings (config reana).
    A fixed Cost gives plain numbers: Snakemake 7 (REANA) cannot read a runtime whose input is not
    there yet.
    """
    resources = reana_settings(REANA, rule)
    cores = reana_cores_resource(REANA, rule)
    if cores:
        resources[cores] = lambda wildcards, threads: str(threads)
    if isinstance(cost, Cost) and cost.fixed:
        return {
            "mem_mb": cost.mem_mb,
            "runtime": cost.minutes,
            **htcondor_limits(cost.mem_mb, cost.minutes),
            **reana_limits(REANA, rule, cost.mem_mb, cost.minutes),
            **resources,
        }
    cost_of = cost if callable(cost) else lambda wildcards: cost

    def mem_mb(wildcards, input, attempt=1):
        return cost_of(wildcards).memory_mb(input.size_mb, MEMORY_SCALE, attempt)

    def runtime(wildcards, input):
        try:
            return cost_of(wildcards).limit_minutes(input.size_mb)
        except FileNotFoundError:
            # A dry run shows jobs whose input is not there yet; Snakemake 7 (REANA) must still read
            # their runtime as minutes. The job itself is sized when it starts, from its input.
            return cost_of(wildcards).minutes

    def limits(wildcards, input, attempt):
        """The job's limits as HTCondor and its REANA backend read them."""
        memory, minutes = mem_mb(wildcards, input, attempt), runtime(wildcards, input)
        return {
            **htcondor_limits(memory, minutes),
            **reana_limits(REANA, rule, memory, minutes),
        }

    def limit(key):
        return lambda wildcards, input, attempt=1: limits(wildcards, input, attempt)[
            key
        ]

    # The keys are those of any job's limits: they depend on the backend, not on the numbers.
    keys = [*htcondor_limits(0, 0), *reana_limits(REANA, rule, 0, 0)]
    return {
        "mem_mb": mem_mb,
        "runtime": runtime,
        **{key: limit(key) for key in keys},
        **resources,
    }


def rule_resources(rule):
    """job_resources of RULE_COSTS[rule]."""
    return job_resources(RULE_COSTS[rule], rule)


def storage_args():
    """Command-line flags naming the storage; credentials are read by the job from its environment."""
    args = f"--storage {shlex.quote(STORAGE['url'])} --user-folder {USER_FOLDER} --timeout {STORAGE['timeout']}"
    if STORAGE["endpoint_url"]:
        args += f" --endpoint-url {shlex.quote(STORAGE['endpoint_url'])}"
    return args


def source_table():
    """The table prepare_features reads: imported from a file, fetched in one query, or concatenated from chunks."""
    source = config["source"]
    if source["kind"] == "file":
        return "results/data/file_table.parquet"
    if source["tap"]["chunks"]:
        return "results/data/tap_chunked_table.parquet"
    return "results/data/tap_table.parquet"


def source_provenance():
    """Where the source table came from, written beside it."""
    return str(Path(source_table()).with_suffix(".json"))


def tap_chunk_conditions():
    """The ADQL condition of each chunk, by chunk number from 1; empty without source.tap.chunks."""
    chunks = config["source"]["tap"]["chunks"]
    if not chunks:
        return {}
    return dict(enumerate(chunk_conditions(chunks["column"], chunks["edges"]), start=1))


def tap_query(wildcards):
    """The ADQL as written: a function's value is not read as a pattern, so '{chunk_condition}' is no wildcard."""
    return config["source"]["tap"]["query"]


def tap_options(wildcards):
    """Flags saying how to query the service; a function, so a file source never needs a URL."""
    tap = config["source"]["tap"]
    options = (
        f"--url {shlex.quote(tap['url'])} --mode {tap['mode']} --async-threshold {int(tap['async_threshold'])}"
        f" --timeout {float(tap['timeout'])} --retries {int(tap['retries'])} --on-overflow {tap['on_overflow']}"
    )
    if tap["maxrec"]:
        options += f" --maxrec {int(tap['maxrec'])}"
    return options


def source_file():
    """A relative source path is looked up in the working directory, then in the workflow's repository;
    a remote one is read from its staged-in copy.
    """
    if SOURCE_URL:
        return STAGED_SOURCE
    path = Path(config["source"]["path"])
    if path.is_absolute() or path.exists():
        return str(path)
    return str(REPO / path)


def jobs_share_files():
    """Whether every job sees this process's files (Snakemake's default; --shared-fs-usage none: not)."""
    storage_settings = getattr(workflow, "storage_settings", None)
    return storage_settings is None or any(
        usage.name == "INPUT_OUTPUT" for usage in storage_settings.shared_fs_usage
    )


def source_bytes():
    """The source table's size where every job sees the same: a remote table's, a file's on a shared
    file system; None otherwise."""
    if SOURCE_STATE:
        return SOURCE_STATE["size"]
    if config["source"]["kind"] != "file" or not jobs_share_files():
        return None
    path = Path(source_file())
    return path.stat().st_size if path.exists() else None


def source_rows():
    """The rows the run reads, as far as every job can tell before reading the table: counted from a local
    Parquet or FITS file's header, else bounded (estimate.rows_before_reading)."""
    size = source_bytes()
    local = size is not None and not SOURCE_URL
    if local and Path(source_file()).suffix.lower() in (".parquet", ".fits", ".fit"):
        # Imported here: counting needs pyarrow or astropy, which the workflow's environment has.
        from dimred_flow.tables import count_rows

        return capped_rows(config, count_rows(source_file()))
    return rows_before_reading(config, size)


def scheduled_config():
    """The config with each stochastic method's jobs as this run spreads its seeds (config.seed_jobs:
    methods.<name>.jobs, or for auto, by executor, cores and table). Called when the DAG is built, the
    first moment Snakemake knows its executor; a cluster's job parses the workflow again in remote mode
    and decides as the process that submitted it did, or it would look for other batches.
    """
    on_cluster = getattr(workflow, "non_local_exec", False) or getattr(
        workflow, "remote_exec", False
    )
    return config_scheduled_for(on_cluster)


@functools.cache
def config_scheduled_for(on_cluster):
    """scheduled_config once per executor kind: every input function asks, and a source's rows are
    counted from its file."""
    rows = source_rows()
    methods = {
        name: {
            **settings,
            "jobs": seed_jobs(
                config, name, cluster=on_cluster, rows=rows, cores=local_cores()
            ),
        }
        for name, settings in config["methods"].items()
        if method(name).stochastic
    }
    return {**config, "methods": {**config["methods"], **methods}}


def batch_name(name, first, last):
    """A batch directory's name: its iterations and the fingerprints of the embeddings it holds."""
    members = [PLAN.embeddings[name][i] for i in range(first, last + 1)]
    return f"iterations_{first}-{last}_{short(digest(members))}"


def method_batches():
    """Each method's batch directories by name, with the iterations each holds."""
    scheduled = scheduled_config()
    return {
        name: {
            batch_name(name, first, last): list(range(first, last + 1))
            for first, last in batches_for(scheduled, name)
        }
        for name in METHODS
    }


def batch_dir(name, iteration):
    first, last = batch_of(scheduled_config(), name, iteration)
    return f"results/embeddings/{name}/{batch_name(name, first, last)}"


def batch_iterations(wildcards):
    """The iterations of the batch a projection job makes."""
    try:
        return method_batches()[wildcards.method][wildcards.batch]
    except KeyError:
        raise WorkflowError(
            f"results/embeddings/{wildcards.method}/{wildcards.batch} is no batch of this run's "
            f"{wildcards.method} jobs: request the run's targets (all, make_projections), not a batch."
        ) from None


def batch_args(wildcards):
    """Iterations, seeds and expected fingerprints of one method's batch, as arguments."""
    iterations = batch_iterations(wildcards)
    return {
        "iterations": " ".join(str(i) for i in iterations),
        "seeds": " ".join(str(SEEDS[i]) for i in iterations),
        "fingerprints": " ".join(
            f"{i}={PLAN.embeddings[wildcards.method][i]}" for i in iterations
        ),
    }


def projection_inputs(wildcards):
    """What a method's projection job reads: the features, and the graph and prepared input if it uses them."""
    inputs = {"features": FEATURES}
    if method(wildcards.method).uses_graph:
        inputs["graph"] = GRAPH
    if wildcards.method in PREPARED:
        inputs["prepared"] = PREPARED[wildcards.method]
    return inputs


def projection_flags(wildcards, input):
    """--graph and --prepared for the inputs the job has."""
    return " ".join(
        f"--{name} {path}"
        for name, path in input.items()
        if name in ("graph", "prepared")
    )


def batch_priority(wildcards):
    """The method's own priority, then its larger batches first, so that the last one to start is
    the shortest and leaves the fewest plots to draw (the fraction is always below 1).
    """
    size = len(batch_iterations(wildcards))
    return method(wildcards.method).priority + size / (N_TEST + 1)


# Snakemake 7 (what REANA 0.9 runs) takes only numbers as priorities: there the batches keep
# the order in which the scheduler finds them.
BATCH_PRIORITY = batch_priority if int(SNAKEMAKE_VERSION.split(".")[0]) >= 8 else 0


def all_batch_dirs():
    """Every batch directory of every chosen method, as METHOD=DIRECTORY arguments (keys) and inputs."""
    return {
        f"{name}={directory}": directory
        for name, batches in method_batches().items()
        for directory in (f"results/embeddings/{name}/{batch}" for batch in batches)
    }


def stored_iterations():
    """Iterations whose plots the storage already holds (known once list_stored_plots has run)."""
    with open(checkpoints.list_stored_plots.get().output.inventory) as handle:
        return {int(i) for i in json.load(handle)["stored"]}


def staged_plots(wildcards):
    """The plot for each iteration: downloaded where storage has it, computed and uploaded otherwise."""
    wait_for_plan()
    stored = stored_iterations()
    return [
        f"{STAGING}/{'downloaded' if i in stored else 'uploaded'}/projections_comparison_{i}.png"
        for i in ITERATIONS
    ]


def staged_plot_records(wildcards):
    """The record beside each staged plot: what made the plot (its embeddings, their environment)."""
    return [plot.removesuffix(".png") + ".json" for plot in staged_plots(wildcards)]


STABILITY_METRICS = f"results/metrics/{short(PLAN.stability)}.json"


def stored_stability():
    """Whether storage already holds the metrics of exactly these embeddings (known once the checkpoint ran)."""
    with open(checkpoints.list_stored_stability.get().output.inventory) as handle:
        return json.load(handle)["stored"] is not None


def computes_anything():
    """Whether storage lacks a plot, the metrics or the catalogue of this run (known once listed)."""
    return (
        stored_iterations() != set(ITERATIONS)
        or not stored_stability()
        or not stored_catalogue()
    )


def wait_for_plan():
    """Every job that computes, fetches or transfers is requested only once the plan has passed."""
    checkpoints.plan_run.get()


def staged_stability(wildcards=None):
    """The metrics: downloaded where storage has them, computed from the embeddings and uploaded otherwise."""
    wait_for_plan()
    return (
        f"{STAGING}/{'downloaded' if stored_stability() else 'uploaded'}/stability.json"
    )


def local_data(wildcards=None):
    """The table and features, where this run computes embeddings; a run that only downloads
    plots and metrics (combine_plots on another machine) neither fetches nor prepares the data.
    """
    wait_for_plan()
    if not computes_anything():
        return []
    table = source_table()
    return [
        table,
        source_provenance(),
        FEATURES,
        FEATURES_SUMMARY,
    ]


# The embedding catalogue (explore.smk): written where the embeddings are, stored as one result
# under its fingerprint (every file by checksum, then a record naming them), downloaded where the
# storage holds it, and left as results/embedding_catalogue.* either way: a second machine builds
# combine_plots' catalogue and explorer page from storage alone, the embeddings never travel.
CATALOGUE_KIND = "catalogues"
CATALOGUE_SUFFIXES = {"fits": ".fits", "votable": ".vot"}
COMPUTED_CATALOGUE = {
    name: f"results/data/catalogue/{short(PLAN.catalogue)}{suffix}"
    for name, suffix in CATALOGUE_SUFFIXES.items()
}
EMBEDDING_CATALOGUE = {
    name: f"results/embedding_catalogue{suffix}"
    for name, suffix in CATALOGUE_SUFFIXES.items()
}


def staged_catalogue_file(how):
    """The catalogue's files as `how` (uploaded, downloaded) staged them, by name."""
    return {
        name: f"{STAGING}/{how}/embedding_catalogue{suffix}"
        for name, suffix in CATALOGUE_SUFFIXES.items()
    }


def stored_catalogue():
    """Whether storage holds the catalogue of exactly these embeddings (known once its listing ran)."""
    with open(checkpoints.list_stored_catalogue.get().output.inventory) as handle:
        return json.load(handle)["stored"] is not None


def staged_catalogue(wildcards=None):
    """The catalogue's files: downloaded where storage has them, written and uploaded otherwise."""
    wait_for_plan()
    how = "downloaded" if stored_catalogue() else "uploaded"
    return list(staged_catalogue_file(how).values())


# The explorer page (explore.smk), drawn from the catalogue: wherever the catalogue is, written or
# downloaded, so is the page.
EXPLORER_PAGE = "results/explorer.html"


def executor_name():
    """The executor jobs run on, for the provenance; known once the run has started."""
    plugin = getattr(workflow, "executor_plugin", None)  # Snakemake 8+
    if plugin is not None:
        return plugin.name.removeprefix("snakemake-executor-plugin-")
    run_local = getattr(workflow, "run_local", None)  # Snakemake 7
    if run_local is not None:
        return "local" if run_local else "cluster"
    return "unknown"


EXECUTOR_FILE = "logs/executor.json"


onstart:
    # Handed to the local write_run_crate job through a file rather than a param, so a dry run
    # (executor 'dryrun') never reports the crate as outdated.
    Path(EXECUTOR_FILE).parent.mkdir(parents=True, exist_ok=True)
    Path(EXECUTOR_FILE).write_text(
        json.dumps({"executor": executor_name(), "started": utc_now()})
    )


def cancel_rescheduling_timers():
    """Snakemake's job-rate limiter arms a 1 s non-daemon timer at every scheduling pass; once the
    run has succeeded nothing is left to schedule, but the last timer kept the process alive for up
    to a second after 'Elapsed time' (measured: a whole run at 1,000 rows 14.0 s, 13.0 s without it).
    The timer is found by the private method that arms it: tests/test_snakemake_internals.py fails
    when a Snakemake upgrade renames it.
    """
    import threading

    for thread in threading.enumerate():
        action = getattr(thread, "function", None)
        name = getattr(action, "__qualname__", "")
        if isinstance(thread, threading.Timer) and "_schedule_reevalutation" in name:
            thread.cancel()


onsuccess:
    cancel_rescheduling_timers()


# Run-level files that upload_report_file stages: name -> (local file, storage key under the user
# folder). The metrics are stored under their fingerprint (a run differing only in how it plots
# reuses them), the crate and the PDF under the run's: two runs sharing a user folder never mix.
RUN_FILES = {
    "stability.json": (STABILITY_METRICS, f"stability/{PLAN.stability}.json"),
    "ro-crate-metadata.json": (
        "results/ro-crate-metadata.json",
        f"runs/{PLAN.run}/ro-crate-metadata.json",
    ),
    "merged_plots.pdf": (
        "results/merged_plots.pdf",
        f"runs/{PLAN.run}/merged_plots.pdf",
    ),
}


PANEL_LABELS = [method(name).label_for(settings) for name, settings in METHODS.items()]


def run_crate_outputs(wildcards, input):
    """--output FILE DESCRIPTION for every file the crate describes."""
    described = [
        (plot, f"{', '.join(PANEL_LABELS)} of iteration {i} (seed {SEEDS[i]})")
        for i, plot in zip(ITERATIONS, input.plots)
    ]
    described += [
        (input.pdf, "all plots and the seed-stability table"),
        (input.stability, "seed-stability metrics"),
    ]
    described += [(path, "prepared data") for path in input.data]
    described += [
        (
            path,
            f"embedding catalogue ({kind}): each star's features and {', '.join(PANEL_LABELS)} coordinates",
        )
        for kind, path in zip(("FITS", "VOTable"), input.catalogue)
    ]
    described.append(
        (
            input.explorer,
            f"explorer page: {', '.join(PANEL_LABELS)} side by side with linked selection, one iteration at a time",
        )
    )
    return " ".join(
        f"--output {shlex.quote(path)} {shlex.quote(text)}" for path, text in described
    )


def final_outputs(wildcards):
    return [
        "results/merged_plots.pdf",
        f"{STAGING}/uploaded/ro-crate-metadata.json",
        f"{STAGING}/uploaded/merged_plots.pdf",
        f"results/{USER_FOLDER}/explore.ipynb",
        "results/report/plots",
        *EMBEDDING_CATALOGUE.values(),
        EXPLORER_PAGE,
    ]


def use_env_venvs(venvs):
    """What `--sdm conda` does, for machines without a conda channel: every job's `python` is the
    interpreter of `{venvs}/<env>/`, a venv built with pip from the pins of the conda env file its
    rule names (envs/<env>.yaml; tests/env_venvs.py builds them). Chosen by the environment
    variable DIMRED_FLOW_VENVS, so that Slurm jobs, which parse the workflow again, choose the same.
    Called once every rule is defined; each program belongs to one env (tests/test_environments.py).
    """
    env_of_program = {
        Path(str(rule.params.script)).name: Path(str(rule.conda_env)).stem
        for rule in workflow.rules
        if rule.conda_env and "script" in rule.params.keys()
    }
    cases = " ".join(
        f"{program}) env={env} ;;" for program, env in sorted(env_of_program.items())
    )
    prefix = (
        "set -euo pipefail; python() { local env; "
        f'case "${{1##*/}}" in {cases} *) echo "no env for $1" >&2; return 127 ;; esac; '
        f'{shlex.quote(venvs)}/$env/bin/python "$@"; }}; '
    )
    # shell.prefix formats its argument like a shell command: keep the braces literal.
    shell.prefix(prefix.replace("{", "{{").replace("}", "}}"))


# The run's plan (plan.smk): a checkpoint after the storage listing, which the input functions of
# the jobs that do work wait for, so an over-quota plan stops the run before any of them is requested
# (as an input of theirs instead, every new plan would rerun them).
PLAN_JSON = f"results/plan/{short(PLAN.run)}.json"
PLAN_TEXT = f"results/plan/{short(PLAN.run)}.txt"


def local_cores():
    """The cores the local scheduler may use (--cores); a cluster executor may leave them unset."""
    try:
        cores = workflow.cores
    except WorkflowError:
        cores = None
    return cores if isinstance(cores, int) else (os.cpu_count() or 1)


def planned_source(wildcards):
    """The table file whose rows the plan counts, where the run computes and reads a file."""
    if config["source"]["kind"] != "file" or not computes_anything():
        return []
    return source_file()

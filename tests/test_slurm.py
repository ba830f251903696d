"""The real workflow under Slurm, through the repository's workflow profile (profiles/slurm).

Needs a Slurm cluster with accounting (tests/servers/slurm/provision.sh sets up a
single-node one). Without `sinfo` the tests are skipped, except under CI=true, where
they fail: CI must never skip them silently.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta

import pytest

from benchmark_module import resampled_snapshot
from dimred_flow.config import seed_jobs, validate_config
from dimred_flow.tables import count_rows
from machine_needs import skip_or_fail
from workflow_runner import REPO, SMALL_CONFIG, deep_merge, run_snakemake, start_snakemake

pytestmark = pytest.mark.workflow

PARTITION = os.environ.get("SLURM_PARTITION", "debug")
ACCOUNT = os.environ.get("SLURM_ACCOUNT", "dimred")
# Rules marked `localrule: True` (all, make_projections, combine_plots, write_run_crate, ...)
# run inside the Snakemake process, never as Slurm jobs.
LOCAL_RULES = {"all", "make_projections", "combine_plots"}
SLURM_ARGS = (
    "--workflow-profile", str(REPO / "profiles" / "slurm"),
    # The CLI list replaces the profile's default-resources entirely: repeat them all.
    "--default-resources", f"slurm_partition={PARTITION}", f"slurm_account={ACCOUNT}", "runtime=10", "mem_mb=1000",
)


def _require_slurm() -> None:
    problem = None
    if shutil.which("sinfo") is None or shutil.which("sacct") is None:
        problem = "Slurm is not installed here (no sinfo/sacct; see tests/servers/slurm/README.md)"
    else:
        done = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%a"], capture_output=True, text=True, check=False)
        if done.returncode != 0 or "up" not in done.stdout:
            problem = f"Slurm partition {PARTITION!r} is not up: {done.stdout.strip()} {done.stderr.strip()}"
    if problem:
        skip_or_fail(problem)


@pytest.fixture(scope="module")
def slurm():
    _require_slurm()


def _run_id(output: str) -> str:
    match = re.search(r"SLURM run ID: ([0-9a-f-]{36})", output)
    assert match, "no 'SLURM run ID' in the output: did the run use the slurm executor?\n" + output[-3000:]
    return match.group(1)


def _rules_run(output: str) -> tuple[set[str], set[str]]:
    """Rules whose jobs Snakemake started: (submitted to the executor, run locally).

    Snakemake announces a job with `rule x:` / `checkpoint x:`, or `localrule x:` /
    `localcheckpoint x:` when it runs in its own process.
    """
    found = re.findall(r"^(local)?(?:rule|checkpoint) (\w+):$", output, re.MULTILINE)
    return {name for local, name in found if not local}, {name for local, name in found if local}


def _rule_of(job: dict) -> str:
    """The rule of a sacct row: its Comment is rule_<rule> or rule_<rule>_wildcards_<values>."""
    return re.sub(r"_wildcards_.*$", "", job["comment"]).removeprefix("rule_")


def _method_of(job: dict) -> str:
    """The method of a project_embeddings job: its first wildcard (method names hold no '_')."""
    return job["comment"].split("_wildcards_", 1)[1].split("_", 1)[0]


def _sacct(start: datetime, run_id: str, expected: set[str], timeout: float = 30) -> list[dict]:
    """This run's jobs (sacct JobName is the run ID); waits for late accounting rows."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-S", start.strftime("%Y-%m-%dT%H:%M:%S"),
             "-o", "JobID,JobName,Comment,State,ExitCode,ReqMem,TimelimitRaw"],
            capture_output=True, text=True, check=True,
        )
        jobs = [
            dict(zip(("id", "name", "comment", "state", "exit", "req_mem", "time_limit"), line.split("|")))
            for line in done.stdout.splitlines() if line.strip()
        ]
        jobs = [job for job in jobs if job["name"] == run_id]
        # The Comment is filled in only once a job has finished.
        rules = {_rule_of(job) for job in jobs}
        if expected <= rules or time.monotonic() > deadline:
            return jobs
        time.sleep(2)


def test_every_rule_runs_as_a_completed_slurm_job(slurm, tmp_path, reference_run):
    start = datetime.now() - timedelta(seconds=5)
    run = run_snakemake(tmp_path, *SLURM_ARGS, timeout=1200).assert_ok()
    assert (tmp_path / "results" / "merged_plots.pdf").stat().st_size > 0

    remote, local = _rules_run(run.output)
    assert {"prepare_features", "project_embeddings", "plot_projections", "merge_pdf"} <= remote, remote
    assert "all" in local and not LOCAL_RULES & remote, (remote, local)
    jobs = _sacct(start, _run_id(run.output), remote)
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        by_rule.setdefault(_rule_of(job), []).append(job)
    assert set(by_rule) == remote, f"Slurm ran {sorted(by_rule)}, Snakemake ran {sorted(remote)} remotely"
    not_completed = [job for job in jobs if job["state"] != "COMPLETED" or job["exit"] != "0:0"]
    assert not not_completed, not_completed
    assert not local & set(by_rule), "a local rule was submitted to Slurm"
    # One job per iteration for the per-iteration rules (n_test is 2 in the small config).
    assert len(by_rule["plot_projections"]) == 2, by_rule["plot_projections"]
    reference_run.assert_same_bytes(tmp_path, "Slurm")


def test_a_failing_rule_fails_the_run_and_shows_its_log(slurm, tmp_path):
    start = datetime.now() - timedelta(seconds=5)
    run = run_snakemake(tmp_path, *SLURM_ARGS, config={"features": ["xgal", "ygal", "no_such_column"]}, timeout=600)
    assert run.returncode != 0, run.output[-3000:]
    assert "Error in rule prepare_features" in run.output, run.output[-3000:]
    # --show-failed-logs prints the rule's log: the program's one-line message.
    assert re.search(r"^ERROR: The table has no column 'no_such_column'", run.output, re.MULTILINE), run.output[-3000:]
    jobs = _sacct(start, _run_id(run.output), {"prepare_features"})
    states = {_rule_of(job): job["state"] for job in jobs}
    assert states.get("prepare_features") == "FAILED", jobs
    assert "project_embeddings" not in states


def test_a_large_table_is_fanned_out_one_seed_per_job_with_limits_from_its_size(slurm, tmp_path):
    """Issue 14's cluster run at a size CI affords: 50,000 rows fitted on a 10,000-row subsample,
    each job's memory and time limit derived from its input's size; and issue 26's fan-out without
    tuning: `methods.*.jobs` left auto gives each of three seeds its own job on Slurm (one UMAP job on a
    2-core machine)."""
    import math

    from dimred_flow.projections import NeighbourGraph

    table = resampled_snapshot(50_000, tmp_path / "table_50k.parquet")
    workdir = tmp_path / "run"
    config = {
        "n_test": 3,
        "max_rows": None,
        "source": {"kind": "file", "path": str(table)},
        "fit_rows": 10_000,
        "plot": {"density_above_rows": 20_000},
        "methods": {"umap": {"jobs": "auto"}, "tsne": {"jobs": "auto"}},
    }
    validated = validate_config(deep_merge(SMALL_CONFIG, config))
    rows = count_rows(table)  # as the workflow counts a Parquet source before it reads it
    assert [seed_jobs(validated, name, rows=rows, cores=2) for name in ("umap", "tsne")] == [1, 3]
    assert [seed_jobs(validated, name, cluster=True, rows=rows) for name in ("umap", "tsne")] == [3, 3]
    start = datetime.now() - timedelta(seconds=5)
    run = run_snakemake(workdir, *SLURM_ARGS, config=config, timeout=1500).assert_ok()

    [graph_file] = (workdir / "results" / "data" / "neighbour_graph").glob("*.npz")
    graph = NeighbourGraph.load(graph_file)
    [summary] = (workdir / "results" / "data" / "features").glob("*.json")
    rows = json.loads(summary.read_text())["rows_kept"]
    assert graph.fitted_rows.size == 10_000 and graph.placement_indices.shape[0] == rows - 10_000
    jobs = [job for job in _sacct(start, _run_id(run.output), {"project_embeddings"})
            if _rule_of(job) == "project_embeddings"]
    by_method: dict[str, list[dict]] = {}
    for job in jobs:
        by_method.setdefault(_method_of(job), []).append(job)
    assert len(by_method["umap"]) == len(by_method["tsne"]) == 3, jobs
    assert all(job["state"] == "COMPLETED" for job in jobs), jobs
    # UMAP's projection jobs: 4000 MB + 12 per MB, 60 min + 0.1 per MB of features + graph (methods/umap.py).
    data = workdir / "results" / "data"
    input_mb = sum(path.stat().st_size for path in [*data.glob("features/*.npz"), *data.glob("neighbour_graph/*.npz")])
    input_mb /= 1024 * 1024
    for job in by_method["umap"]:
        assert job["req_mem"] == f"{4000 + math.ceil(12 * input_mb)}M", job
        assert int(job["time_limit"]) == 60 + math.ceil(0.1 * input_mb), job
    [metrics] = (workdir / "results" / "metrics").glob("*.json")
    stability = json.loads(metrics.read_text())
    for method in ("umap", "tsne"):
        for iteration in stability["methods"][method]["per_iteration"]:
            assert iteration["trustworthiness"] > 0.95, (method, iteration)



def _running_job(of_rules: set[str], process: subprocess.Popen, timeout: float = 600) -> str:
    """The id of the first job of one of `of_rules` that Slurm runs (squeue's %k is the job's comment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        done = subprocess.run(["squeue", "-h", "-o", "%i|%k|%T"], capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            job_id, comment, state = line.split("|")
            if state == "RUNNING" and _rule_of({"comment": comment}) in of_rules:
                return job_id
        time.sleep(0.2)
    pytest.fail(f"no job of {sorted(of_rules)} ever ran")


def test_a_cancelled_job_is_reported_with_its_state_and_the_run_ends(slurm, tmp_path):
    """Issue 31, fault 3: sacct calls it 'CANCELLED by 0', which the executor plugin took for a running
    job: the run waited for ever and the next one needed --unlock (dimred_flow/slurm_states.py)."""
    workdir, output = tmp_path / "run", tmp_path / "snakemake.out"
    process = start_snakemake(workdir, *SLURM_ARGS, output=output)
    try:
        # Rules without retries (compute rules retry, for memory): the cancelled job ends the run.
        job_id = _running_job({"import_table", "prepare_features"}, process)
        subprocess.run(["scancel", job_id], check=True)
        # The plugin's status checks are at most 180 s apart.
        returncode = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = output.read_text()
    assert returncode != 0, text[-3000:]
    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'CANCELLED'" in text, text[-3000:]
    rerun = run_snakemake(workdir, *SLURM_ARGS, "--dry-run", timeout=300)
    assert rerun.returncode == 0 and "unlock" not in rerun.output, rerun.output[-3000:]


def test_a_job_killed_for_memory_is_retried_with_more_and_finishes(slurm, tmp_path):
    """Issue 31, goal 4: the test cluster enforces memory (slurm.conf: OverMemoryKill); compute jobs asking
    for a twentieth of their model's estimate are killed, retried with twice, then four times as much."""
    start = datetime.now() - timedelta(seconds=5)
    config = {"projections": ["umap"], "n_test": 1, "resources": {"memory_scale": 0.05}}
    run = run_snakemake(tmp_path, "make_projections", *SLURM_ARGS, config=config, timeout=1500)
    run.assert_ok()
    attempts: dict[str, list[dict]] = {}
    for job in _sacct(start, _run_id(run.output), {"project_embeddings", "plot_projections"}):
        attempts.setdefault(job["comment"], []).append(job)
    retried = {name: jobs for name, jobs in attempts.items() if len(jobs) > 1}
    assert retried, f"no job was killed for memory: {attempts}"
    for name, jobs in retried.items():
        jobs.sort(key=lambda job: int(job["id"]))
        assert [job["state"] for job in jobs[:-1]] == ["FAILED"] * (len(jobs) - 1), (name, jobs)
        assert jobs[-1]["state"] == "COMPLETED", (name, jobs)
        requested = [int(job["req_mem"].removesuffix("M")) for job in jobs]
        assert all(later >= 2 * earlier - 1 for earlier, later in itertools.pairwise(requested)), (name, requested)
    assert "exceeded memory limit" in "".join(
        path.read_text(errors="replace") for path in (tmp_path / ".snakemake" / "slurm_logs").rglob("*.log")
    )

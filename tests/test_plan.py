"""The plan before the run (issue 27): what it will reuse, compute and upload, its estimated cost from the
resource model that sets the jobs' mem_mb and runtime, and a quota that stops a run before its first job."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dimred_flow.config import validate_config
from dimred_flow.errors import UserError
from dimred_flow.estimate import QuotaExceeded, Stored, check_quota, estimate_run, quota_exceeded, tap_row_bound
from dimred_flow.tables import count_rows
from workflow_runner import SMALL_CONFIG, deep_merge, run_snakemake

DATA = Path(__file__).resolve().parents[1] / "data"


def config(**overrides) -> dict:
    return validate_config(deep_merge({"user_folder": "me", **SMALL_CONFIG}, overrides))


def test_a_run_whose_results_are_all_stored_computes_nothing():
    everything = Stored(frozenset({1, 2}), True, catalogue_bytes=3 * 2**20)
    summary = estimate_run(config(), None, "", None, everything).as_dict(2)
    rules = Counter(job["rule"] for job in summary["jobs"])
    assert rules["download_plot"] == 2 and rules["download_stability_metrics"] == 1, rules
    assert rules["download_embedding_catalogue"] == 1, rules
    assert not {"import_table", "project_embeddings", "plot_projections"} & set(rules), rules
    assert summary["download_mb"] > 3 and summary["reused"] == {"plots": [1, 2], "stability": True, "catalogue": True}


def test_a_missing_catalogue_alone_recomputes_every_embedding():
    summary = estimate_run(config(), 1000, "", None, Stored(frozenset({1, 2}), True)).as_dict(2)
    rules = Counter(job["rule"] for job in summary["jobs"])
    assert rules["project_embeddings"] == 3 and rules["write_embedding_catalogue"] == 1, rules
    assert "plot_projections" not in rules, rules


def test_only_the_batches_of_missing_iterations_are_computed():
    both = estimate_run(config(n_test=4, methods={"tsne": {"jobs": 4}}), 1000, "", None, Stored())
    stored = estimate_run(config(n_test=4, methods={"tsne": {"jobs": 4}}), 1000, "", None,
                          Stored(frozenset({1, 2, 3}), True, catalogue_bytes=0))
    count = Counter(job.rule for job in both.jobs)["project_embeddings"]
    assert count == 4 + 1 + 1, both.jobs  # tsne's four batches, umap's and pca's one each
    assert Counter(job.rule for job in stored.jobs)["project_embeddings"] == 3
    assert stored.core_hours < both.core_hours


def test_a_larger_table_costs_more_and_asks_for_more_memory():
    small, large = (estimate_run(config(), rows, "", None, Stored()) for rows in (1_000, 1_000_000))
    assert large.core_hours > 10 * small.core_hours
    assert large.largest_job().mem_mb > small.largest_job().mem_mb
    assert large.disk_bytes > 100 * small.disk_bytes


def test_a_tap_source_is_sized_by_maxrec_and_refused_without_it():
    tap = {"kind": "tap", "tap": {"url": "http://127.0.0.1:1/tap", "query": "SELECT * FROM t WHERE {chunk_condition}",
                                  "maxrec": 2000, "chunks": {"column": "ra", "edges": [0, 180, 360]}}}
    assert tap_row_bound(config(source=tap)) == 4000
    summary = estimate_run(config(source=tap), 4000, "", None, Stored()).as_dict(2)
    assert Counter(job["rule"] for job in summary["jobs"])["fetch_tap_chunk"] == 2
    unbounded = config(source=deep_merge(tap, {"tap": {"maxrec": None}}))
    assert tap_row_bound(unbounded) is None
    with pytest.raises(UserError, match=r"set source\.tap\.maxrec"):
        estimate_run(unbounded, None, "", None, Stored())


def test_each_quota_limit_names_itself_and_the_estimate():
    summary = estimate_run(config(), 5000, "", None, Stored()).as_dict(2)
    generous = {"core_hours": 10, "memory_per_job_mb": 100_000, "disk_mb": 10_000, "storage_mb": 10_000}
    check_quota(summary, generous)
    tight = {"core_hours": 1e-4, "memory_per_job_mb": 100, "disk_mb": 0.1, "storage_mb": 0.01}
    lines = quota_exceeded(summary, tight)
    assert [line.split()[0] for line in lines] == [f"quota.{key}" for key in tight], lines
    with pytest.raises(QuotaExceeded, match=r"quota\.memory_per_job_mb is 100 MB in one job, but .* 4,\d{3} MB \(project"):
        check_quota(summary, {"memory_per_job_mb": 100})


@pytest.mark.parametrize("name", ["table.parquet", "table.fits", "table.csv"])
def test_rows_are_counted_without_reading_what_keeps_the_count(tmp_path, name):
    from astropy.table import Table

    path = tmp_path / name
    Table({"a": list(range(123)), "b": [0.5] * 123}).write(path)
    assert count_rows(path) == 123


def jobs_in_log(workdir: Path) -> tuple[Counter, dict[str, list[int]]]:
    """The jobs a run ran, by rule, and the mem_mb Snakemake gave each, from its log."""
    [log] = (workdir / ".snakemake" / "log").glob("*.snakemake.log")
    text = log.read_text()
    jobs = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:    .*\n)*)", text, re.MULTILINE)
    memory: dict[str, list[int]] = {}
    for rule, body in jobs:
        found = re.search(r"mem_mb=(\d+)", body)
        if found:
            memory.setdefault(rule, []).append(int(found.group(1)))
    return Counter(rule for rule, _ in jobs), memory


def size_mb(paths) -> float:
    return sum(path.stat().st_size for path in paths if path.is_file()) / 2**20


@pytest.mark.workflow
def test_the_plan_made_before_the_reference_run_matches_what_it_ran(reference_run):
    """The plan is the first job of every run: the reference run's says what it then did."""
    workdir = reference_run.workdir
    [plan_file] = (workdir / "results" / "plan").glob("*.json")
    plan = json.loads(plan_file.read_text())
    ran, memory = jobs_in_log(workdir)
    planned = Counter(job["rule"] for job in plan["jobs"])
    bookkeeping = {"list_stored_plots", "list_stored_stability", "list_stored_catalogue", "plan_run", "all"}
    assert planned == Counter({rule: n for rule, n in ran.items() if rule not in bookkeeping}), (planned, ran)
    # The same Cost gave each job its memory: the plan's figure is Snakemake's, up to the sizes it estimated.
    for job in plan["jobs"]:
        assert min(abs(job["mem_mb"] - given) for given in memory[job["rule"]]) <= 0.05 * job["mem_mb"], job
    # The sizes it estimated from the row count.
    results = workdir / "results"
    projection = next(job for job in plan["jobs"] if job["label"].startswith("project_embeddings tsne"))
    inputs = [*(results / "data" / "features").glob("*.npz"), *(results / "data" / "neighbour_graph").glob("*.npz"),
              *(results / "data" / "prepared" / "tsne").glob("*.npz")]
    assert projection["input_mb"] == pytest.approx(size_mb(inputs), rel=0.3)
    written = [path for path in results.rglob("*") if "workflow" not in path.relative_to(results).parts]
    assert plan["disk_mb"] == pytest.approx(size_mb(written), rel=0.5)
    assert plan["upload_mb"] == pytest.approx(size_mb((workdir / "storage").rglob("*")), rel=0.5)


@pytest.mark.workflow
def test_a_second_machine_plans_downloads_only_and_a_small_quota_stops_the_run(reference_run, tmp_path):
    workdir = tmp_path / "second"
    workdir.mkdir()
    shutil.copytree(reference_run.workdir / "storage", workdir / "storage")
    text = run_snakemake(workdir, "plan").assert_ok().output
    assert "reuse from storage: 2 of 2 plots (iterations 1, 2), stability metrics yes, catalogue yes" in text, text
    assert "compute: nothing" in text, text

    fresh = tmp_path / "fresh"
    stopped = run_snakemake(fresh, config={"quota": {"core_hours": 1e-5}})
    assert stopped.returncode != 0
    [line] = [line for line in stopped.output.splitlines() if line.startswith("ERROR: quota.")]
    assert re.match(r"ERROR: quota\.core_hours is 1e-05 core-hours, but this run is estimated at [0-9.]+ core-hours\.", line)
    # Only the storage check ran before it: no table, no embedding, nothing uploaded.
    assert not (fresh / "results" / "data").exists() and not (fresh / "results" / "embeddings").exists()
    assert not [path for path in (fresh / "storage").rglob("*") if path.is_file()]
    # The fix the message names: a quota above the estimate lets the plan pass.
    estimate = float(re.search(r"estimated at ([0-9.]+) core-hours", line).group(1))
    run_snakemake(fresh, "plan", config={"quota": {"core_hours": 2 * estimate}}).assert_ok()

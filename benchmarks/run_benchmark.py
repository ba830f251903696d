#!/usr/bin/env python3
"""Benchmark (issue 4): the workflow against the seed's serial loop on resampled tables of N rows.

For each N it (1) resamples the shipped snapshot to N rows with a small deterministic jitter,
(2) runs the seed's serial loop (benchmarks/seed_serial_loop.py) and (3) the Snakemake workflow
on that table, each as its own subprocess, timing them and sampling their process trees' memory,
then prints a table with PASS/FAIL against the targets and writes everything as JSON.
Both sides share one NUMBA_CACHE_DIR filled before the first size, as on any machine after its
first run (`--numba-cache cold` gives each side an empty one instead). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO / "data" / "gaia_dr2_open_clusters.csv"
SEED_LOOP = REPO / "benchmarks" / "seed_serial_loop.py"

JITTER_COLUMNS = ("ra", "dec", "parallax", "pmra", "pmdec", "phot_g_mean_mag", "bp_rp")
# Jittered in proportion to each star's own value: additive noise of a cluster's spread brings a
# small parallax near zero, i.e. the star kiloparsecs away, and more often the more copies are
# drawn. The tails of the derived distances then grew with N (at 1,000,000 rows the largest
# standardised x was 697 sigma, against 278 at 100,000), and the standardisation they inflate made
# the tables of different sizes different data.
RELATIVE_JITTER_COLUMNS = ("parallax",)
LABEL_COLUMN = "Cluster"
RESAMPLE_SEED = 20240410

# Targets of issue 4: wall(b)/wall(a) at these N, and a ceiling on time and memory at 100,000.
RATIO_TARGETS = {1000: 0.60, 20000: 0.30}
LARGE_N = 100000
LARGE_WALL_S = 15 * 60
LARGE_RSS_BYTES = 4 * 10**9
# Sizes up to this many rows run --repeats times (median reported); larger ones run once.
REPEAT_UP_TO_ROWS = 5000
# Issue 14: a million rows in under 30 minutes and 6 GB, with each method's neighbour quality within
# QUALITY_TOLERANCE of what the same run measures at LARGE_N rows (where every row is fitted).
ARCHIVE_N = 1_000_000
ARCHIVE_WALL_S = 30 * 60
ARCHIVE_RSS_BYTES = 6 * 10**9
QUALITY_TOLERANCE = 0.01
QUALITY_METRICS = ("trustworthiness", "knn_preservation")

PACKAGES = ("numpy", "scipy", "scikit-learn", "umap-learn", "pynndescent", "numba", "llvmlite", "openTSNE",
            "snakemake", "matplotlib", "astropy", "pyarrow", "pypdf", "pillow", "psutil")


# ---------------------------------------------------------------- the table (pure)


def resample_table(table, n_rows: int, *, seed: int, jitter: float = 0.05,
                   columns=JITTER_COLUMNS, relative_columns=RELATIVE_JITTER_COLUMNS,
                   label_column: str = LABEL_COLUMN):
    """N rows drawn with replacement from `table`, every column kept, labels untouched.

    Each value of `columns` gets Gaussian noise with standard deviation `jitter` times that
    column's standard deviation within the row's `label_column` group (a cluster), so every
    cluster keeps its place and shape while repeated draws of one star are no longer identical;
    in `relative_columns`, `jitter` times the value itself (it keeps its sign and never nears zero).
    Masked (NULL) values stay masked. Deterministic for a given seed.
    """
    import numpy as np
    from astropy.table import MaskedColumn

    if n_rows < 1:
        raise ValueError("n_rows must be at least 1")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(table), size=n_rows)
    out = table[index]
    groups, group_of_row = np.unique(np.asarray(table[label_column]).astype(str), return_inverse=True)
    for name in columns:
        if name not in table.colnames:
            continue
        source = table[name]
        mask = np.ma.getmaskarray(source)
        values = np.where(mask, np.nan, np.asarray(source, dtype=float))
        spread = np.zeros(len(groups))
        for g in range(len(groups)):
            in_group = values[group_of_row == g]
            if np.isfinite(in_group).sum() > 1:
                spread[g] = np.nanstd(in_group)
        scale = np.abs(values[index]) if name in relative_columns else spread[group_of_row[index]]
        noise = rng.standard_normal(n_rows) * jitter * scale
        jittered = values[index] + noise
        new_mask = mask[index]
        column = MaskedColumn(np.where(new_mask, 0.0, jittered), name=name, mask=new_mask,
                              unit=source.unit, description=source.description, format=source.format)
        out[name] = column if new_mask.any() or isinstance(source, MaskedColumn) else column.filled()
    out.meta["benchmark_resample"] = {"source_rows": len(table), "rows": n_rows, "seed": seed,
                                      "jitter": jitter, "columns": [c for c in columns if c in table.colnames],
                                      "relative_columns": [c for c in relative_columns if c in table.colnames]}
    return out


def write_table(table, path: Path) -> Path:
    path = Path(path)
    fmt = {".parquet": "parquet", ".csv": "ascii.csv"}[path.suffix]
    table.write(path, format=fmt, overwrite=True)
    return path


# ---------------------------------------------------------------- measuring


@dataclass
class Measurement:
    wall_s: float
    returncode: int
    peak_tree_rss: int  # bytes, largest sum of RSS over the sampled process tree
    peak_single_rss: int  # bytes, largest RSS of one sampled process
    peak_single_cmd: str
    rusage_maxrss: int  # bytes, wait4()'s ru_maxrss: the largest RSS of any process in the tree
    samples: int
    log: str = ""


def run_measured(command: list[str], *, env: dict, cwd: Path, log_path: Path, interval: float = 0.2) -> Measurement:
    """Run `command`, sampling the RSS of it and all its descendants every `interval` seconds."""
    import psutil

    stop = threading.Event()
    peak = {"tree": 0, "single": 0, "cmd": "", "samples": 0}

    def sample(root: psutil.Process) -> None:
        while not stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                if rss > peak["single"]:
                    peak["single"] = rss
                    with contextlib.suppress(psutil.Error):
                        peak["cmd"] = " ".join(proc.cmdline())[:300]
            peak["tree"] = max(peak["tree"], total)
            peak["samples"] += 1
            stop.wait(interval)

    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(psutil.Process(proc.pid),), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
    return Measurement(
        wall_s=wall,
        returncode=proc.returncode,
        peak_tree_rss=peak["tree"],
        peak_single_rss=peak["single"],
        peak_single_cmd=peak["cmd"],
        rusage_maxrss=usage.ru_maxrss * 1024,  # kilobytes on Linux
        samples=peak["samples"],
        log=str(log_path),
    )


def subprocess_env(numba_cache: Path) -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "NUMBA_CACHE_DIR": str(numba_cache)}


def tail(path: str, chars: int = 3000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# ---------------------------------------------------------------- breakdowns (pure)


# Rules over a {method} wildcard: their benchmark files lie under <rule>/<method>/.
PER_METHOD_RULES = ("project_embeddings", "prepare_method_input")


def rule_family(tsv: Path, root: Path) -> str:
    """results/benchmarks/merge_pdf.tsv -> merge_pdf; results/benchmarks/upload_plot/alice/iteration_1.tsv ->
    upload_plot; results/benchmarks/project_embeddings/umap/iterations_1-3_<hash>.tsv -> project_embeddings:umap."""
    parts = Path(tsv).relative_to(root).parts
    if len(parts) == 1:
        return parts[0][: -len(".tsv")]
    return f"{parts[0]}:{parts[1]}" if parts[0] in PER_METHOD_RULES else parts[0]


def rule_breakdown(benchmark_dir: Path) -> dict:
    """Per rule family: jobs, summed/longest seconds and largest max_rss (MB) from Snakemake's benchmark TSVs."""
    families: dict[str, dict] = {}
    for tsv in sorted(Path(benchmark_dir).rglob("*.tsv")):
        with open(tsv, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for row in rows:
            entry = families.setdefault(rule_family(tsv, benchmark_dir),
                                        {"jobs": 0, "sum_s": 0.0, "max_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
            seconds = float(row["s"])
            entry["jobs"] += 1
            entry["sum_s"] += seconds
            entry["max_s"] = max(entry["max_s"], seconds)
            entry["cpu_s"] += _number(row.get("cpu_time"))
            entry["max_rss_mb"] = max(entry["max_rss_mb"], _number(row.get("max_rss")))
    return {name: {k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()}
            for name, entry in sorted(families.items(), key=lambda item: -item[1]["sum_s"])}


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0  # Snakemake writes NA where it could not measure


def seed_breakdown(timings: dict) -> dict:
    """Seconds the seed loop spent per step, summed over its iterations."""
    steps = {"imports": timings["imports_s"], "load+features": timings["load_s"]}
    for key in ("umap", "pca", "tsne", "plot"):
        steps[key] = round(sum(it[key] for it in timings["iterations"]), 3)
    steps["merge_pdf"] = timings["merge_s"]
    return steps


def extrapolate_seed_wall(measured_wall: float, timings: dict, n_test: int, jit_s: float | None) -> dict:
    """Wall time of n_test iterations from a run of fewer: the measured run plus the missing iterations.

    A missing iteration costs the last measured iteration if that was not the first; otherwise the
    first iteration less the one-off numba JIT `jit_s` (measured at a smaller N in the same run),
    or the whole first iteration when no such measurement exists (an over-estimate of the baseline).
    """
    its = timings["iterations"]
    ran = len(its)
    if ran >= 2:
        per_iteration, basis = its[-1]["total"], "last measured iteration"
    elif jit_s is not None:
        per_iteration = max(its[0]["total"] - jit_s, 0.0)
        basis = f"first iteration less {jit_s:.1f} s of UMAP JIT measured at a smaller N"
    else:
        per_iteration, basis = its[0]["total"], "first iteration including its JIT (over-estimates)"
    return {"wall_s": measured_wall + (n_test - ran) * per_iteration, "iterations_run": ran,
            "per_missing_iteration_s": round(per_iteration, 3), "basis": basis}


def umap_jit_estimate(timings: dict) -> float | None:
    """First UMAP fit minus the median of the later ones: the one-off compilation cost."""
    umap_s = [it["umap"] for it in timings["iterations"]]
    if len(umap_s) < 2:
        return None
    later = sorted(umap_s[1:])
    return max(umap_s[0] - later[len(later) // 2], 0.0)


# ---------------------------------------------------------------- report (pure)


def evaluate(n: int, wall_a: float | None, wall_b: float | None, rss_b: int | None) -> dict:
    """Ratio (b)/(a) and the verdict against issue 4's targets for this N ('n/a' where none applies)."""
    ratio = wall_b / wall_a if wall_a and wall_b is not None else None
    checks = []
    if n in RATIO_TARGETS:
        target = RATIO_TARGETS[n]
        ok = ratio is not None and ratio <= target
        checks.append({"target": f"ratio <= {target:.2f}", "ok": ok})
    if n == LARGE_N:
        checks.append({"target": f"wall (b) < {LARGE_WALL_S // 60} min",
                       "ok": wall_b is not None and wall_b < LARGE_WALL_S})
        checks.append({"target": f"peak RSS (b) < {LARGE_RSS_BYTES / 1e9:.0f} GB",
                       "ok": rss_b is not None and rss_b < LARGE_RSS_BYTES})
    if n == ARCHIVE_N:
        checks.append({"target": f"wall (b) < {ARCHIVE_WALL_S // 60} min",
                       "ok": wall_b is not None and wall_b < ARCHIVE_WALL_S})
        checks.append({"target": f"peak RSS (b) < {ARCHIVE_RSS_BYTES / 1e9:.0f} GB",
                       "ok": rss_b is not None and rss_b < ARCHIVE_RSS_BYTES})
    verdict = "n/a" if not checks else ("PASS" if all(c["ok"] for c in checks) else "FAIL")
    return {"ratio": None if ratio is None else round(ratio, 4), "checks": checks, "verdict": verdict}


def quality(stability: dict) -> dict:
    """Each method's trustworthiness and kNN preservation (means over the seeds) from the workflow's
    stability metrics, which are computed on a fixed subsample of rows (`stability.max_rows`)."""
    return {
        method: {metric: round(sum(it[metric] for it in figures["per_iteration"]) / len(figures["per_iteration"]), 6)
                 for metric in QUALITY_METRICS}
        for method, figures in stability["methods"].items()
    }


def quality_checks(measured: dict, reference: dict, tolerance: float = QUALITY_TOLERANCE) -> list[dict]:
    """Each method and metric within `tolerance` of (or above) the reference run's figure."""
    return [
        {"target": f"{method} {metric} >= {reference[method][metric]:.4f} - {tolerance}",
         "ok": measured[method][metric] >= reference[method][metric] - tolerance,
         "difference": round(measured[method][metric] - reference[method][metric], 6)}
        for method in sorted(reference) for metric in QUALITY_METRICS
    ]


def cluster_model(rules: dict, seed_seconds: dict) -> dict:
    """Wall time of the same run with one job per seed (`methods.*.jobs` = n_test), each job on its
    own node, from this run's per-job figures: the longest chain of jobs, where a one-seed job costs
    its batch's start-up (job time less its fits) plus the slowest fit of the method.

    `rules` is rule_breakdown's; `seed_seconds` maps a method to the per-seed fit seconds and the
    start-up of each batch job: {"fits": [...], "startup": [...]}.
    """
    def longest(name: str) -> float:
        return rules.get(name, {}).get("max_s", 0.0)

    def one_seed_job(method: str) -> float:
        figures = seed_seconds.get(method)
        return max(figures["startup"]) + max(figures["fits"]) if figures else longest(f"project_embeddings:{method}")

    methods = set(seed_seconds) | {name.split(":", 1)[1] for name in rules if name.startswith("project_embeddings:")}
    chain = {
        "import_table": longest("import_table"),
        "prepare_features": longest("prepare_features"),
        "compute_neighbour_graph": longest("compute_neighbour_graph"),
        "projections": max(
            (longest(f"prepare_method_input:{method}") + one_seed_job(method) for method in methods), default=0.0
        ),
        "plot_projections": longest("plot_projections"),
        "compute_stability_metrics": longest("compute_stability_metrics"),
        "render_stability_table": longest("render_stability_table"),
        "merge_pdf": longest("merge_pdf"),
    }
    return {"wall_s": round(sum(chain.values()), 1), "chain": {k: round(v, 1) for k, v in chain.items()}}


def seed_timings(workdir: Path) -> dict:
    """Per method: each fit's seconds and each batch job's start-up, from the embeddings' batch.json and
    Snakemake's benchmark files of the projection jobs."""
    out = {}
    for batch in sorted((Path(workdir) / "results" / "embeddings").glob("*/iterations_*")):
        method = batch.parent.name
        fits = list(json.loads((batch / "batch.json").read_text())["seconds"].values())
        tsv = Path(workdir) / "results" / "benchmarks" / "project_embeddings" / method / f"{batch.name}.tsv"
        with open(tsv, newline="") as handle:
            job_s = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
        figures = out.setdefault(method, {"fits": [], "startup": []})
        figures["fits"] += fits
        figures["startup"].append(round(max(job_s - sum(fits), 0.0), 3))
    return out


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:,.0f} MB"


def _s(value) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def format_report(rows: list[dict]) -> str:
    """The summary table; each row: n, wall_a, wall_b, rss_a, rss_b, estimated_a, evaluation."""
    header = ("N", "wall (a) seed loop", "wall (b) workflow", "(b)/(a)", "peak RSS (a)", "peak RSS (b)", "verdict")
    lines = []
    for row in rows:
        ev = row["evaluation"]
        wall_a = _s(row["wall_a"]) + (" (estimated from 1 iteration)" if row.get("estimated_a") == 1 else
                                      f" (estimated from {row['estimated_a']} iterations)" if row.get("estimated_a")
                                      else "")
        detail = "; ".join(f"{c['target']}: {'ok' if c['ok'] else 'missed'}" for c in ev["checks"])
        lines.append((f"{row['n']:,}", wall_a, _s(row["wall_b"]),
                      "-" if ev["ratio"] is None else f"{ev['ratio']:.3f}",
                      _mb(row["rss_a"]), _mb(row["rss_b"]),
                      ev["verdict"] + (f" ({detail})" if detail else "")))
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(line.rstrip() for line in out)


def format_breakdown(title: str, steps: dict, wall: float | None) -> str:
    lines = [title]
    for name, value in steps.items():
        if isinstance(value, dict):
            lines.append(f"  {name:<26} {value['sum_s']:>9.1f} s  in {value['jobs']} job(s), longest "
                         f"{value['max_s']:.1f} s, cpu {value['cpu_s']:.1f} s, max_rss {value['max_rss_mb']:.0f} MB")
        else:
            lines.append(f"  {name:<26} {value:>9.1f} s")
    if wall is not None:
        total = sum(v["sum_s"] if isinstance(v, dict) else v for v in steps.values())
        lines.append(f"  {'sum':<26} {total:>9.1f} s  (wall {wall:.1f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------- environment


def environment() -> dict:
    from importlib import metadata

    import psutil

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        # check=False: outside a git checkout both print nothing, which is recorded as it is.
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, check=False
        ).stdout.strip())
    except OSError:
        commit, dirty = None, None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_average_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": commit,
        "git_dirty": dirty,
        "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                  "NUMBA_NUM_THREADS") if k in os.environ},
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


# ---------------------------------------------------------------- one size


def write_config(path: Path, table: Path, n_test: int, projections: list[str] | None = None) -> Path:
    """The workflow config: the generated table, n_test and the methods; everything else is the schema default."""
    import yaml

    config = {"n_test": n_test, "source": {"kind": "file", "path": str(table)}}
    if projections:
        config["projections"] = projections
    path.write_text(yaml.safe_dump(config))
    return path


def warm_numba_cache(cache: Path, log_path: Path) -> float:
    """Fill a shared NUMBA_CACHE_DIR as a machine's first runs would.

    A fit on a precomputed neighbour graph (the workflow's path) and one searching its own
    neighbours at 5,000 rows (the seed's path: above 4,095 rows umap-learn searches through
    pynndescent, which caches some of its functions itself). fit_umap caches a superset of what a
    plain umap-learn import caches, so both sides find everything an earlier run would have left.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(REPO / 'scripts')!r})\n"
        "import numpy as np\n"
        "from dimred_flow.methods.umap import fit_umap\n"
        "from dimred_flow.projections import neighbour_count, neighbour_graph\n"
        "rng = np.random.default_rng(0)\n"
        "small, large = (rng.normal(size=(rows, 8)).astype(np.float32) for rows in (600, 5000))\n"
        "k = neighbour_count(len(small), 90)\n"
        "fit_umap(small, 1, n_neighbors=15, min_dist=0.1, graph=neighbour_graph(small, k, seed=1))\n"
        "fit_umap(large, 1, n_neighbors=15, min_dist=0.1)\n"
    )
    started = time.perf_counter()
    with open(log_path, "w") as log:
        subprocess.run([sys.executable, "-c", code], env=subprocess_env(cache), stdout=log, stderr=subprocess.STDOUT,
                       check=True)
    return time.perf_counter() - started


def snakemake_startup_s() -> float:
    """Seconds to import Snakemake's API: every workflow run pays it before its first job."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import snakemake.api"], check=True)
    return time.perf_counter() - started


def median_run(runs: list) -> int:
    """Index of the run with the median wall time (the lower middle one of an even count)."""
    order = sorted(range(len(runs)), key=lambda i: runs[i].wall_s)
    return order[(len(order) - 1) // 2]


def bench_size(n: int, args, workroot: Path, snapshot, jit_s: float | None, shared_cache: Path | None,
               reference_quality: dict | None = None) -> dict:
    size_dir = workroot / f"n{n}"
    size_dir.mkdir(parents=True, exist_ok=True)
    print(f"\n=== N = {n:,} ===", flush=True)

    started = time.perf_counter()
    table = write_table(resample_table(snapshot, n, seed=args.seed, jitter=args.jitter),
                        size_dir / f"table_{n}.{args.format}")
    print(f"table: {table} ({table.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)", flush=True)
    config = write_config(size_dir / "config.yaml", table, args.n_test, args.projections)

    if shared_cache is not None:
        cache_a = cache_b = shared_cache
    else:
        cache_a, cache_b = size_dir / "numba_cache_a", size_dir / "numba_cache_b"

    with_baseline = args.baseline_up_to is None or n <= args.baseline_up_to
    estimate_from = args.estimate_iterations if n > args.estimate_above else None
    seed_n = min(estimate_from, args.n_test) if estimate_from else args.n_test
    # Short runs vary by several seconds with the machine's other load: they are repeated, the two
    # sides alternating so that a slow spell hits both, and each side's median run is reported.
    repeats = args.repeats if n <= REPEAT_UP_TO_ROWS else 1
    seed_runs, workflow_runs = [], []
    for repeat in range(1, repeats + 1):
        suffix = f"_{repeat}" if repeats > 1 else ""
        if shared_cache is None:
            for cache in (cache_a, cache_b):
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()
        if with_baseline:
            print(f"(a) seed serial loop, {seed_n} iteration(s)"
                  f"{f', run {repeat}/{repeats}' if repeats > 1 else ''} ...", flush=True)
            seed_runs.append(run_seed_loop(size_dir, f"seed_loop{suffix}", config, seed_n, cache_a))
        print(f"(b) workflow, n_test={args.n_test}, --cores {args.cores}"
              f"{f', run {repeat}/{repeats}' if repeats > 1 else ''} ...", flush=True)
        workflow_runs.append(run_workflow(size_dir, f"workflow{suffix}", config, args.cores, cache_b))

    a, timings = seed_runs[median_run([run for run, _ in seed_runs])] if seed_runs else (None, None)
    b, workdir = workflow_runs[median_run([run for run, _ in workflow_runs])]
    estimate = None
    wall_a = a.wall_s if a else None
    if a and seed_n < args.n_test:
        estimate = extrapolate_seed_wall(a.wall_s, timings, args.n_test, jit_s)
        wall_a = estimate["wall_s"]
    rules = rule_breakdown(workdir / "results" / "benchmarks")
    [metrics] = (workdir / "results" / "metrics").glob("*.json")  # named by their fingerprint
    measured_quality = quality(json.loads(metrics.read_text()))
    seeds = seed_timings(workdir)

    row = {
        "n": n,
        "n_test": args.n_test,
        "table": str(table),
        "rows_used": json.loads(next((workdir / "results" / "data" / "features").glob("*.json")).read_text())["rows_kept"],
        "numba_cache": args.numba_cache,
        "repeats": repeats,
        "wall_a": wall_a,
        "wall_a_measured": a.wall_s if a else None,
        "walls_a_measured": [round(run.wall_s, 3) for run, _ in seed_runs],
        "estimated_a": seed_n if estimate else None,
        "estimate_a": estimate,
        "wall_b": b.wall_s,
        "walls_b": [round(run.wall_s, 3) for run, _ in workflow_runs],
        "rss_a": a.peak_tree_rss if a else None,
        "rss_b": b.peak_tree_rss,
        "seed_loop": {**_measurement_json(a), "timings": timings, "steps": seed_breakdown(timings)} if a else None,
        "workflow": {**_measurement_json(b), "workdir": str(workdir), "rules": rules,
                     "rule_seconds_sum": round(sum(r["sum_s"] for r in rules.values()), 3),
                     "seed_timings": seeds, "cluster_model": cluster_model(rules, seeds)},
        "quality": measured_quality,
        "load_average_after": os.getloadavg(),
    }
    row["evaluation"] = evaluate(n, wall_a, b.wall_s, b.peak_tree_rss)
    if n == ARCHIVE_N and reference_quality:
        checks = quality_checks(measured_quality, reference_quality)
        row["evaluation"]["checks"] += checks
        row["evaluation"]["verdict"] = "PASS" if all(c["ok"] for c in row["evaluation"]["checks"]) else "FAIL"
    if repeats > 1 and a:
        walls_a, walls_b = (", ".join(_s(w) for w in row[key]) for key in ("walls_a_measured", "walls_b"))
        print(f"    medians of {repeats} runs: (a) {_s(a.wall_s)} of {walls_a}; (b) {_s(b.wall_s)} of {walls_b}",
              flush=True)
    if a:
        print(format_breakdown(f"  (a) seed loop steps ({seed_n} iteration(s) measured, median run):",
                               row["seed_loop"]["steps"], timings["in_process_s"]))
    print(format_breakdown("  (b) workflow per rule family (Snakemake benchmark: files, median run):", rules, b.wall_s))
    print(f"  quality (mean over seeds, fixed subsample): {json.dumps(measured_quality)}")
    print(f"  modelled cluster wall with one job per seed: {row['workflow']['cluster_model']['wall_s']:.1f} s",
          flush=True)
    return row


def run_seed_loop(size_dir: Path, name: str, config: Path, seed_n: int, cache: Path) -> tuple[Measurement, dict]:
    seed_dir = size_dir / name
    timings_path = seed_dir / "timings.json"
    command = [sys.executable, str(SEED_LOOP), "--configfile", str(config), "--n-test", str(seed_n),
               "--out-dir", str(seed_dir), "--timings", str(timings_path)]
    run = run_measured(command, env=subprocess_env(cache), cwd=size_dir, log_path=size_dir / f"{name}.log")
    if run.returncode != 0:
        raise SystemExit(f"seed loop failed (exit {run.returncode}); log {run.log}:\n{tail(run.log)}")
    print(f"    wall {run.wall_s:.1f} s, peak RSS {run.peak_tree_rss / 1e6:.0f} MB", flush=True)
    return run, json.loads(timings_path.read_text())


def run_workflow(size_dir: Path, name: str, config: Path, cores: int, cache: Path) -> tuple[Measurement, Path]:
    """The workflow in a fresh working directory; returns its measurement and that directory."""
    workdir = size_dir / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--configfile", str(config), "--cores", str(cores)]
    run = run_measured(command, env=subprocess_env(cache), cwd=size_dir, log_path=size_dir / f"{name}.log")
    if run.returncode != 0:
        raise SystemExit(f"workflow failed (exit {run.returncode}); log {run.log}:\n{tail(run.log)}")
    if not (workdir / "results" / "merged_plots.pdf").is_file():
        raise SystemExit(f"workflow finished without results/merged_plots.pdf; log {run.log}")
    print(f"    wall {run.wall_s:.1f} s, peak tree RSS {run.peak_tree_rss / 1e6:.0f} MB "
          f"(largest process {run.peak_single_rss / 1e6:.0f} MB)", flush=True)
    return run, workdir


def _measurement_json(m: Measurement) -> dict:
    return {"wall_s": round(m.wall_s, 3), "peak_tree_rss": m.peak_tree_rss, "peak_single_rss": m.peak_single_rss,
            "peak_single_cmd": m.peak_single_cmd, "rusage_maxrss": m.rusage_maxrss, "rss_samples": m.samples,
            "log": m.log}


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 20000, LARGE_N], help="table sizes N")
    parser.add_argument("--n-test", type=int, default=5, help="iterations (seeds) on both sides")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--projections", nargs="+", help="the workflow's methods (config key projections); "
                        "the seed's loop always runs its three")
    parser.add_argument("--numba-cache", choices=["warm", "cold"], default="warm",
                        help="warm: both sides share one NUMBA_CACHE_DIR filled before the first size, the state "
                             "of any machine after its first run; cold: a fresh empty one for each side and size")
    parser.add_argument("--estimate-above", type=int, default=20000,
                        help="above this N the seed loop runs only --estimate-iterations iterations and is "
                             "extrapolated to n_test")
    parser.add_argument("--estimate-iterations", type=int, default=1)
    parser.add_argument("--baseline-up-to", type=int,
                        help="run the seed loop only up to this N; larger sizes measure the workflow alone "
                             "(at 1,000,000 rows the loop would take about a day)")
    parser.add_argument("--repeats", type=int, default=3,
                        help=f"runs of each side, alternating, at sizes up to {REPEAT_UP_TO_ROWS:,} rows; the median "
                             "run is reported (their walls vary by several seconds with the machine's load)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="generated table format")
    parser.add_argument("--seed", type=int, default=RESAMPLE_SEED, help="resampling seed")
    parser.add_argument("--jitter", type=float, default=0.05,
                        help="noise, as a fraction of each column's within-cluster standard deviation")
    parser.add_argument("--workdir", type=Path, help="scratch directory (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "scripts"))
    from dimred_flow.tables import read_table_file

    env = environment()
    print(f"{env['cpu_count']} CPUs ({env['cpu_model']}), {env['memory_bytes'] / 2**30:.0f} GiB, "
          f"load average {env['load_average_at_start']}", flush=True)
    if env["load_average_at_start"][0] > 0.5 * (env["cpu_count"] or 1):
        print("WARNING: the machine is busy (see the load average): both wall times will be distorted.", flush=True)
    env["snakemake_startup_s"] = round(snakemake_startup_s(), 2)
    if env["snakemake_startup_s"] > 5:
        print(f"WARNING: importing Snakemake takes {env['snakemake_startup_s']} s here. The usual cause is a Slurm "
              "client configured without a reachable controller: the Slurm executor plugin waits for `scontrol "
              "show config` at import. Start the controller or run where none is configured.", flush=True)
    snapshot = read_table_file(SNAPSHOT)
    workroot = args.workdir or Path(tempfile.mkdtemp(prefix="dimred-bench-"))
    workroot.mkdir(parents=True, exist_ok=True)
    rows, jit_s, shared_cache = [], None, None
    try:
        if args.numba_cache == "warm":
            shared_cache = workroot / "numba_cache_shared"
            env["numba_cache_warm_up_s"] = round(warm_numba_cache(shared_cache, workroot / "warm_up.log"), 1)
            print(f"numba cache filled in {env['numba_cache_warm_up_s']} s (once per machine): {shared_cache}",
                  flush=True)
        reference_quality = None
        for n in sorted(args.sizes):
            row = bench_size(n, args, workroot, snapshot, jit_s, shared_cache, reference_quality)
            rows.append(row)
            if n == LARGE_N:
                reference_quality = row["quality"]
            if row["seed_loop"] and row["estimated_a"] is None:
                jit_s = umap_jit_estimate(row["seed_loop"]["timings"]) or jit_s
            _write_results(args, env, rows, workroot)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workroot, ignore_errors=True)
    print("\nNumba cache: " + ("warm: one NUMBA_CACHE_DIR shared by both sides, filled before the first size"
                              if shared_cache else "cold: a fresh empty NUMBA_CACHE_DIR for each side and size"))
    print(format_report(rows))
    print(f"\nresults: {args.out}")
    return 0 if all(r["evaluation"]["verdict"] != "FAIL" for r in rows) else 1


def _write_results(args, env: dict, rows: list[dict], workroot: Path) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "settings": {"sizes": args.sizes, "n_test": args.n_test, "cores": args.cores, "numba_cache": args.numba_cache,
                     "projections": args.projections,
                     "estimate_above": args.estimate_above, "baseline_up_to": args.baseline_up_to, "estimate_iterations": args.estimate_iterations,
                     "repeats": args.repeats, "repeat_up_to_rows": REPEAT_UP_TO_ROWS,
                     "format": args.format, "resample_seed": args.seed, "jitter": args.jitter,
                     "workdir": str(workroot) if (args.keep or args.workdir) else None},
        "targets": {"ratio": {str(k): v for k, v in RATIO_TARGETS.items()},
                    str(LARGE_N): {"wall_s_below": LARGE_WALL_S, "peak_rss_bytes_below": LARGE_RSS_BYTES},
                    str(ARCHIVE_N): {"wall_s_below": ARCHIVE_WALL_S, "peak_rss_bytes_below": ARCHIVE_RSS_BYTES,
                                     "quality_within": QUALITY_TOLERANCE, "quality_reference_n": LARGE_N}},
        "environment": {**env, "load_average_at_end": os.getloadavg()},
        "results": rows,
        "report": format_report(rows),
    }
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())

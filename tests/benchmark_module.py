"""The programs in benchmarks/, imported by the tests that use their pure parts or the resampler."""

import importlib.util
import sys

from workflow_runner import REPO


def benchmark_module(name: str = "run_benchmark"):
    """benchmarks/<name>.py as a module (tap_fetch_benchmark imports run_benchmark by name, so load that first)."""
    if name != "run_benchmark":
        benchmark_module("run_benchmark")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up by name.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def resampled_snapshot(n_rows: int, path):
    """The shipped snapshot resampled to `n_rows` rows with the benchmark's jitter, written to `path`."""
    from dimred_flow.tables import read_table_file

    benchmark = benchmark_module()
    return benchmark.write_table(benchmark.resample_table(read_table_file(benchmark.SNAPSHOT), n_rows, seed=1), path)

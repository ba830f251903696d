"""benchmarks/run_benchmark.py, imported by the tests that use its pure parts or its resampler."""

import importlib.util
import sys

from workflow_runner import REPO


def run_benchmark_module():
    if "run_benchmark" not in sys.modules:
        spec = importlib.util.spec_from_file_location("run_benchmark", REPO / "benchmarks" / "run_benchmark.py")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up by name.
        sys.modules["run_benchmark"] = module
        spec.loader.exec_module(module)
    return sys.modules["run_benchmark"]


def resampled_snapshot(n_rows: int, path):
    """The shipped snapshot resampled to `n_rows` rows with the benchmark's jitter, written to `path`."""
    from dimred_flow.tables import read_table_file

    benchmark = run_benchmark_module()
    return benchmark.write_table(benchmark.resample_table(read_table_file(benchmark.SNAPSHOT), n_rows, seed=1), path)

"""What decides an embedding's bytes besides its settings: the CPU, the BLAS library with its kernel and
threads, numba, and the versions of the numeric libraries. Recorded beside every embedding batch (its
batch.json), carried by each plot's record, and written into the run's crate."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

# The distributions whose code computes an embedding (a method's own library is among them).
NUMERIC_DISTRIBUTIONS = (
    "numpy", "scipy", "scikit-learn", "numba", "llvmlite", "pynndescent", "umap-learn", "openTSNE", "pacmap",
    "trimap", "torch",
)


def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The CPU's vendor and model (Linux), else what the platform module knows."""
    found = {}
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("vendor_id", "model name") and key.strip() not in found:
                found[key.strip()] = value.strip()
    except OSError:
        pass
    return {
        "vendor": found.get("vendor_id") or platform.processor() or "unknown",
        "model": found.get("model name") or platform.processor() or "unknown",
        "machine": platform.machine(),
    }


def thread_pools() -> list[dict]:
    """Each loaded BLAS/OpenMP library: its implementation, version, kernel (architecture) and threads."""
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer", "num_threads")
    pools = [{key: pool[key] for key in keep if key in pool} for pool in threadpool_info()]
    # In a stable order: libraries load in an order that varies between runs of the same job.
    return sorted(pools, key=lambda pool: [str(pool.get(key)) for key in keep])


def numeric_environment() -> dict:
    versions = {}
    for name in NUMERIC_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    environment = {"cpu": cpu(), "python": platform.python_version(), "thread_pools": thread_pools()}
    if "numba" in sys.modules:
        environment["numba_threads"] = sys.modules["numba"].config.NUMBA_NUM_THREADS
    return {**environment, "versions": versions}

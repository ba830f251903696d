"""Runs the real Snakemake workflow in a scratch working directory (used by the integration tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# Small but real: the shipped snapshot cut to a few hundred rows keeps a run to about a minute.
SMALL_CONFIG = {
    "n_test": 2,
    "max_rows": 400,
    "methods": {"umap": {"jobs": 1}, "tsne": {"jobs": 1, "n_iter": 200}},
    "plot": {"dpi": 60},
}


@dataclass
class SnakemakeRun:
    returncode: int
    output: str

    def assert_ok(self) -> SnakemakeRun:
        assert self.returncode == 0, self.output[-6000:]
        return self


def deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def write_config(workdir: Path, overrides: dict) -> Path:
    with open(REPO / "config" / "config.yaml") as handle:
        config = deep_merge(deep_merge(yaml.safe_load(handle), SMALL_CONFIG), overrides)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(workdir: Path, *args: str, config: dict | None = None, cores: int = 2) -> list[str]:
    """Snakemake with the repository's Snakefile, `workdir` as working directory and a config file there."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(workdir, config or {})
    return [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(config_path),
        "--cores", str(cores),
        "--show-failed-logs",
        *args,
    ]


def run_snakemake(
    workdir: Path,
    *args: str,
    config: dict | None = None,
    env: dict | None = None,
    cores: int = 2,
    timeout: float = 900,
) -> SnakemakeRun:
    return run_command(snakemake_command(workdir, *args, config=config, cores=cores), env=env, timeout=timeout)


def start_snakemake(
    workdir: Path, *args: str, config: dict | None = None, output: Path | None = None
) -> subprocess.Popen:
    """run_snakemake in the background, in a session of its own (a test may signal it and its jobs) and with
    its output in the file `output` (or nowhere), for a test to act during the run."""
    with open(output or os.devnull, "w") as handle:
        return subprocess.Popen(
            snakemake_command(workdir, *args, config=config),
            env=command_environment(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def command_environment(env: dict | None = None) -> dict:
    """This interpreter's tools first on PATH, the shared numba cache, and `env`."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba")),
        **(env or {}),
    }


def run_command(command: list[str], cwd: Path | None = None, env: dict | None = None, timeout: float = 900) -> SnakemakeRun:
    """A Snakemake (or snakedeploy) command with command_environment(env)."""
    full_env = command_environment(env)
    try:
        done = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(command[:3])} did not finish in {timeout} s: {expired.stdout}")
    return SnakemakeRun(done.returncode, done.stdout + done.stderr)

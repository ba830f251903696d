"""One venv per conda env file (envs/<env>.yaml -> ROOT/<env>), built with pip from that file's pins alone.

The closest a machine without a conda channel comes to `snakemake --sdm conda`: the workflow runs each
job with its rule's venv when DIMRED_FLOW_VENVS=ROOT (use_env_venvs in workflow/rules/common.smk).
What it does not cover is conda's own solver: pip resolves the unpinned dependencies of the pins.

    python tests/env_venvs.py ROOT        # build or refresh every venv under ROOT
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from environment_files import ENV_FILES, conda_entries, parse_conda_entry

STAMP = ".env-file-sha256"


def pip_requirements(env_file: Path) -> list[str]:
    """The env file's pins as pip requirements; python itself must match this interpreter."""
    requirements = []
    for entry in conda_entries(env_file):
        name, version = parse_conda_entry(entry)
        if name == "python":
            running = f"{sys.version_info.major}.{sys.version_info.minor}"
            assert running == version, f"{env_file.name} wants python {version}, this is {running}"
            continue
        requirements.append(f"{name}=={version}")
    return requirements


def build_env_venv(env_file: Path, root: Path) -> Path:
    """ROOT/<env>, rebuilt only when the env file has changed since it was built (as conda's env hashes)."""
    venv = root / env_file.stem
    digest = hashlib.sha256(env_file.read_bytes()).hexdigest()
    if (venv / STAMP).is_file() and (venv / STAMP).read_text() == digest:
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *pip_requirements(env_file)],
        check=True,
    )
    (venv / STAMP).write_text(digest)
    return venv


def build_all(root: Path) -> list[Path]:
    return [build_env_venv(env_file, root) for env_file in ENV_FILES]


if __name__ == "__main__":
    for built in build_all(Path(sys.argv[1]).resolve()):
        print(built)

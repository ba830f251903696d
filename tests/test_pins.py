"""Every file that pins a package agrees with requirements.txt, the single source of truth.

Checked here: requirements*.txt, envs/*.yaml, environment.yml and containers/Dockerfile
agree, every environment entry is pinned, and every rule names a conda environment and
the container image. That each env holds what its rules import is test_environments.py;
that the envs and the image really run the workflow, test_env_venvs.py and test_container.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from environment_files import (
    ENV_FILES,
    REPO,
    canonical,
    conda_entries,
    parse_conda,
    parse_conda_entry,
    parse_requirements,
)
from rule_programs import parsed_rules

DOCKERFILE = REPO / "containers" / "Dockerfile"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def parse_dockerfile(path: Path) -> dict[str, str]:
    """Versions the Dockerfile fixes itself: the default python base image and any inline name==version."""
    text = path.read_text()
    base = re.search(r"^ARG\s+BASE_IMAGE=(?:\S+/)?python:(\d+(?:\.\d+)*)\S*", text, re.MULTILINE)
    assert base, "containers/Dockerfile must default its BASE_IMAGE to a python:<version> image"
    assert re.search(r"^FROM\s+\$\{BASE_IMAGE\}", text, re.MULTILINE), "containers/Dockerfile must build FROM ${BASE_IMAGE}"
    pins = {"python": base.group(1)}
    for name, version in re.findall(r"\s([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", text):
        pins[canonical(name)] = version
    return pins


def versions_agree(name: str, a: str, b: str) -> bool:
    if a == b:
        return True
    # python=3.11 in a conda file matches the image's python:3.11.7.
    return name == "python" and (a.startswith(b + ".") or b.startswith(a + "."))


def all_pin_sources() -> dict[str, dict[str, str | None]]:
    sources = {
        "requirements.txt": parse_requirements(REPO / "requirements.txt"),
        "requirements-dev.txt": parse_requirements(REPO / "requirements-dev.txt"),
        "profiles/htcondor/requirements.txt": parse_requirements(REPO / "profiles" / "htcondor" / "requirements.txt"),
        "environment.yml": parse_conda(REPO / "environment.yml"),
        "containers/Dockerfile": parse_dockerfile(DOCKERFILE),
    }
    for path in ENV_FILES:
        sources[f"envs/{path.name}"] = parse_conda(path)
    return sources


def test_every_pin_agrees_across_files():
    seen: dict[str, list[tuple[str, str]]] = {}
    for source, pins in all_pin_sources().items():
        for name, version in pins.items():
            if version is not None:
                seen.setdefault(name, []).append((source, version))
    disagreements = {
        name: places
        for name, places in seen.items()
        if len(places) > 1 and not all(versions_agree(name, places[0][1], v) for _, v in places[1:])
    }
    assert not disagreements, "\n".join(
        f"{name}: " + ", ".join(f"{source} has {version}" for source, version in places)
        for name, places in sorted(disagreements.items())
    )
    # The comparison really covers the files (a parser that finds nothing would pass vacuously).
    assert len(seen) >= 20
    assert all(len(seen[name]) >= 3 for name in ("numpy", "scipy", "opentsne", "matplotlib")), seen


@pytest.mark.parametrize("path", [*ENV_FILES, REPO / "environment.yml"], ids=lambda p: p.name)
def test_every_environment_entry_is_pinned(path):
    unpinned = [entry for entry in conda_entries(path) if parse_conda_entry(entry)[1] is None]
    assert not unpinned, f"{path.name}: unpinned {unpinned}"
    channels = yaml.safe_load(path.read_text())["channels"]
    assert "conda-forge" in channels and "defaults" not in channels, channels


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_rule_environments_only_use_runtime_pins(path):
    runtime = parse_requirements(REPO / "requirements.txt")
    extra = set(parse_conda(path)) - set(runtime) - {"python"}
    assert not extra, f"{path.name} installs {sorted(extra)}, which requirements.txt does not pin"


def test_environment_yml_holds_every_dev_requirement():
    wanted = set(parse_requirements(REPO / "requirements.txt")) | set(parse_requirements(REPO / "requirements-dev.txt"))
    missing = wanted - set(parse_conda(REPO / "environment.yml"))
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_dockerfile_installs_requirements_txt():
    text = DOCKERFILE.read_text()
    assert re.search(r"^COPY\s+requirements\.txt\s", text, re.MULTILINE), "the Dockerfile must copy requirements.txt"
    installs = re.search(r"pip install\b[^\n]*-r\s+requirements\.txt", text)
    assert installs, "the Dockerfile must pip install -r requirements.txt"
    for folder in ("scripts/", "workflow/"):
        assert re.search(rf"^COPY\s+{folder}", text, re.MULTILINE), f"the Dockerfile must copy {folder}"


def schema_image() -> str:
    return yaml.safe_load(SCHEMA.read_text())["properties"]["container_image"]["default"]


def test_image_name_matches_the_schema_default():
    default = schema_image().removeprefix("docker://")
    text = DOCKERFILE.read_text()
    documented = re.search(r"^#\s*image:\s*(\S+)", text, re.MULTILINE)
    assert documented, "containers/Dockerfile must document its image as '# image: <name>:<tag>'"
    assert documented.group(1) == default, f"Dockerfile documents {documented.group(1)}, schema says {default}"
    tags = re.findall(r"docker build\b.*?-t\s+(\S+)", text)
    assert tags and set(tags) == {default}, tags
    version = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', text)
    assert version and default.rsplit(":", 1)[1] == version.group(1), "image version label and tag differ"
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config.get("container_image", schema_image()) == schema_image()


def test_container_image_names_a_registry_scheme():
    # Without a scheme Snakemake takes the name for a local image file (is_local_file), so
    # --sdm apptainer cannot pull it; REANA strips the docker:// prefix itself.
    assert schema_image().startswith("docker://"), f"use docker://{schema_image()} as the container_image default"


def test_every_rule_that_runs_something_has_an_env_file_and_the_image():
    rules = [rule for rule in parsed_rules() if not rule.norun]
    assert len(rules) >= 20, [rule.name for rule in rules]
    problems = []
    for rule in rules:
        if not rule.conda_env or Path(str(rule.conda_env)) not in ENV_FILES:
            problems.append(f"{rule.name}: conda: {rule.conda_env} is no file in envs/")
        if rule.container_img != schema_image():
            problems.append(f"{rule.name}: container {rule.container_img} is not config container_image")
    assert not problems, problems

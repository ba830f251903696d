"""The workflow's version is declared once, in scripts/dimred_flow/__init__.py; every file that
must repeat it (a format that cannot import it) agrees with it."""

from __future__ import annotations

import re
import tomllib

import yaml

from dimred_flow import __version__
from workflow_runner import REPO

IMAGE = "ghcr.io/dimred-flow/dimred-flow"


def test_version_is_a_release_number():
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", __version__), __version__


def test_pyproject_declares_the_version():
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == __version__


def test_image_tag_and_label_are_the_version():
    dockerfile = (REPO / "containers" / "Dockerfile").read_text()
    assert f'org.opencontainers.image.version="{__version__}"' in dockerfile
    assert f"#   image: {IMAGE}:{__version__}\n" in dockerfile
    tags = set(re.findall(r"dimred-flow/dimred-flow:(\S+)|localhost/dimred-flow:(\S+)", dockerfile))
    assert {tag for pair in tags for tag in pair if tag} == {__version__}


def test_default_image_is_the_version():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["container_image"]["default"] == f"docker://{IMAGE}:{__version__}"
    assert f"`docker://{IMAGE}:{__version__}`" in (REPO / "config" / "README.md").read_text()


def test_readme_deploys_and_releases_the_version():
    readme = (REPO / "README.md").read_text()
    assert f"--tag v{__version__}" in readme, "the deployment commands name the current tag"
    assert f"git tag v{__version__}" in readme, "the release checklist tags the current version"
    assert f"{IMAGE}:{__version__}" in readme
    assert not re.search(r"--tag v(?!" + re.escape(__version__) + r"\b)[0-9.]+", readme), "an old tag is left"

"""The workflow inside the image that every rule's `container:` names, run with podman.

tests/servers/podman/provision.sh builds the image (from containers/Dockerfile, offline, on a Debian
base made with debootstrap). Without podman or the image the tests skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from dimred_flow import __version__
from machine_needs import skip_or_fail
from s3_fixture import ACCESS_KEY, SECRET_KEY
from storage_checks import stored_bundle
from workflow_runner import REPO, SMALL_CONFIG, deep_merge

pytestmark = pytest.mark.workflow

IMAGE = f"localhost/dimred-flow:{__version__}"
CONTAINERS_CONF = REPO / "tests" / "servers" / "podman" / "containers.conf"
# What reana.yaml uploads into a REANA workspace.
REANA_SPEC = yaml.safe_load((REPO / "reana.yaml").read_text())["inputs"]
REANA_INPUTS = [*REANA_SPEC.get("files", []), *REANA_SPEC.get("directories", [])]


def _podman_environment() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONTAINERS_CONF": str(CONTAINERS_CONF)}


@pytest.fixture(scope="module")
def image() -> str:
    problem = None
    if shutil.which("podman") is None:
        problem = "podman is not installed (bash tests/servers/podman/provision.sh, as root)"
    elif subprocess.run(["podman", "image", "exists", IMAGE], env=_podman_environment(), check=False).returncode != 0:
        problem = f"the image {IMAGE} is not built (bash tests/servers/podman/provision.sh, as root)"
    if problem:
        skip_or_fail(problem)
    return IMAGE


def run_in_image(image: str, workspace: Path, command: list[str], *, network: str, env: dict[str, str] | None = None):
    """`command` in the image, with only `workspace` mounted (at the same path) as the working directory.

    Only the variables in `env` reach the container; their values travel through podman's own
    environment, never its command line.
    """
    names = [arg for name in (env or {}) for arg in ("--env", name)]
    done = subprocess.run(
        ["podman", "run", "--rm", f"--network={network}", "--volume", f"{workspace}:{workspace}",
         "--workdir", str(workspace), *names, image, *command],
        env={**_podman_environment(), **(env or {})},
        capture_output=True, text=True, timeout=900, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output


def reana_workspace(root: Path, config: dict) -> Path:
    """A workspace as `reana-client upload` leaves it: the inputs of reana.yaml and the run's config."""
    workspace = root / "workspace"
    workspace.mkdir()
    for name in REANA_INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, workspace / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, workspace / name)
    (workspace / "config" / "run.yaml").write_text(yaml.safe_dump(config))
    return workspace


def test_default_workflow_reaches_the_merged_pdf_offline(image, tmp_path, reference_run):
    workspace = reana_workspace(tmp_path, deep_merge(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), SMALL_CONFIG))
    run_in_image(
        image, workspace, ["snakemake", "--cores", "2", "--configfile", "config/run.yaml"], network="none"
    )
    assert len(PdfReader(workspace / "results" / "merged_plots.pdf").pages) == 3
    # The local object store of the default config, inside the workspace.
    assert len(stored_bundle(workspace / "storage" / "new_user")["iterations"]) == 2
    reference_run.assert_same_bytes(workspace, "the image")


def test_reana_rehearsal_stages_through_s3_with_only_the_reana_secrets(image, tmp_path, s3_server):
    """As on REANA: every job in the image, the workspace the only mount, access_key/secret_key the
    only credentials; the S3 server runs on the host, so this container shares the host's network."""
    config = {
        "n_test": 2,
        "user_folder": "reana_rehearsal",
        "storage": {"url": "s3://plots/dimred", "endpoint_url": s3_server.endpoint_url},
    }
    workspace = reana_workspace(tmp_path, config)
    output = run_in_image(
        image,
        workspace,
        ["snakemake", "--cores", "2", "--configfile", "config/run.yaml"],
        network="host",
        env={"access_key": ACCESS_KEY, "secret_key": SECRET_KEY},
    )
    bundle = stored_bundle(s3_server.root / "plots" / "dimred" / "reana_rehearsal")
    assert bundle["iterations"] == [1, 2] and len(bundle["runs"]) == 1
    assert len(PdfReader(workspace / "results" / "merged_plots.pdf").pages) == 3
    for path in [*workspace.rglob("*.log"), *workspace.rglob("*.json")]:
        assert SECRET_KEY not in path.read_text(errors="replace"), path
    assert SECRET_KEY not in output

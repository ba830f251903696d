"""Every command in the README and config/README.md works as written (issue 27): each `snakemake` line
is run as a dry run from the repository root (a run's work is the other tests'), and every other command
is one this list names, with the test that runs it. A new command nobody classified fails here, so the
docs cannot rot unnoticed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from workflow_runner import REPO, command_environment

pytestmark = pytest.mark.workflow

DOCS = (REPO / "README.md", REPO / "config" / "README.md")
# Commands the README shows that are not Snakemake runs, by their first words, with what covers them.
COVERED_ELSEWHERE = {
    "make run": ".ci/run installs and runs the tests the same way; the workflow run itself is every test here",
    "make test": ".ci/run runs exactly this",
    "make crate-zip": "tests/test_crate_validation.py (pack_run_crate.py, and the zip validated)",
    "export": "sets credentials",
    "python scripts/verify_run.py": "tests/test_reproducibility.py (local folder and S3)",
    "python scripts/show_config.py": "tests/test_config.py",
    "python scripts/pack_run_crate.py": "tests/test_crate_validation.py",
    "python tests/env_venvs.py": "tests/test_env_venvs.py",
    "DIMRED_FLOW_VENVS=": "tests/test_env_venvs.py",
    "git clone": "needs the network; tests/test_deploy.py deploys a local release the same way",
    "pip install snakedeploy": "requirements-dev.txt pins it",
    "pip install -r requirements.txt -r profiles/htcondor/requirements.txt": (
        "make install installs both (requirements-dev.txt includes them); tests/test_backends.py uses the plugin"
    ),
    "snakedeploy deploy-workflow": "tests/test_deploy.py",
    "reana-client": "needs a REANA server; tests/test_reana.py validates reana.yaml and rehearses it in the image",
    "docker": "needs a container registry; tests/test_container.py builds and runs the image with podman",
}
# Snakemake commands that need a service this machine lacks even for a dry run, with the test that runs them
# against a local stand-in.
NEEDS_A_SERVICE = {
    "snakemake --workflow-profile profiles/kubernetes": "tests/test_backends.py (dry run against a local S3 server)",
}
# Files the README's commands name that a user writes first (contents as the README describes them).
USER_FILES = {
    "my-settings.yaml": "n_test: 2\n",
    "my_s3.yaml": "storage:\n  url: s3://my-bucket/dimred\n  endpoint_url: https://s3.example.org\n",
}


def commands(path: Path) -> list[str]:
    """The shell commands of a Markdown file's bash blocks: comments dropped, continuations joined."""
    found = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", path.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = "" if line.lstrip().startswith("#") else line.split(" #", 1)[0].strip()
            if command:
                found.append(command)
    return found


DOCUMENTED = sorted({command for doc in DOCS for command in commands(doc)})


def test_every_documented_command_is_run_here_or_covered_by_a_named_test():
    unclassified = [
        command for command in DOCUMENTED
        if not command.startswith("snakemake ") and not any(command.startswith(known) for known in COVERED_ELSEWHERE)
    ]
    assert not unclassified, f"classify these README commands in {Path(__file__).name}: {unclassified}"


@pytest.mark.parametrize(
    "command", [c for c in DOCUMENTED if c.startswith("snakemake ") and not c.startswith(tuple(NEEDS_A_SERVICE))]
)
def test_snakemake_command_runs_as_written(command, tmp_path):
    """As written, from the repository root, plus `--dry-run` and a scratch working directory."""
    for name, text in USER_FILES.items():
        (tmp_path / name).write_text(text)
    words = [word.replace("my-settings.yaml", str(tmp_path / "my-settings.yaml"))
             .replace("my_s3.yaml", str(tmp_path / "my_s3.yaml")) for word in shlex.split(command)]
    done = subprocess.run(
        [sys.executable, "-m", *words, "--dry-run", "--directory", str(tmp_path / "work")],
        cwd=REPO, env=command_environment(), capture_output=True, text=True, timeout=300, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "This was a dry-run" in output, output[-3000:]

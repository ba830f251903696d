"""A finished checkout seen from another path (a moved clone, a REANA workspace) has nothing to redo:
no rule records where the checkout lives as something its result depends on.
"""

from __future__ import annotations

import shutil
import sys

import pytest
import yaml

from workflow_runner import REPO, SMALL_CONFIG, run_command

pytestmark = pytest.mark.workflow

# What a clone holds besides the tracked files and is no part of a run.
NOT_CLONED = shutil.ignore_patterns(".git", ".venv", ".cache", "results", "logs", "storage", ".snakemake", "__pycache__")


def snakemake_in(checkout, *args: str) -> str:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/small.yaml", *args]
    return run_command(command, cwd=checkout).assert_ok().output


def test_a_moved_copy_of_a_finished_checkout_has_nothing_to_do(tmp_path):
    original = tmp_path / "here" / "dimred-flow"
    shutil.copytree(REPO, original, ignore=NOT_CLONED)
    (original / "config" / "small.yaml").write_text(yaml.safe_dump(SMALL_CONFIG))
    snakemake_in(original)
    moved = tmp_path / "somewhere" / "else" / "dimred-flow"
    shutil.copytree(original, moved, symlinks=True)
    assert "Nothing to be done" in snakemake_in(moved, "--dry-run")

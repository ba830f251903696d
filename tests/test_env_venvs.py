"""The default workflow, every job run by the interpreter of its own rule's env (built with pip from
envs/<env>.yaml alone): the envs run their rules, not just import them.
"""

from __future__ import annotations

import os
import stat

import pytest
from pypdf import PdfReader

from env_venvs import build_all, pip_requirements
from environment_files import ENV_FILES
from workflow_runner import REPO, run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def env_venvs():
    """Cached beside the numba cache, rebuilt when an env file changes (a first build takes minutes)."""
    root = REPO / ".cache" / "env-venvs"
    build_all(root)
    return root


def test_conda_pins_become_pip_requirements():
    requirements = pip_requirements(next(path for path in ENV_FILES if path.stem == "reduce"))
    assert "umap-learn==0.5.12" in requirements and "opentsne==1.0.4" in requirements
    assert not any(requirement.startswith("python") for requirement in requirements)


def test_default_workflow_runs_each_job_in_its_rule_env(env_venvs, tmp_path, reference_run):
    # A `python` that only fails: a job that is not given its env's interpreter cannot run.
    decoy = tmp_path / "bin"
    decoy.mkdir()
    (decoy / "python").write_text('#!/bin/sh\necho "plain python called: no env venv for this job" >&2\nexit 99\n')
    (decoy / "python").chmod(stat.S_IRWXU)
    run = run_snakemake(
        tmp_path / "work",
        config={"n_test": 2},
        env={"DIMRED_FLOW_VENVS": str(env_venvs), "PATH": f"{decoy}{os.pathsep}/usr/bin{os.pathsep}/bin"},
    ).assert_ok()
    assert "plain python called" not in run.output
    pdf = PdfReader(tmp_path / "work" / "results" / "merged_plots.pdf")
    assert len(pdf.pages) == 3  # two iterations and the stability table
    reference_run.assert_same_bytes(tmp_path / "work", "the per-env venvs")

"""The workflow passes `snakemake --lint` and `snakefmt --check`, and the Python code `ruff check`
(the versions pinned in requirements*.txt; ruff's rules are chosen in pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> tuple[int, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stdout + done.stderr


def test_snakemake_lint_reports_nothing():
    # Run from the repository root: the Snakefile's configfile (config/config.yaml) is relative to it.
    code, output = _run(sys.executable, "-m", "snakemake", "--lint", "--snakefile", "Snakefile")
    assert code == 0, output[-6000:]
    assert "Lints for" not in output, output[-6000:]


def test_snakefmt_leaves_every_file_unchanged():
    code, output = _run(str(BIN / "snakefmt"), "--check", "--diff", "Snakefile", "workflow/")
    assert code == 0, "snakefmt would reformat (run `snakefmt Snakefile workflow/`):\n" + output[-6000:]


def test_ruff_reports_nothing():
    code, output = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert code == 0, "ruff check finds problems (`ruff check --fix .` fixes some):\n" + output[-6000:]


def test_every_rule_describes_itself_in_list_rules():
    """`snakemake --list-rules` is where a newcomer looks first: each rule says what it does."""
    code, output = _run(sys.executable, "-m", "snakemake", "--list-rules", "--snakefile", "Snakefile")
    assert code == 0, output[-3000:]
    rules = [line for line in output.splitlines() if line and not line.startswith((" ", "Using ", "Config "))]
    assert len(rules) > 20, output
    undescribed = [line for line in rules if not line.endswith(")") or " (" not in line]
    assert not undescribed, undescribed

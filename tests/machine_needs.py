"""What a test needs from the machine (a server, a tool, root): without it the test is skipped, except
under CI=true, where it fails, so that CI never skips silently."""

from __future__ import annotations

import os
import shutil

import pytest


def skip_or_fail(problem: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{problem}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(problem)


def installed_command(command: str, provision_script: str) -> str:
    """The command's path, where the test set-up's `provision_script` has installed it."""
    found = shutil.which(command)
    if found is None:
        skip_or_fail(f"{command} is not installed here (bash {provision_script} installs it, as root)")
    return found

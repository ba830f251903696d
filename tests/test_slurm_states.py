"""The Slurm executor plugin's status query, wrapped so that 'CANCELLED by 0' counts as CANCELLED.

The query runs a real command, as the plugin does with sacct: here printf prints sacct's lines."""

from __future__ import annotations

import asyncio
import logging
import shlex

import pytest

from dimred_flow.slurm_states import state_word, with_plain_states

snakemake_executor_plugin_slurm = pytest.importorskip("snakemake_executor_plugin_slurm")


@pytest.mark.parametrize(
    ("state", "word"),
    [("CANCELLED by 0", "CANCELLED"), ("CANCELLED by 1000", "CANCELLED"), ("RUNNING", "RUNNING"), ("", "")],
)
def test_state_word(state, word):
    assert state_word(state) == word


def test_a_job_cancelled_by_a_user_is_a_failed_state_for_the_plugin():
    lines = "41|CANCELLED by 0\n42|COMPLETED\n43|OUT_OF_MEMORY\n44|RUNNING\n"
    command = shlex.join(["printf", lines])
    logger = logging.getLogger("test")
    plain, _ = asyncio.run(snakemake_executor_plugin_slurm.job_status_query.query_job_status(command, logger))
    assert plain["41"] == "CANCELLED by 0"  # what the plugin alone makes of it: not a state it knows
    wrapped = with_plain_states(snakemake_executor_plugin_slurm.job_status_query.query_job_status)
    states, _ = asyncio.run(wrapped(command, logger))
    assert states == {"41": "CANCELLED", "42": "COMPLETED", "43": "OUT_OF_MEMORY", "44": "RUNNING"}

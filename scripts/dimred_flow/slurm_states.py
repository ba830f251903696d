"""Every ended Slurm job is reported, whatever words sacct adds to its state.

sacct writes the state of a job cancelled by a user as 'CANCELLED by <uid>'. The Slurm executor
plugin (snakemake-executor-plugin-slurm 2.8.0, the newest) compares the whole string with its list of
failed states, so it takes such a job for one still running: Snakemake waits for it for ever, never
reports it, and the next run must `--unlock`. (The same bug, and the same fix, in the Snakemake-Profiles
slurm status script: https://github.com/Snakemake-Profiles/slurm/pull/22.) The state is its first word.
"""

from __future__ import annotations

import sys

PLUGIN = "snakemake_executor_plugin_slurm"


def state_word(state: str) -> str:
    """'CANCELLED by 0' -> 'CANCELLED'; 'RUNNING' stays as it is."""
    words = state.split()
    return words[0] if words else state


def with_plain_states(query_job_status):
    """The plugin's status query, answering each job's state as its first word."""

    async def query(command, logger):
        states, duration = await query_job_status(command, logger)
        if states is not None:
            states = {job: state_word(state) for job, state in states.items()}
        return states, duration

    query.plain_states = True
    return query


def report_every_ended_slurm_job() -> None:
    """Wrap the Slurm plugin's status query where the plugin is loaded (Snakemake imports its installed
    executor plugins on start); elsewhere there is nothing to do."""
    plugin = sys.modules.get(PLUGIN)
    if plugin is not None and not getattr(plugin.query_job_status, "plain_states", False):
        plugin.query_job_status = with_plain_states(plugin.query_job_status)

"""The private Snakemake names the workflow relies on: a Snakemake upgrade that renames one fails here,
with what to do, rather than going unnoticed (the workflow itself would only get slower to exit)."""

import inspect
from pathlib import Path

import snakemake
from snakemake.scheduling.job_scheduler import JobScheduler

COMMON_SMK = Path(__file__).resolve().parents[1] / "workflow" / "rules" / "common.smk"
RESCHEDULING = "_schedule_reevalutation"  # sic: Snakemake's spelling


def test_the_rescheduling_timer_is_armed_where_common_smk_looks_for_it():
    advice = (
        f"Snakemake {snakemake.__version__} has no JobScheduler.{RESCHEDULING} arming a threading.Timer. "
        "cancel_rescheduling_timers() in workflow/rules/common.smk finds that timer by this name to end a "
        "successful run without waiting for it: find the method that now arms the job-rate limiter's timer "
        "(snakemake/scheduling/job_scheduler.py) and put its name in both places, or remove the function "
        "and this test if Snakemake no longer leaves the timer running."
    )
    method = getattr(JobScheduler, RESCHEDULING, None)
    assert method is not None, advice
    assert "threading.Timer" in inspect.getsource(method), advice


def test_common_smk_looks_for_the_same_name():
    assert f'"{RESCHEDULING}"' in COMMON_SMK.read_text()

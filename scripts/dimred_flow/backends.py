"""Where a job runs, and what it asks of that place: REANA's compute backends and the HTCondor executor,
both from the memory and time limit the job's Cost gives it (dimred_flow/costs.py, common.smk's
job_resources), so that every backend enforces the same limits as Slurm and the local scheduler.

REANA runs a Snakemake step on the backend its `compute_backend` resource names, or on the instance's
default without one, and passes each backend its own resources (reana-workflow-engine-snakemake 0.9.4,
executor.py; reana-job-controller 0.9.4, schemas.py: the string or integer types below are its).
The backends are data here only: the config schema's choices are these names (config.load_schema).

Imported by the Snakefile at parse time: no third-party modules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReanaBackend:
    """The resources one REANA compute backend reads of a job, by name; None where it reads none."""

    memory: str | None = None
    memory_unit: str = ""
    # Seconds, as reana-job-controller reads them; Slurm's limit is in minutes.
    time_limit: str | None = None
    time_in_minutes: bool = False
    time_as_text: bool = True
    cores: str | None = None
    # Settings of the instance (an accounting group, a partition) the config passes as they are.
    settings: tuple[str, ...] = ()


# The names REANA's job controller knows (reana-job-controller 0.9.4, config.COMPUTE_BACKENDS); an
# instance runs only those its administrator enabled (its COMPUTE_BACKENDS, `reana-client info`).
REANA_BACKENDS: dict[str, ReanaBackend] = {
    # The pod's memory limit; past its timeout the pod is stopped.
    "kubernetes": ReanaBackend(
        memory="kubernetes_memory_limit", memory_unit="Mi", time_limit="kubernetes_job_timeout", time_as_text=False
    ),
    # CERN's HTCondor: a MaxRunTime in seconds; memory follows the requested cores there.
    "htcondorcern": ReanaBackend(time_limit="htcondor_max_runtime", settings=("htcondor_accounting_group",)),
    # CERN's Slurm: `sbatch --time` in minutes, on the configured partition.
    "slurmcern": ReanaBackend(time_limit="slurm_time", time_in_minutes=True, settings=("slurm_partition",)),
    # KIT's Compute4PUNCH (HTCondor reached over SSH): request_memory in MB and request_cpus.
    "compute4punch": ReanaBackend(
        memory="c4p_memory_limit", cores="c4p_cpu_cores", settings=("c4p_additional_requirements",)
    ),
}

# Without a backend a step runs on the instance's default, Kubernetes unless its administrator chose
# another: only the pod's memory limit is set (REANA's default limit is smaller than some jobs need),
# and the instance's own job timeout applies.
DEFAULT_REANA_RESOURCES = ("kubernetes_memory_limit",)


def reana_backend(reana: dict, rule: str) -> str | None:
    """The backend `rule`'s jobs run on: its own in reana.rule_backends, else reana.compute_backend."""
    return reana["rule_backends"].get(rule, reana["compute_backend"])


def unknown_rules(reana: dict, rules: set[str]) -> list[str]:
    """Names in reana.rule_backends that are no rule of the workflow (a misspelt one would be ignored)."""
    return sorted(set(reana["rule_backends"]) - rules)


def reana_settings(reana: dict, rule: str) -> dict[str, str]:
    """The resources naming `rule`'s backend and the instance settings it takes; none without a backend."""
    name = reana_backend(reana, rule)
    if name is None:
        return {}
    backend = REANA_BACKENDS[name]
    given = {key: reana["settings"][key] for key in backend.settings if reana["settings"][key]}
    return {"compute_backend": name, **given}


def reana_limits(reana: dict, rule: str, mem_mb: int, minutes: int) -> dict[str, str | int]:
    """The memory and time limit of one of `rule`'s jobs as its REANA backend reads them."""
    name = reana_backend(reana, rule)
    if name is None:
        return dict.fromkeys(DEFAULT_REANA_RESOURCES, f"{mem_mb}Mi")
    backend = REANA_BACKENDS[name]
    limits: dict[str, str | int] = {}
    if backend.memory:
        limits[backend.memory] = f"{mem_mb}{backend.memory_unit}"
    if backend.time_limit:
        limit = minutes if backend.time_in_minutes else minutes * 60
        limits[backend.time_limit] = str(limit) if backend.time_as_text else limit
    return limits


def reana_cores_resource(reana: dict, rule: str) -> str | None:
    """The resource in which `rule`'s backend reads the job's cores, where it reads them."""
    name = reana_backend(reana, rule)
    return REANA_BACKENDS[name].cores if name else None


def htcondor_limits(mem_mb: int, minutes: int) -> dict[str, int]:
    """What snakemake-executor-plugin-htcondor (0.3.0) turns into a job's request_memory (MB) and its
    runtime limit, allowed_execute_duration: seconds after which HTCondor holds the job. The plugin
    reads neither mem_mb nor runtime itself; request_cpus it takes from the rule's threads."""
    return {"htcondor_request_mem_mb": mem_mb, "allowed_execute_duration": minutes * 60}

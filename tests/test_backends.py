"""Compute backends (issue 29): REANA's per-step backend, the HTCondor and the Kubernetes executor.

No HTCondor pool and no Kubernetes cluster are reachable here, so each executor plugin's own
`run_job` builds its jobs offline: the HTCondor plugin's submit description (htcondor2.Submit, the
schedd that would receive it replaced by one that keeps it) and the Kubernetes plugin's V1Job (the
API that would receive it replaced likewise), from each rule's resources as the workflow declares
them. Both profiles then plan every job in a dry run after the checkpoints ran locally.
"""

from __future__ import annotations

import re
import shutil
import sys
from types import SimpleNamespace

import pytest
import yaml

from rule_programs import parsed_rules
from s3_fixture import ACCESS_KEY, SECRET_KEY, running_s3_server
from workflow_runner import REPO, run_snakemake

sys.path.insert(0, str(REPO / "scripts"))
from dimred_flow.backends import (
    REANA_BACKENDS,
    reana_backend,
    reana_limits,
    reana_settings,
    unknown_rules,
)
from dimred_flow.config import ConfigError, load_schema, validate_config

HTCONDOR_PROFILE = yaml.safe_load((REPO / "profiles" / "htcondor" / "config.yaml").read_text())
KUBERNETES_PROFILE = yaml.safe_load((REPO / "profiles" / "kubernetes" / "config.yaml").read_text())
# A small and a large input: limits grow with the input (costs.py), so both must be mapped.
INPUT_MB = (1, 500)


def reana(**given) -> dict:
    return validate_config({"reana": given})["reana"]


# ---------------------------------------------------------------- the pure mapping


def test_without_a_backend_each_pod_gets_its_jobs_memory_and_nothing_else():
    assert reana_settings(reana(), "merge_pdf") == {}
    assert reana_limits(reana(), "merge_pdf", 2000, 10) == {"kubernetes_memory_limit": "2000Mi"}


@pytest.mark.parametrize(
    "backend, limits",
    [
        ("kubernetes", {"kubernetes_memory_limit": "4096Mi", "kubernetes_job_timeout": 1800}),
        ("htcondorcern", {"htcondor_max_runtime": "1800"}),
        ("slurmcern", {"slurm_time": "30"}),
        ("compute4punch", {"c4p_memory_limit": "4096"}),
    ],
)
def test_each_backend_reads_the_limits_in_its_own_resources_and_units(backend, limits):
    assert reana_limits(reana(compute_backend=backend), "project_embeddings", 4096, 30) == limits
    assert reana_settings(reana(compute_backend=backend), "project_embeddings") == {"compute_backend": backend}


def test_a_rules_own_backend_overrides_the_default_and_takes_only_its_settings():
    config = reana(
        compute_backend="kubernetes",
        rule_backends={"project_embeddings": "htcondorcern"},
        settings={"htcondor_accounting_group": "group_u_dimred", "slurm_partition": "short"},
    )
    assert reana_backend(config, "project_embeddings") == "htcondorcern"
    assert reana_backend(config, "merge_pdf") == "kubernetes"
    assert reana_settings(config, "project_embeddings") == {
        "compute_backend": "htcondorcern",
        "htcondor_accounting_group": "group_u_dimred",
    }
    assert reana_settings(config, "merge_pdf") == {"compute_backend": "kubernetes"}
    assert unknown_rules(config, {"merge_pdf"}) == ["project_embeddings"]


def test_the_schema_and_the_docs_offer_exactly_the_backends_of_backends_py():
    reana_schema = load_schema()["properties"]["reana"]["properties"]
    assert reana_schema["compute_backend"]["enum"] == [None, *REANA_BACKENDS]
    settings = {name for backend in REANA_BACKENDS.values() for name in backend.settings}
    assert set(reana_schema["settings"]["properties"]) == settings
    named = set(re.findall(r"[a-z0-9]+", reana_schema["compute_backend"]["description"])) & {
        "kubernetes", "htcondorcern", "slurmcern", "compute4punch", "htcondor", "slurm", "c4p"
    }
    assert named == set(REANA_BACKENDS)
    documented = (REPO / "config" / "README.md").read_text()
    assert all(f"`{name}`" in documented for name in REANA_BACKENDS)
    with pytest.raises(ConfigError, match=r"reana\.compute_backend"):
        validate_config({"reana": {"compute_backend": "htcondor"}})


def test_a_misspelt_rule_in_rule_backends_stops_the_workflow():
    with pytest.raises(Exception, match=r"reana\.rule_backends.*project_embedding\b"):
        parsed_rules(config={"reana": {"rule_backends": {"project_embedding": "kubernetes"}}})


# ---------------------------------------------------------------- the workflow's rules


def declared(resource, input_mb, threads=1):
    """A resource's value for a job of project_embeddings' umap (wildcards) on an input of input_mb."""
    wildcards, job_input = SimpleNamespace(method="umap"), SimpleNamespace(size_mb=input_mb)
    return resource.evaluate(wildcards, input=job_input, threads=threads, attempt=1, rulename="", async_run=None).value


def job_resources_of(rule, input_mb: float, profile: dict) -> dict:
    """A job's resources as Snakemake gives them to an executor: the rule's, over the profile's defaults."""
    threads = declared(rule.resources["_cores"], input_mb)
    defaults = {
        key: eval(value, {"input": SimpleNamespace(size_mb=input_mb), "max": max}) if isinstance(value, str) else value
        for key, value in profile["default-resources"].items()
    }
    own = {name: declared(value, input_mb, threads) for name, value in rule.resources.items() if not name.startswith("_")}
    return {**defaults, **own, "_cores": threads}


@pytest.fixture(scope="module")
def compute_rules():
    rules = [rule for rule in parsed_rules() if "mem_mb" in rule.resources]
    assert len(rules) >= 25, [rule.name for rule in rules]
    return rules


@pytest.mark.parametrize("backend", list(REANA_BACKENDS))
def test_every_rule_asks_its_reana_backend_for_its_own_limits(backend):
    config = {"reana": {"compute_backend": backend, "rule_backends": {"merge_pdf": "kubernetes"}}}
    rules = [rule for rule in parsed_rules(config=config) if "mem_mb" in rule.resources]
    for rule in rules:
        chosen = "kubernetes" if rule.name == "merge_pdf" else backend
        assert declared(rule.resources["compute_backend"], 1) == chosen, rule.name
        for input_mb in INPUT_MB:
            resources = job_resources_of(rule, input_mb, {"default-resources": {}})
            expected = reana_limits(reana(compute_backend=chosen), rule.name, resources["mem_mb"], resources["runtime"])
            assert {key: resources[key] for key in expected} == expected, (rule.name, input_mb)
            if chosen == "compute4punch":
                assert resources["c4p_cpu_cores"] == str(resources["_cores"]), rule.name


# ---------------------------------------------------------------- HTCondor, offline


class KeepingSchedd:
    """Stands in for the schedd: keeps what it is given."""

    def __init__(self, kept: list):
        self.kept = kept

    def submit(self, description):
        self.kept.append(description)
        return SimpleNamespace(cluster=lambda: len(self.kept))


def fake_job(rule, resources: dict):
    return SimpleNamespace(
        name=rule.name, jobid=1, threads=resources["_cores"], resources=resources,
        input=[], output=[], is_group=lambda: False, rule=rule,
    )


def quiet_logger():
    return SimpleNamespace(**{level: lambda *args, **kwargs: None for level in ("debug", "info", "warning", "error")})


@pytest.fixture
def htcondor_executor(tmp_path, monkeypatch):
    import snakemake_executor_plugin_htcondor as plugin

    submitted = []
    monkeypatch.setattr(plugin.htcondor, "Schedd", lambda: KeepingSchedd(submitted))
    executor = object.__new__(plugin.Executor)
    executor.submitted = submitted
    executor.logger = quiet_logger()
    executor.jobDir = str(tmp_path)
    executor._unified_log_file = str(tmp_path / "snakemake-rules.log")
    # Snakemake's default --shared-fs-usage (all), which the profile keeps (it needs a shared file system).
    executor.workflow = SimpleNamespace(storage_settings=SimpleNamespace(shared_fs_usage={"input-output", "sources"}))
    executor.envvars = dict
    executor._get_exec_args_and_transfer_files = lambda job, needs_transfer: ("python", "-m snakemake", [], [], [])
    executor.report_job_submission = lambda info: None
    return executor


def test_htcondor_submit_descriptions_ask_for_each_rules_cpus_memory_disk_and_time(compute_rules, htcondor_executor):
    assert HTCONDOR_PROFILE["executor"] == "htcondor"
    checked = 0
    for rule in compute_rules:
        for input_mb in INPUT_MB:
            resources = job_resources_of(rule, input_mb, HTCONDOR_PROFILE)
            htcondor_executor.run_job(fake_job(rule, resources))
            submit = htcondor_executor.submitted[-1]
            assert submit["request_cpus"] == str(resources["_cores"]), rule.name
            memory = resources["mem_mb"]
            assert submit["request_memory"] in (f"{memory}MB", f"{memory // 1024}GB"), (rule.name, submit["request_memory"])
            if submit["request_memory"].endswith("GB"):
                assert memory % 1024 == 0
            assert int(submit["request_disk"]) == max(2 * input_mb, 1000) * 1024, rule.name
            assert int(submit["allowed_execute_duration"]) == resources["runtime"] * 60, rule.name
            assert "should_transfer_files" not in submit
            checked += 1
    assert checked == 2 * len(compute_rules)


# ---------------------------------------------------------------- Kubernetes, offline


class KeepingBatchApi:
    def __init__(self):
        self.created = []

    def create_namespaced_job(self, namespace, body):
        self.created.append((namespace, body))
        return body


@pytest.fixture
def kubernetes_executor():
    import snakemake_executor_plugin_kubernetes as plugin

    executor = object.__new__(plugin.Executor)
    executor.logger = quiet_logger()
    executor.run_namespace = "dimred-test"
    executor.namespace = "default"
    executor.container_image = KUBERNETES_PROFILE["container-image"]
    executor.privileged = False
    executor.persistent_volumes = []
    executor.k8s_cpu_scalar = 0.95
    executor.k8s_service_account_name = None
    executor.secret_envvars = {}
    executor.batchapi = KeepingBatchApi()
    executor.workflow = SimpleNamespace(deployment_settings=SimpleNamespace(deployment_method=set()))
    executor.format_job_exec = lambda job: "python -m snakemake"
    executor.report_job_submission = lambda info: None
    executor._kubernetes_retry = lambda call: call()
    return executor


def test_kubernetes_pods_run_the_workflows_image_with_each_rules_cpus_memory_and_disk(compute_rules, kubernetes_executor):
    image = load_schema()["properties"]["container_image"]["default"]
    assert KUBERNETES_PROFILE["container-image"] == image.removeprefix("docker://")
    assert KUBERNETES_PROFILE["default-storage-provider"] == "s3"
    for rule in compute_rules:
        for input_mb in INPUT_MB:
            resources = job_resources_of(rule, input_mb, KUBERNETES_PROFILE)
            kubernetes_executor.run_job(SimpleNamespace(**vars(fake_job(rule, resources)), attempt=1, is_containerized=False))
            _, body = kubernetes_executor.batchapi.created[-1]
            (container,) = body.spec.template.spec.containers
            assert container.image == image.removeprefix("docker://")
            wanted = {
                "cpu": f"{int(resources['_cores'] * 1000)}m",
                "memory": f"{resources['mem_mb']}M",
                "ephemeral-storage": f"{max(2 * input_mb, 1000)}M",
            }
            # Limits equal to the job's own figures: a pod past its memory is killed and retried with more.
            assert container.resources.limits == wanted, rule.name
            assert container.resources.requests["memory"] == wanted["memory"], rule.name


# ---------------------------------------------------------------- dry runs through the profiles


def test_the_htcondor_profile_plans_every_job(tmp_path):
    run_snakemake(tmp_path, "plan", cores=1).assert_ok()
    run = run_snakemake(tmp_path, "-n", "--workflow-profile", str(REPO / "profiles" / "htcondor"), timeout=300).assert_ok()
    assert "This was a dry-run" in run.output
    for rule in ("project_embeddings", "plot_projections", "compute_stability_metrics", "upload_plot", "write_run_crate"):
        assert f"rule {rule}:" in run.output, run.output[-3000:]
    assert "allowed_execute_duration=" in run.output and "htcondor_request_disk_mb=" in run.output


def test_the_kubernetes_profile_plans_every_job_through_s3(tmp_path_factory, tmp_path):
    with running_s3_server(tmp_path_factory) as s3:
        (s3.root / "plots" / "source").mkdir(parents=True)
        shutil.copy(REPO / "data" / "gaia_dr2_open_clusters.csv", s3.root / "plots" / "source" / "table.csv")
        config = {
            "storage": {"url": "s3://plots/dimred", "endpoint_url": s3.endpoint_url},
            "source": {"path": "s3://plots/source/table.csv"},
        }
        env = {
            **s3.credentials(),
            "SNAKEMAKE_STORAGE_S3_ACCESS_KEY": ACCESS_KEY,
            "SNAKEMAKE_STORAGE_S3_SECRET_KEY": SECRET_KEY,
        }
        storage = ["--default-storage-prefix", "s3://plots/jobs", "--storage-s3-endpoint-url", s3.endpoint_url]
        run_snakemake(
            tmp_path, "plan", "--keep-storage-local-copies", "--default-storage-provider", "s3", *storage,
            config=config, env=env, cores=1, timeout=300,
        ).assert_ok()
        run = run_snakemake(
            tmp_path, "-n", "--workflow-profile", str(REPO / "profiles" / "kubernetes"), *storage,
            config=config, env=env, timeout=300,
        ).assert_ok()
    assert "This was a dry-run" in run.output
    for rule in ("project_embeddings", "plot_projections", "compute_stability_metrics", "upload_plot", "write_run_crate"):
        assert f"rule {rule}:" in run.output, run.output[-3000:]
    assert "(retrieve from storage)" in run.output

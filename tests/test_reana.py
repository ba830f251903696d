"""reana.yaml is a valid REANA 0.9 specification and the workflow dry-runs under REANA's Snakemake (7.32.4).

tests/servers/reana/validate.sh builds reana-client 0.9.6 in .cache/reana-venv once
(that needs PyPI). When it cannot, the tests are skipped, except under CI=true,
where they fail: CI must never skip them silently.

The spec is validated in a scratch copy that holds only reana.yaml and the inputs it
lists: that is what a REANA workspace gets, and it proves the list is complete. (It
also avoids a reana-commons 0.9 crash, "argument of type 'NoneType' is not iterable"
in update_priority, when the spec's directory already holds the output of a
checkpoint, e.g. results/ from a local run in the repository root.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from dimred_flow.backends import REANA_BACKENDS
from machine_needs import skip_or_fail
from rule_programs import parsed_rules

REPO = Path(__file__).resolve().parents[1]
VALIDATE = REPO / "tests" / "servers" / "reana" / "validate.sh"
VENV = Path(os.environ.get("REANA_VENV", REPO / ".cache" / "reana-venv"))
SPEC = yaml.safe_load((REPO / "reana.yaml").read_text())
SUCCESS_LINES = (
    "SUCCESS: Valid REANA specification file.",
    "SUCCESS: REANA specification parameters appear valid.",
    "SUCCESS: Workflow operations appear valid.",
)


def _validate(spec: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(VALIDATE), str(spec)], capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A copy of what REANA uploads: reana.yaml plus its inputs, and nothing else."""
    root = tmp_path_factory.mktemp("reana-workspace")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SPEC["inputs"].get("files", []):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    for name in SPEC["inputs"].get("directories", []):
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    shutil.copy2(REPO / "reana.yaml", root / "reana.yaml")
    # The same spec without parameters: the workflow's own default, config/config.yaml.
    default = {**SPEC, "inputs": {key: value for key, value in SPEC["inputs"].items() if key != "parameters"}}
    (root / "reana-default-config.yaml").write_text(yaml.safe_dump(default, sort_keys=False))
    # One spec per backend: config/reana.yaml with reana.compute_backend set, as a user would edit it.
    reana_config = yaml.safe_load((REPO / SPEC["inputs"]["parameters"]["input"]).read_text())
    for backend in REANA_BACKENDS:
        config = f"config/reana-{backend}.yaml"
        (root / config).write_text(yaml.safe_dump({**reana_config, "reana": {"compute_backend": backend}}))
        spec = {**SPEC, "inputs": {**SPEC["inputs"], "parameters": {"input": config}}}
        (root / f"reana-{backend}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def reana_client(workspace) -> Path:
    """Builds (once) the reana-client venv; skips/fails when that is impossible."""
    if shutil.which("bash") is None:
        skip_or_fail("bash is not available")
    done = _validate(workspace / "reana.yaml")
    if done.returncode == 3:
        skip_or_fail(f"could not build the reana-client venv (needs PyPI): {done.stderr[-1500:]}")
    return VENV


def test_spec_lists_what_the_workflow_needs():
    assert SPEC["workflow"]["type"] == "snakemake"
    assert SPEC["workflow"]["file"] in SPEC["inputs"]["files"], "REANA uploads only inputs: list the Snakefile"
    for name in SPEC["inputs"]["directories"]:
        assert (REPO / name).is_dir(), name
    assert {"config", "scripts", "workflow", "envs", "data"} <= set(SPEC["inputs"]["directories"])
    assert (REPO / SPEC["inputs"]["parameters"]["input"]).is_file()
    assert "results/merged_plots.pdf" in SPEC["outputs"]["files"]


def test_reana_config_is_valid_with_placeholders_to_edit():
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from dimred_flow.config import validate_config
    from workflow_runner import deep_merge

    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    reana = yaml.safe_load((REPO / SPEC["inputs"]["parameters"]["input"]).read_text())
    config = validate_config(deep_merge(base, reana))
    assert config["storage"]["url"].startswith("s3://")
    assert config["storage"]["endpoint_url"].startswith("https://")
    assert "access_key" not in str(reana) and "secret" not in yaml.safe_dump(reana).lower()


@pytest.mark.parametrize("spec", ["reana.yaml", "reana-default-config.yaml", *(f"reana-{name}.yaml" for name in REANA_BACKENDS)])
def test_reana_client_validates_the_spec(reana_client, workspace, spec):
    done = _validate(workspace / spec)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for line in SUCCESS_LINES:
        assert line in output, output[-4000:]
    assert "ERROR" not in output, output[-4000:]


@pytest.mark.parametrize("configfile", [None, "config/reana.yaml"])
def test_snakemake_7_dry_runs_the_workflow(reana_client, workspace, configfile):
    """What REANA 0.9 runs: Snakemake 7.32.4, with jsonschema 3.2 validating the config."""
    snakemake = reana_client / "bin" / "snakemake"
    args = [str(snakemake), "-n", "--cores", "1", "-s", "Snakefile"]
    if configfile:
        args += ["--configfile", configfile]
    done = subprocess.run(args, cwd=workspace, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "list_stored_plots" in output and "This was a dry-run" in output, output[-4000:]


# Run in reana-client's venv: the steps reana-commons reads of the workflow (Snakemake 7.32), and its
# own check of their backends against an instance's list. `reana-client validate` checks the names
# only with --server-capabilities, against a live server's list; this is the same check offline.
_STEP_BACKENDS = """
import json, sys
from reana_commons.errors import REANAValidationError
from reana_commons.snakemake import snakemake_load
from reana_commons.validation.compute_backends import build_compute_backends_validator

steps = snakemake_load("Snakefile", input=sys.argv[1], workdir=".")["steps"]
spec = {"workflow": {"type": "snakemake", "specification": {"steps": steps}}}

def accepted(enabled):
    try:
        build_compute_backends_validator(spec, enabled).validate()
        return True
    except REANAValidationError:
        return False

print(json.dumps({"backends": sorted({str(step["compute_backend"]) for step in steps}),
                  "steps": len(steps), "accepted_alone": accepted([sys.argv[2]]),
                  "accepted_without": accepted([name for name in sys.argv[3:] if name != sys.argv[2]])}))
"""


@pytest.mark.parametrize("backend", list(REANA_BACKENDS))
def test_every_step_names_the_chosen_backend_which_an_instance_must_enable(reana_client, workspace, backend):
    done = subprocess.run(
        [str(reana_client / "bin" / "python"), "-c", _STEP_BACKENDS, f"config/reana-{backend}.yaml", backend, *REANA_BACKENDS],
        cwd=workspace, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["steps"] >= 20 and found["backends"] == [backend], found
    assert found["accepted_alone"] and not found["accepted_without"], found


class _JobInput:
    """What a resource function of the workflow reads of a job's input."""

    def __init__(self, size_mb: float):
        self.size_mb = size_mb


# The wildcards of a job that has some: project_embeddings' limits are those of its method.
_WILDCARDS = SimpleNamespace(method="umap")


def _declared(resource, input_mb: float):
    return resource.evaluate(_WILDCARDS, input=_JobInput(input_mb)).value


def test_every_rule_asks_reana_for_the_memory_it_declares():
    limits = {}
    for rule in parsed_rules():
        if "mem_mb" in rule.resources:
            limit = rule.resources.get("kubernetes_memory_limit")
            for input_mb in (1, 500):
                limits[rule.name, input_mb] = (
                    _declared(rule.resources["mem_mb"], input_mb),
                    _declared(limit, input_mb) if limit else None,
                )
    assert len(limits) >= 40, limits
    wrong = {name: pair for name, pair in limits.items() if pair[1] != f"{pair[0]}Mi"}
    assert not wrong, f"mem_mb and kubernetes_memory_limit disagree (use **rule_resources(RULE) or **job_resources(COST) in resources): {wrong}"


def test_jobs_on_a_large_table_ask_for_more_memory_and_time():
    """A million-row table must not meet limits sized for the shipped 5,000 rows (issue 14)."""
    rules = {rule.name: rule for rule in parsed_rules()}
    for name in ("prepare_features", "compute_neighbour_graph", "project_embeddings", "plot_projections"):
        resources = rules[name].resources
        for resource in ("mem_mb", "runtime"):
            small, large = (_declared(resources[resource], input_mb) for input_mb in (1, 100))
            assert large > small, (name, resource, small, large)




def test_tap_fetches_ask_for_memory_by_maxrec():
    """maxrec bounds the rows a fetch holds in memory: a million-row chunk asks for more than a 5,000-row one."""

    def fetch_memory(maxrec):
        config = {"source": {"kind": "tap", "tap": {"url": "http://127.0.0.1:8765/tap", "maxrec": maxrec,
                                                    "query": "SELECT * FROM t WHERE {chunk_condition}",
                                                    "chunks": {"column": "random_index", "edges": [0, 10]}}}}
        rules = {rule.name: rule for rule in parsed_rules(config=config)}
        return [_declared(rules[name].resources["mem_mb"], 1) for name in ("fetch_tap_table", "fetch_tap_chunk")]

    small, large = fetch_memory(5_000), fetch_memory(1_000_000)
    assert small == [508, 508] and large == [2000, 2000], (small, large)

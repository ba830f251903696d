"""The run's crate against the RO-Crate community's validator (CRS4's roc-validator), offline: the
RO-Crate 1.1 JSON-LD context it would fetch comes from ro-crate-py's package (CC0), put in the validator's
HTTP cache. Every profile the crate claims, at REQUIRED and RECOMMENDED; the two checks skipped are the
validator's, documented below."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from dimred_flow.crate_package import described_files
from workflow_runner import REPO, run_snakemake

pytestmark = pytest.mark.workflow

CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
# workflow-run-crate-0.5 inherits process-run-crate-0.5, workflow-ro-crate-1.0 and ro-crate-1.1: one run
# checks all four.
PROFILE = "workflow-run-crate-0.5"
VALIDATOR_BUGS = {
    # sh:in lists the two statuses as string literals, while the spec (and schema.org) give them as IRIs,
    # {"@id": "http://schema.org/CompletedActionStatus"}, which the crate keeps: no IRI can pass.
    # rocrate_validator/profiles/process-run-crate/should/1_create_action.ttl (roc-validator 0.13.0).
    "process-run-crate-0.5_8.7",
    # Asks every SoftwareApplication for an absolute id, the instrument included; in a Workflow Run Crate
    # the instrument is the main workflow, which workflow-ro-crate-1.0 requires to be a file in the crate
    # (relative id, as the Workflow Run Crate's own examples): the two profiles cannot both hold.
    # rocrate_validator/profiles/process-run-crate/should/0_software-application.ttl.
    "process-run-crate-0.5_5.1",
}
CREATOR = {
    "name": "Ada Astronomer",
    "orcid": "https://orcid.org/0000-0002-1825-0097",
    "affiliation": "Leibniz-Institut für Astrophysik Potsdam (AIP)",
    "affiliation_url": "https://ror.org/03mrbr458",
}


@pytest.fixture(scope="session")
def validator_cache(tmp_path_factory) -> Path:
    """A requests-cache database holding the RO-Crate 1.1 context, as `rocrate-validator cache warm` leaves it."""
    import requests
    import urllib3
    from requests_cache import CachedSession

    context = resources.files("rocrate").joinpath("data/ro-crate.jsonld").read_bytes()
    assert json.loads(context)["@id"] == CONTEXT_URL
    cache = tmp_path_factory.mktemp("roc-validator") / "http_cache"
    response = requests.Response()
    response.status_code, response.url, response._content = 200, CONTEXT_URL, context
    response.headers["Content-Type"] = "application/ld+json"
    response.request = requests.Request("GET", CONTEXT_URL).prepare()
    response.raw = urllib3.HTTPResponse(
        body=io.BytesIO(context), headers=dict(response.headers), status=200, preload_content=False,
        request_url=CONTEXT_URL,
    )
    CachedSession(cache_name=str(cache), backend="sqlite", expire_after=-1).cache.save_response(response)
    return cache


def validator_command(crate: Path, cache: Path, *output: str) -> list[str]:
    return [
        str(Path(sys.executable).with_name("rocrate-validator")), "-y", "validate", "--offline",
        "--cache-path", str(cache), "-p", PROFILE, "-l", "recommended", *output,
        *[argument for check in sorted(VALIDATOR_BUGS) for argument in ("-s", check)], str(crate),
    ]


def validate(crate: Path, cache: Path, tmp_path: Path) -> dict:
    """The validator's JSON report on a crate folder."""
    report = tmp_path / f"{crate.name}.validation.json"
    done = subprocess.run(
        validator_command(crate, cache, "-f", "json", "-o", str(report)),
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


def failures(report: dict) -> list[str]:
    return [f"{issue['check']['identifier']}: {issue['message']} ({issue.get('violatingEntity')})"
            for issue in report["issues"]]


@pytest.fixture(scope="module")
def crate_run(reference_run, tmp_path_factory):
    """The reference run's crate, written again with a creator (result-neutral: no projection reruns)."""
    workdir = tmp_path_factory.mktemp("crate") / "run"
    shutil.copytree(reference_run.workdir, workdir, symlinks=True)
    run_snakemake(workdir, "--forcerun", "write_run_crate", config={"creator": CREATOR}, cores=1).assert_ok()
    return workdir


def test_the_run_crate_passes_every_profile_it_claims(crate_run, validator_cache, tmp_path):
    report = validate(crate_run / "results", validator_cache, tmp_path)
    assert set(report["statistics"]["profiles"]) == {
        "ro-crate-1.1", "process-run-crate-0.5", "workflow-ro-crate-1.0", "workflow-run-crate-0.5"
    }
    assert report["passed"] and not failures(report), failures(report)
    crate = json.loads((crate_run / "results" / "ro-crate-metadata.json").read_text())
    graph = {entity["@id"]: entity for entity in crate["@graph"]}
    run = graph["#run"]
    assert graph[run["agent"]["@id"]]["name"] == CREATOR["name"] == graph[graph["./"]["author"]["@id"]]["name"]
    assert graph[graph["./"]["publisher"]["@id"]]["url"] == CREATOR["affiliation_url"]


def test_no_crate_file_holds_a_path_of_the_machine(crate_run):
    results = crate_run / "results"
    crate_text = (results / "ro-crate-metadata.json").read_text()
    texts = {"ro-crate-metadata.json": crate_text}
    for name in described_files(json.loads(crate_text)):
        if Path(name).suffix in (".json", ".md", ".yaml", ".smk") or Path(name).name == "Snakefile":
            texts[name] = (results / name).read_text(errors="replace")
    machine = [str(crate_run), str(crate_run.resolve()), str(REPO), str(Path.home()), "/tmp/"]
    leaks = {name: [path for path in machine if path in text] for name, text in texts.items()}
    assert not {name: found for name, found in leaks.items() if found}
    assert {"workflow/Snakefile", "workflow/config.yaml", "README.md"} <= set(texts)


def test_the_packed_zip_is_a_valid_crate_with_every_file(crate_run, validator_cache, tmp_path):
    packed = tmp_path / "dimred-flow-run.zip"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "pack_run_crate.py"), "--crate",
         str(crate_run / "results" / "ro-crate-metadata.json"), "--out", str(packed)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    names = set(zipfile.ZipFile(packed).namelist())
    assert {"ro-crate-metadata.json", "README.md", "workflow/Snakefile", "merged_plots.pdf"} <= names
    # The text report: 0.13.0's JSON report of a zip fails to serialise its URI (a validator bug).
    done = subprocess.run(
        validator_command(packed, validator_cache, "--no-paging"), capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert done.returncode == 0 and f"RO-Crate is a valid {PROFILE}" in done.stdout, done.stdout[-4000:]

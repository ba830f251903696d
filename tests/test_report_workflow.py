"""Provenance crate, seed-stability metrics, Snakemake report and notebook, from real workflow runs.

Three small runs: A and B from the same config in separate working directories (each with its own
local storage), and C, which shares A's storage and so only downloads plots and metrics, as
combine_plots does on another machine.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from pypdf import PdfReader

from dimred_flow.checksums import file_sha256
from dimred_flow.config import iteration_seeds, validate_config
from workflow_runner import REPO, run_snakemake

pytestmark = pytest.mark.workflow

CONFIG = {"n_test": 2, "user_folder": "crate_user"}
# Fake credentials in the environment: they must not leak into anything the workflow writes.
SECRETS = {"access_key": "leak-check-key-4Hq", "secret_key": "leak-check-secret-Z81p"}
TIME_KEYS = {"startTime", "endTime", "datePublished", "retrievedAt", "read_at", "fetched_at"}
WFRUN_PROFILE = "https://w3id.org/ro/wfrun/workflow/0.5"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    a, b, c = base / "a", base / "b", base / "c"
    for workdir in (a, b):
        run_snakemake(workdir, config=CONFIG, env=SECRETS).assert_ok()
    combine = {**CONFIG, "storage": {"url": str(a / "storage")}}
    run_snakemake(c, "combine_plots", config=combine, env=SECRETS).assert_ok()
    return a, b, c


def crate_of(workdir: Path) -> dict:
    return json.loads((workdir / "results" / "ro-crate-metadata.json").read_text())


def entities(crate: dict) -> dict[str, dict]:
    return {entity["@id"]: entity for entity in crate["@graph"]}


def ids(value) -> list[str]:
    return [item["@id"] for item in (value if isinstance(value, list) else [value])]


def referenced_ids(value) -> set[str]:
    """Every {"@id": ...} reference in an entity."""
    found = set()
    if isinstance(value, dict):
        if set(value) == {"@id"}:
            found.add(value["@id"])
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def without_times(value):
    if isinstance(value, dict):
        return {
            key: without_times(item)
            for key, item in value.items()
            if key not in TIME_KEYS and not (key == "value" and value.get("unitCode") == "SEC")
        }
    if isinstance(value, list):
        return [without_times(item) for item in value]
    return value


def test_run_crate_follows_the_workflow_run_crate_profile(runs):
    workdir = runs[0]
    crate = crate_of(workdir)
    graph = entities(crate)
    assert "https://w3id.org/ro/crate/1.1/context" in crate["@context"]
    assert len(graph) == len(crate["@graph"]), "duplicate @id"
    assert graph["ro-crate-metadata.json"]["about"] == {"@id": "./"}
    root = graph["./"]
    assert root["@type"] == "Dataset" and WFRUN_PROFILE in ids(root["conformsTo"])
    workflow = graph[root["mainEntity"]["@id"]]
    assert {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= set(workflow["@type"])
    assert graph[workflow["programmingLanguage"]["@id"]]["name"] == "Snakemake"
    actions = [e for e in crate["@graph"] if e["@type"] == "CreateAction"]
    assert len(actions) == 1
    action = actions[0]
    assert action["instrument"] == {"@id": workflow["@id"]} and root["mentions"] == {"@id": action["@id"]}
    # No creator configured: the crate says so rather than naming an agent or author.
    assert "agent" not in action and "author" not in root and "no creator was configured" in action["description"]
    dangling = set().union(*(referenced_ids(e) for e in crate["@graph"])) - set(graph)
    assert not {ref for ref in dangling if not ref.startswith("http")}, dangling

    # Every result is a File with the checksum and size of the file on disk, and part of the crate.
    results = ids(action["result"])
    assert set(results) <= set(ids(root["hasPart"]))
    names = {Path(r).name for r in results}
    expected = {"merged_plots.pdf", "stability.json", "file_table.parquet"}
    assert expected | {"projections_comparison_1.png", "projections_comparison_2.png"} <= names
    assert [r for r in results if r.startswith("data/features/") and r.endswith(".npz")]
    for result in results:
        entity, path = graph[result], workdir / "results" / result
        assert entity["@type"] == "File" and re.fullmatch(r"[0-9a-f]{64}", entity["sha256"])
        assert entity["sha256"] == file_sha256(path) and int(entity["contentSize"]) == path.stat().st_size

    # Inputs: the resolved config, each iteration's seed and the data source.
    inputs = {i: graph[i] for i in ids(action["object"])}
    config = json.loads(inputs["#param-config"]["value"])
    assert config == validate_config(json.loads(json.dumps(config)))
    seeds = {int(e["name"].rsplit(" ", 1)[1]): e["value"] for i, e in inputs.items() if i.startswith("#param-seed-")}
    assert seeds == iteration_seeds(config)
    source = inputs["#data-source"]
    snapshot = REPO / "data" / "gaia_dr2_open_clusters.csv"
    assert source["sha256"] == file_sha256(snapshot) and source["rowCount"] > 1000

    software = {e["name"]: e["softwareVersion"] for e in crate["@graph"] if "softwareVersion" in e}
    for name in ("Python", "snakemake", "umap-learn", "scikit-learn", "openTSNE", "pyvo", "astropy", "numpy",
                 "matplotlib", "pypdf", "s3fs"):
        assert software.get(name), name
    assert graph["#executor"]["executor"] == "local"
    assert re.fullmatch(r"[0-9a-f]{40}", workflow["version"])  # the repository is a git checkout
    timed_rules = {graph[i]["propertyID"] for i in ids(action["ruleWallTimes"])}
    assert {"prepare_features", "project_embeddings", "merge_pdf", "compute_stability_metrics"} <= timed_rules


def test_each_run_uploads_its_crate_beside_the_plots(runs):
    a, b, c = runs
    # A's storage holds C's crate: C, with the same settings, ran last and stored it in the same run folder.
    for workdir, storage in ((b, b), (c, a)):
        [stored] = (storage / "storage" / CONFIG["user_folder"] / "runs").glob("*/ro-crate-metadata.json")
        assert stored.read_bytes() == (workdir / "results" / "ro-crate-metadata.json").read_bytes()


def test_no_secret_reaches_any_output(runs):
    for workdir in runs:
        for path in [*(workdir / "results").rglob("*"), *(workdir / "storage").rglob("*")]:
            if path.is_file() and path.suffix in (".json", ".ipynb", ".html", ".tsv"):
                text = path.read_text(errors="replace")
                assert not any(secret in text for secret in SECRETS.values()), path


def test_same_config_gives_bit_identical_embeddings_and_the_same_crate(runs):
    a, b, _ = runs
    embeddings = sorted((a / "results" / "embeddings").rglob("iteration_*.npy"))
    assert len(embeddings) == 6  # 3 methods x 2 iterations
    for path in embeddings:
        twin = b / path.relative_to(a)
        assert path.read_bytes() == twin.read_bytes(), path.relative_to(a)
    graph_a, graph_b = entities(crate_of(a)), entities(crate_of(b))
    assert graph_a.keys() == graph_b.keys()
    for key, entity_a in graph_a.items():
        entity, twin = entity_a, graph_b[key]
        if entity.get("encodingFormat") == "application/json" and entity["@type"] == "File":
            # JSON results record when the table was read: equal apart from that time.
            contents = [json.loads((run / "results" / key).read_text()) for run in (a, b)]
            assert without_times(contents[0]) == without_times(contents[1]), key
            entity, twin = (without_times({k: v for k, v in e.items() if k not in ("sha256", "contentSize")})
                            for e in (entity, twin))
        assert without_times(entity) == without_times(twin), key


def test_stability_metrics_and_their_pdf_page(runs):
    workdir = runs[0]
    [metrics_file] = (workdir / "results" / "metrics").glob("*.json")
    metrics = json.loads(metrics_file.read_text())
    pca, umap, tsne = (metrics["methods"][m] for m in ("pca", "umap", "tsne"))
    assert pca["summary"]["procrustes_disparity"]["max"] == 0.0  # seed-invariant
    assert umap["summary"]["procrustes_disparity"]["mean"] > 0 and tsne["summary"]["procrustes_disparity"]["mean"] > 0
    for method in (pca, umap, tsne):
        assert 0.8 < method["summary"]["trustworthiness"]["mean"] <= 1.0
        assert 0.2 < method["summary"]["knn_preservation"]["mean"] <= 1.0
    reader = PdfReader(workdir / "results" / "merged_plots.pdf")
    assert len(reader.pages) == CONFIG["n_test"] + 1
    assert [item.title for item in reader.outline][-1] == "Seed stability"
    assert "Seed stability" in reader.pages[-1].extract_text()


def test_a_run_whose_plots_and_metrics_are_stored_computes_nothing(runs):
    a, _, c = runs
    assert not (c / "results" / "embeddings").exists() and not (c / "results" / "data").exists()
    staged = c / "results" / "staging" / CONFIG["user_folder"] / "downloaded" / "stability.json"
    [computed] = (a / "results" / "metrics").glob("*.json")
    assert staged.read_bytes() == computed.read_bytes()
    assert [item.title for item in PdfReader(c / "results" / "merged_plots.pdf").outline][-1] == "Seed stability"
    crate = crate_of(c)
    files = [e["@id"] for e in crate["@graph"] if e["@type"] == "File"]
    assert not [f for f in files if f.startswith("data/")] and "merged_plots.pdf" in {Path(f).name for f in files}
    # The data source is still cited, from the metrics computed where the data was.
    assert entities(crate)["#data-source"]["sha256"] == entities(crate_of(a))["#data-source"]["sha256"]


def test_snakemake_report_shows_plots_stability_and_provenance(runs):
    workdir = runs[0]
    run_snakemake(workdir, "--report", "report.html", config=CONFIG).assert_ok()
    html = (workdir / "report.html").read_text()
    for name in ("projections_comparison_1.png", "projections_comparison_2.png", "stability.html",
                 "ro-crate-metadata.json", "Seed stability", "Provenance"):
        assert name in html, name


def test_notebook_runs_headless_without_errors(runs):
    workdir = runs[0]
    path = workdir / "results" / CONFIG["user_folder"] / "explore.ipynb"
    notebook = nbformat.read(path, as_version=4)
    # The kernel from this interpreter (ipykernel is installed), started in the notebook's folder like Jupyter.
    client = NotebookClient(copy.deepcopy(notebook), timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    executed = client.execute()
    outputs = [output for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "400 rows" in text or "rows x" in text
    assert "not computed on this machine" not in text  # the embeddings themselves were plotted
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2

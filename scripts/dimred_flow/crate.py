"""The run's provenance as a Workflow Run RO-Crate (https://w3id.org/ro/wfrun/workflow/0.5).

One CreateAction (instrument: the workflow, copied into the crate with its rule files, schema and the
resolved config) links the inputs (config, per-iteration seeds, data source) to the results (table,
features, plots, metrics, PDF, each File with sha256 and size, and the embeddings the plots show).
The crate holds no path of the machine that ran it. Terms schema.org 1.1-era lacks come from a small
local vocabulary; `sha256` is schema.org's (as later RO-Crate contexts define it). CRS4's roc-validator
checks it against every profile it claims (tests/test_crate_validation.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import yaml

from dimred_flow import __version__
from dimred_flow.checksums import file_sha256

RO_CRATE = "https://w3id.org/ro/crate/1.1"
COMPUTATIONAL_WORKFLOW = "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"
FORMAL_PARAMETER = "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"
# The workflow's inputs, which each run's values are examples of.
PARAMETERS = (
    {"@id": "#input-config", "name": "config", "additionalType": "PropertyValue",
     "description": "the configuration, as workflow/schemas/config.schema.yaml describes it (resolved: defaults filled in)"},
    {"@id": "#input-seed", "name": "seed", "additionalType": "Integer",
     "description": "one iteration's seed, derived from the config's seed and the iteration's number"},
)
# The workflow's files copied into the crate, under WORKFLOW_FOLDER, as (repository path, format).
WORKFLOW_FOLDER = "workflow"
WORKFLOW_FILES = (
    ("Snakefile", "text/x-snakemake"),
    ("workflow/rules/*.smk", "text/x-snakemake"),
    ("workflow/schemas/config.schema.yaml", "application/yaml"),
)
PROFILES = ("https://w3id.org/ro/wfrun/process/0.5", "https://w3id.org/ro/wfrun/workflow/0.5")
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
SNAKEMAKE_LANGUAGE = "https://w3id.org/workflowhub/workflow-ro-crate#snakemake"
REPOSITORY = "https://github.com/dimred-flow/dimred-flow"
VOCABULARY = f"{REPOSITORY}/blob/main/workflow/report/provenance.rst#"
LOCAL_TERMS = (
    "adqlQuery", "rowCount", "retrievedAt", "executor", "wallTimeSeconds", "ruleWallTimes", "gitDirty",
    "numericEnvironment",
)
# Distribution name -> the name conda environment files use for it.
PACKAGES = {
    "umap-learn": "umap-learn",
    "scikit-learn": "scikit-learn",
    "openTSNE": "opentsne",
    "pacmap": "pacmap",
    "trimap": "trimap",
    "pyvo": "pyvo",
    "astropy": "astropy",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "pypdf": "pypdf",
    "s3fs": "s3fs",
    "webdav4": "webdav4",
}
SECRET_KEY = re.compile(r"(secret|password|token|access_key|credential)", re.IGNORECASE)
FORMATS = {
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".npz": "application/octet-stream",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".csv": "text/csv",
    ".fits": "application/fits",
    ".vot": "application/x-votable+xml",
    ".html": "text/html",
}


def without_secrets(value):
    """The config never holds credentials; this keeps a mistaken one out of the crate all the same."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if not SECRET_KEY.search(str(k))}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def declared_pins(envs_dir: Path) -> dict[str, str]:
    """'name=version' (conda) and 'name==version' (pip section) lines of envs/*.yaml: what a conda job ran
    when this job's environment lacks a package."""
    pins = {}
    for env_file in sorted(Path(envs_dir).glob("*.yaml")):
        for match in re.finditer(r"^\s*-\s*([A-Za-z0-9_.-]+)==?([^\s=#]+)\s*$", env_file.read_text(), re.MULTILINE):
            pins.setdefault(match.group(1).lower(), match.group(2))
    return pins


def software_versions(snakemake_version: str, envs_dir: Path) -> list[dict]:
    pins = declared_pins(envs_dir)
    versions = [
        {"name": "Python", "version": platform.python_version(), "source": "installed"},
        {"name": "snakemake", "version": snakemake_version, "source": "installed"},
    ]
    for name, conda_name in PACKAGES.items():
        try:
            versions.append({"name": name, "version": metadata.version(name), "source": "installed"})
        except metadata.PackageNotFoundError:
            pinned = pins.get(conda_name)
            versions.append({"name": name, "version": pinned, "source": "envs pin" if pinned else "absent"})
    return versions


def git_state(repo: Path) -> dict:
    """Commit of the workflow repository and whether it had uncommitted changes; empty outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": bool(status.strip())}


def rule_wall_times(benchmark_dir: Path) -> list[dict]:
    """Wall time of each job from its benchmark TSV (the last repeat's 's' column)."""
    times = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows:
            continue
        relative = path.relative_to(benchmark_dir).with_suffix("")
        times.append({"rule": relative.parts[0], "job": relative.as_posix(), "seconds": float(rows[-1]["s"])})
    return times


def file_entity(path: Path, crate_root: Path, description: str) -> dict:
    path = Path(path)
    return {
        "@id": path.resolve().relative_to(crate_root.resolve()).as_posix(),
        "@type": "File",
        "name": path.name,
        "description": description,
        "encodingFormat": FORMATS.get(path.suffix, "application/octet-stream"),
        "contentSize": str(path.stat().st_size),
        "sha256": file_sha256(path),
    }


def source_entity(source: dict) -> dict:
    """The data source from the fetch provenance: a TAP query, or the table file and its checksum. A local
    file is named, not located: its path is the machine's, and the checksum identifies it anywhere."""
    entity = {"@id": "#data-source", "@type": "CreativeWork"}
    if source.get("kind") == "file" or "service_url" not in source:
        path = str(source["path"])
        entity.update(
            name=f"Table snapshot {Path(path).name}",
            sha256=source.get("sha256"),
            contentSize=str(source.get("size")),
            retrievedAt=source.get("read_at"),
        )
        if "://" in path:
            entity["url"] = path
    else:
        entity.update(
            name=f"TAP query result from {source['service_url']}",
            url=source["service_url"],
            adqlQuery=source["query"],
            retrievedAt=source.get("fetched_at"),
        )
    entity["rowCount"] = source.get("row_count")
    return entity


def without_machine_paths(value):
    """A config value with every absolute local path replaced by its file name (a crate is published)."""
    if isinstance(value, dict):
        return {k: without_machine_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_machine_paths(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and "://" not in value:
        return Path(value).name
    return value


def software_entity(item: dict) -> dict:
    """A SoftwareApplication named by its release page (process-run-crate 0.5 asks for absolute ids)."""
    if item["name"] == "Python":
        url = f"https://www.python.org/downloads/release/python-{item['version'].replace('.', '')}/"
    else:
        url = f"https://pypi.org/project/{item['name']}/" + (f"{item['version']}/" if item["version"] else "")
    return {
        "@id": url,
        "@type": "SoftwareApplication",
        "name": item["name"],
        "url": url,
        "softwareVersion": item["version"] or "not installed",
        "description": f"version source: {item['source']}",
    }


def copy_workflow(repo: Path, crate_root: Path, config: dict) -> list[dict]:
    """Copy the workflow's Snakefile, rule files and schema, and write the resolved config, into the crate;
    their File entities, the Snakefile first."""
    folder = Path(crate_root) / WORKFLOW_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    copied = []
    for pattern, encoding in WORKFLOW_FILES:
        for source in sorted(Path(repo).glob(pattern)):
            target = folder / source.relative_to(repo)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append((target, encoding, f"the workflow's {source.relative_to(repo).as_posix()}"))
    resolved = folder / "config.yaml"
    resolved.write_text(yaml.safe_dump(config, sort_keys=True))
    copied.append((resolved, "application/yaml", "the resolved configuration the run used"))
    return [
        {**file_entity(path, crate_root, description), "encodingFormat": encoding}
        for path, encoding, description in copied
    ]


def iso_offset(time: str) -> str:
    """'...Z' as '...+00:00': the same ISO 8601 instant in the form process-run-crate 0.5's checks accept."""
    return time.removesuffix("Z") + "+00:00" if time.endswith("Z") else time


def creator_entities(creator: dict | None) -> list[dict]:
    """The Person who ran the workflow (config key creator), and their Organization; none when unset."""
    if not creator:
        return []
    person = {"@id": creator.get("orcid") or "#creator", "@type": "Person", "name": creator["name"]}
    if not creator.get("affiliation"):
        return [person]
    organization = {"@id": "#affiliation", "@type": "Organization", "name": creator["affiliation"]}
    if creator.get("affiliation_url"):
        organization.update({"@id": creator["affiliation_url"], "url": creator["affiliation_url"]})
    person["affiliation"] = {"@id": organization["@id"]}
    return [person, organization]


def readme_text(config: dict, seeds: dict[int, int], creator: dict | None) -> str:
    who = f"by {creator['name']}" if creator else "(no creator configured: set `creator` in the config)"
    return (
        "# dimred-flow run\n\n"
        f"Projections ({', '.join(config['projections'])}) of {len(seeds)} seeds "
        f"({', '.join(str(seed) for _, seed in sorted(seeds.items()))}), {who}.\n\n"
        "- `merged_plots.pdf`: a page per seed and the seed-stability table\n"
        "- `workflow/`: the Snakefile, rule files, config schema and resolved config that made them\n"
        "- `ro-crate-metadata.json`: what was run, on what, with which software, and every file's sha256\n\n"
        "Check it: `python scripts/verify_run.py --crate <this folder>` in a dimred-flow checkout.\n"
    )


def embedding_entities(plot_records: list[dict]) -> list[dict]:
    """Each embedding the plots show (fingerprint, sha256) and the numeric environments that made them,
    from the plots' records: what verify_run.py checks a recomputation against."""
    entities, environments = [], {}
    for record in sorted(plot_records, key=lambda record: record["iteration"]):
        for name, made in record.get("embeddings", {}).items():
            entity = {
                "@id": f"#embedding-{name}-{record['iteration']}",
                "@type": "CreativeWork",
                "name": f"{name} embedding of iteration {record['iteration']} (seed {record['seed']})",
                "encodingFormat": "application/x-npy",
                "identifier": made["fingerprint"],
                "sha256": made["sha256"],
            }
            if made.get("environment"):
                text = json.dumps(made["environment"], sort_keys=True)
                environment_id = f"#numeric-environment-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
                environments[environment_id] = {
                    "@id": environment_id,
                    "@type": "PropertyValue",
                    "name": "numeric environment of the projection job: CPU, BLAS kernel and threads, library versions",
                    "encodingFormat": "application/json",
                    "value": text,
                }
                entity["numericEnvironment"] = {"@id": environment_id}
            entities.append(entity)
    return [*entities, *environments.values()]


def build_run_crate(
    *,
    crate_root: Path,
    config: dict,
    seeds: dict[int, int],
    source: dict,
    outputs: list[tuple[Path, str]],
    snakemake_version: str,
    envs_dir: Path,
    repo: Path,
    executor: str,
    benchmark_dir: Path,
    start_time: str | None,
    end_time: str,
    plot_records: dict[Path, dict] | None = None,
) -> dict:
    """`outputs`: (local file, description), every file under `crate_root`; the inputs are the
    config, the seeds and the data source (cited by checksum); `plot_records`: each plot's record (what
    made it), by the plot's path. Writes the workflow's files and a README into the crate; returns the
    metadata."""
    plot_records = {Path(path): record for path, record in (plot_records or {}).items()}
    config = without_machine_paths(without_secrets(config))
    creator = config.get("creator")
    git = git_state(repo)
    workflow_files = copy_workflow(repo, crate_root, config)
    workflow = {
        **workflow_files[0],
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
        "name": "dimred-flow",
        "conformsTo": {"@id": COMPUTATIONAL_WORKFLOW},
        "programmingLanguage": {"@id": SNAKEMAKE_LANGUAGE},
        "softwareVersion": __version__,
        "hasPart": [{"@id": entity["@id"]} for entity in workflow_files[1:]],
        "input": [{"@id": parameter["@id"]} for parameter in PARAMETERS],
    }
    parameters = [
        {**parameter, "@type": "FormalParameter", "conformsTo": {"@id": FORMAL_PARAMETER}} for parameter in PARAMETERS
    ]
    if git:
        workflow.update(version=git["commit"], gitDirty=git["dirty"])
    # The same file in the repository, at the commit that ran (the release tag outside a git checkout).
    workflow["url"] = f"{REPOSITORY}/blob/{git['commit'] if git else 'v' + __version__}/Snakefile"
    readme_path = Path(crate_root) / "README.md"
    readme_path.write_text(readme_text(config, seeds, creator))
    readme = {**file_entity(readme_path, crate_root, "what this crate holds"), "about": {"@id": "./"},
              "encodingFormat": "text/markdown"}
    config_value = {
        "@id": "#param-config",
        "@type": "PropertyValue",
        "name": "resolved configuration",
        "encodingFormat": "application/json",
        "value": json.dumps(config, sort_keys=True),
        "exampleOfWork": {"@id": "#input-config"},
    }
    seed_values = [
        {"@id": f"#param-seed-{i}", "@type": "PropertyValue", "name": f"seed of iteration {i}", "value": seed,
         "exampleOfWork": {"@id": "#input-seed"}}
        for i, seed in sorted(seeds.items())
    ]
    software = [software_entity(item) for item in software_versions(snakemake_version, envs_dir)]
    timings = [
        {"@id": f"#walltime-{item['job']}", "@type": "PropertyValue", "name": item["job"],
         "propertyID": item["rule"], "value": item["seconds"], "unitCode": "SEC"}
        for item in rule_wall_times(benchmark_dir)
    ]
    workflow["softwareRequirements"] = [{"@id": item["@id"]} for item in software]
    embeddings = embedding_entities(list(plot_records.values()))
    output_files = []
    for path, text in outputs:
        entity = file_entity(path, crate_root, text)
        if Path(path) in plot_records:
            # A plot is based on the embeddings it shows: their fingerprints and sha256, for verify_run.py.
            iteration = plot_records[Path(path)]["iteration"]
            entity["isBasedOn"] = [
                {"@id": e["@id"]}
                for e in embeddings
                if "identifier" in e and e["@id"].rsplit("-", 1)[1] == str(iteration)
            ]
        output_files.append(entity)
    people = creator_entities(creator)
    run = {
        "@id": "#run",
        "@type": "CreateAction",
        "name": "dimred-flow run",
        "description": (
            f"{', '.join(config['projections'])} projections of {len(seeds)} seeds, their plots, seed-stability "
            f"metrics and merged PDF, run by Snakemake {snakemake_version} ({executor} executor)"
            + ("" if creator else "; no creator was configured (config key creator), so no agent is named")
        ),
        "instrument": {"@id": workflow["@id"]},
        "object": [{"@id": e["@id"]} for e in [config_value, *seed_values, {"@id": "#data-source"}]],
        "result": [{"@id": e["@id"]} for e in output_files],
        "endTime": iso_offset(end_time),
        "actionStatus": {"@id": "http://schema.org/CompletedActionStatus"},
        "executor": {"@id": "#executor"},
        "ruleWallTimes": [{"@id": t["@id"]} for t in timings],
    }
    if start_time:
        run["startTime"] = iso_offset(start_time)
    if people:
        run["agent"] = {"@id": people[0]["@id"]}
    root = {
        "@id": "./",
        "@type": "Dataset",
        "name": "dimred-flow results",
        "description": "Projections of every chosen method per seed, seed-stability metrics and the merged PDF.",
        "datePublished": iso_offset(end_time),
        "license": {"@id": "https://spdx.org/licenses/MIT"},
        "conformsTo": [{"@id": p} for p in (*PROFILES, WORKFLOW_RO_CRATE)],
        "mainEntity": {"@id": workflow["@id"]},
        "mentions": {"@id": "#run"},
        "hasPart": [{"@id": e["@id"]} for e in [workflow, *workflow_files[1:], readme, *output_files]],
    }
    if people:
        root["author"] = {"@id": people[0]["@id"]}
        if len(people) > 1:
            root["publisher"] = {"@id": people[1]["@id"]}
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"},
         "conformsTo": [{"@id": RO_CRATE}, {"@id": WORKFLOW_RO_CRATE}]},
        root,
        workflow,
        *workflow_files[1:],
        readme,
        {"@id": SNAKEMAKE_LANGUAGE, "@type": "ComputerLanguage", "name": "Snakemake",
         "identifier": {"@id": "https://snakemake.readthedocs.io"}, "url": {"@id": "https://snakemake.github.io"},
         "version": snakemake_version},
        {"@id": "#executor", "@type": "PropertyValue", "name": "Snakemake executor", "value": executor,
         "executor": executor},
        {"@id": "https://spdx.org/licenses/MIT", "@type": "CreativeWork", "name": "MIT License"},
        {"@id": COMPUTATIONAL_WORKFLOW, "@type": "CreativeWork", "name": "ComputationalWorkflow",
         "version": "1.0-RELEASE"},
        {"@id": FORMAL_PARAMETER, "@type": "CreativeWork", "name": "FormalParameter", "version": "1.0-RELEASE"},
        *parameters,
        *[{"@id": p, "@type": "CreativeWork", "name": p.rsplit("/", 2)[-2], "version": p.rsplit("/", 1)[-1]}
          for p in (*PROFILES, WORKFLOW_RO_CRATE)],
        *people,
        run,
        config_value,
        *seed_values,
        source_entity(source),
        *output_files,
        *embeddings,
        *software,
        *timings,
    ]
    context = {term: VOCABULARY + term for term in LOCAL_TERMS} | {"sha256": "http://schema.org/sha256"}
    return {"@context": [f"{RO_CRATE}/context", context], "@graph": graph}

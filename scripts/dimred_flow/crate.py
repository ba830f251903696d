"""The run's provenance as a Workflow Run RO-Crate (https://w3id.org/ro/wfrun/workflow/0.5).

One CreateAction (instrument: the Snakefile) links the inputs (resolved config, per-iteration seeds,
data source) to the results (table, features, plots, metrics, PDF), each File with sha256 and size.
Terms schema.org lacks (sha256 aside, which RO-Crate uses already) come from a small local vocabulary.
"""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from dimred_flow import __version__
from dimred_flow.checksums import file_sha256

RO_CRATE = "https://w3id.org/ro/crate/1.1"
PROFILES = ("https://w3id.org/ro/wfrun/process/0.5", "https://w3id.org/ro/wfrun/workflow/0.5")
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
SNAKEMAKE_LANGUAGE = "https://w3id.org/workflowhub/workflow-ro-crate#snakemake"
VOCABULARY = "https://github.com/dimred-flow/dimred-flow/blob/main/workflow/report/provenance.rst#"
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
    """The data source from the fetch provenance: a TAP query, or the snapshot file and its checksum."""
    entity = {"@id": "#data-source", "@type": "Dataset"}
    if source.get("kind") == "file" or "service_url" not in source:
        entity.update(
            name=f"Table snapshot {Path(source['path']).name}",
            url=source["path"],
            sha256=source.get("sha256"),
            contentSize=str(source.get("size")),
            retrievedAt=source.get("read_at"),
        )
    else:
        entity.update(
            name=f"TAP query result from {source['service_url']}",
            url=source["service_url"],
            adqlQuery=source["query"],
            retrievedAt=source.get("fetched_at"),
        )
    entity["rowCount"] = source.get("row_count")
    return entity


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
    end_time: str,
    plot_records: list[dict] = (),
) -> dict:
    """`outputs`: (local file, description), every file under `crate_root`; the inputs are the
    config, the seeds and the data source (a snapshot outside the crate, cited by checksum)."""
    git = git_state(repo)
    workflow = {
        "@id": "Snakefile",
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
        "name": "dimred-flow",
        "programmingLanguage": {"@id": SNAKEMAKE_LANGUAGE},
        "url": str(Path(repo).resolve() / "Snakefile"),
        "softwareVersion": __version__,
    }
    if git:
        workflow.update(version=git["commit"], gitDirty=git["dirty"])
    config_value = {
        "@id": "#param-config",
        "@type": "PropertyValue",
        "name": "resolved configuration",
        "encodingFormat": "application/json",
        "value": json.dumps(without_secrets(config), sort_keys=True),
    }
    seed_values = [
        {"@id": f"#param-seed-{i}", "@type": "PropertyValue", "name": f"seed of iteration {i}", "value": seed}
        for i, seed in sorted(seeds.items())
    ]
    software = [
        {"@id": f"#software-{item['name'].lower()}", "@type": "SoftwareApplication", "name": item["name"],
         "softwareVersion": item["version"], "description": f"version source: {item['source']}"}
        for item in software_versions(snakemake_version, envs_dir)
    ]
    timings = [
        {"@id": f"#walltime-{item['job']}", "@type": "PropertyValue", "name": item["job"],
         "propertyID": item["rule"], "value": item["seconds"], "unitCode": "SEC"}
        for item in rule_wall_times(benchmark_dir)
    ]
    workflow["softwareRequirements"] = [{"@id": item["@id"]} for item in software]
    output_files = [file_entity(path, crate_root, text) for path, text in outputs]
    embeddings = embedding_entities(list(plot_records))
    run = {
        "@id": "#run",
        "@type": "CreateAction",
        "name": "dimred-flow run",
        "instrument": {"@id": "Snakefile"},
        "agent": {"@id": "#executor"},
        "object": [{"@id": e["@id"]} for e in [config_value, *seed_values, {"@id": "#data-source"}]],
        "result": [{"@id": e["@id"]} for e in output_files + embeddings if e["@type"] != "PropertyValue"],
        "endTime": end_time,
        "actionStatus": {"@id": "http://schema.org/CompletedActionStatus"},
        "ruleWallTimes": [{"@id": t["@id"]} for t in timings],
    }
    root = {
        "@id": "./",
        "@type": "Dataset",
        "name": "dimred-flow results",
        "description": "Projections of every chosen method per seed, seed-stability metrics and the merged PDF.",
        "datePublished": end_time,
        "license": {"@id": "https://spdx.org/licenses/MIT"},
        "conformsTo": [{"@id": p} for p in (*PROFILES, WORKFLOW_RO_CRATE)],
        "mainEntity": {"@id": "Snakefile"},
        "mentions": {"@id": "#run"},
        "hasPart": [{"@id": e["@id"]} for e in [workflow, *output_files]],
    }
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"},
         "conformsTo": {"@id": RO_CRATE}},
        root,
        workflow,
        {"@id": SNAKEMAKE_LANGUAGE, "@type": "ComputerLanguage", "name": "Snakemake",
         "identifier": {"@id": "https://snakemake.readthedocs.io"}, "url": {"@id": "https://snakemake.github.io"},
         "version": snakemake_version},
        {"@id": "#executor", "@type": "SoftwareApplication", "name": f"Snakemake executor: {executor}",
         "executor": executor},
        {"@id": "https://spdx.org/licenses/MIT", "@type": "CreativeWork", "name": "MIT License"},
        *[{"@id": p, "@type": "CreativeWork", "name": p.rsplit("/", 2)[-2], "version": p.rsplit("/", 1)[-1]}
          for p in (*PROFILES, WORKFLOW_RO_CRATE)],
        run,
        config_value,
        *seed_values,
        source_entity(source),
        *output_files,
        *embeddings,
        *software,
        *timings,
    ]
    context = {term: VOCABULARY + term for term in LOCAL_TERMS}
    return {"@context": [f"{RO_CRATE}/context", context], "@graph": graph}

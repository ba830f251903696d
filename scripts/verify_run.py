#!/usr/bin/env python3
"""Check a published run: recompute it from its crate and compare every embedding it records.

    python scripts/verify_run.py --crate results/ro-crate-metadata.json
    python scripts/verify_run.py --crate s3://bucket/prefix/alice/runs/<run> --endpoint-url https://...

The crate names the configuration, the seeds (part of it) and each embedding's fingerprint and sha256.
The run is recomputed with this checkout in a scratch folder (its own local storage: nothing is uploaded),
and each embedding is reported as identical (same bytes), within the method's stated tolerance
(Procrustes disparity), or different, with the largest difference and the disparity where the run's own
file is at hand (a crate read from a local results folder). Exit code 0 when nothing is different.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from dimred_flow.cli import run, setup_logging
from dimred_flow.errors import UserError
from dimred_flow.methods import method
from dimred_flow.reproducibility import (
    DIFFERENT,
    batch_embeddings,
    batch_environment,
    environment_differences,
    read_crate,
    verify_embedding,
)
from dimred_flow.storage import WEBDAV_SCHEMES, open_storage

REPO = Path(__file__).resolve().parents[1]
CRATE_NAME = "ro-crate-metadata.json"


def load_crate(location: str, endpoint_url: str | None) -> tuple[dict, Path | None]:
    """The crate, and the results folder it describes when it is a local one."""
    if location.startswith(("s3://", *WEBDAV_SCHEMES)):
        storage = open_storage(location.removesuffix(f"/{CRATE_NAME}"), endpoint_url)
        return json.loads(storage.fs.cat_file(f"{storage.root}/{CRATE_NAME}")), None
    path = Path(location)
    path = path / CRATE_NAME if path.is_dir() else path
    if not path.is_file():
        raise UserError(f"No crate at {path}: give a run's {CRATE_NAME} (results/ after a run) or its storage folder.")
    return json.loads(path.read_text()), path.parent


def recompute(config: dict, run_folder: Path | None, workdir: Path, cores: int) -> Path:
    """The run again, in `workdir` with storage of its own; its results folder."""
    source = Path(config["source"]["path"]) if config["source"]["kind"] == "file" else None
    if source and not source.is_absolute() and run_folder and (run_folder / source).exists():
        config["source"]["path"] = str((run_folder / source).resolve())
    config["storage"] = {**config["storage"], "url": str(workdir / "storage"), "endpoint_url": None}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(workdir / "config.yaml"), "--cores", str(cores), "make_projections"],
        capture_output=True, text=True, check=False, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise UserError("The recomputation failed; its last lines:\n" + "\n".join(tail))
    return workdir / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crate", required=True, help="a crate file, its results folder, or its storage folder URL")
    parser.add_argument("--endpoint-url", default=None, help="S3 endpoint, for an s3:// crate")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="scratch folder for the recomputation (default: a temporary one)")
    args = parser.parse_args()
    log = setup_logging("verify_run")

    crate, results = load_crate(args.crate, args.endpoint_url)
    config, recorded = read_crate(crate)
    if not recorded:
        raise UserError("The crate records no embeddings (a crate written before dimred-flow recorded them).")
    run_folder = results.parent if results else None
    with tempfile.TemporaryDirectory(prefix="dimred-verify-") as scratch:
        workdir = args.workdir or Path(scratch)
        log.info("recomputing the run in %s", workdir)
        recomputed = batch_embeddings(recompute(config, run_folder, workdir, args.cores))
        kept = batch_embeddings(results) if results else {}
        verdicts = [
            (entry, verify_embedding(entry, recomputed.get(entry.fingerprint), kept.get(entry.fingerprint),
                                     method(entry.method).tolerance))
            for entry in recorded
        ]
        differences = sorted(
            {
                f"{entry.method}: {difference}"
                for entry in recorded
                if entry.fingerprint in recomputed
                for difference in environment_differences(
                    entry.environment, batch_environment(recomputed[entry.fingerprint])
                )
            }
        )
    for entry, verdict in verdicts:
        print(f"{entry.method} iteration {entry.iteration}: {verdict.status} ({verdict.detail})")
    for difference in differences:
        print(f"numeric environment differs, {difference}")
    different = sum(verdict.status == DIFFERENT for _, verdict in verdicts)
    print(f"{len(verdicts) - different} of {len(verdicts)} embeddings reproduced")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    run(main)

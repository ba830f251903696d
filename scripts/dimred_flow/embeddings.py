"""Embedding files: one .npy per iteration in a batch directory, read by the plot and report rules
without importing any projection library."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dimred_flow.atomic import replaced_atomically
from dimred_flow.checksums import file_sha256


def embedding_name(iteration: int) -> str:
    return f"iteration_{iteration}.npy"


def save_embedding(directory: Path, iteration: int, embedding: np.ndarray) -> Path:
    path = Path(directory) / embedding_name(iteration)
    with replaced_atomically(path, embedding.nbytes) as partial:
        np.save(partial, embedding)
    return path


def load_embedding(directory: Path, iteration: int) -> np.ndarray:
    return np.load(Path(directory) / embedding_name(iteration))


def find_batch(directories: list[Path], iteration: int) -> Path:
    """The one of a method's batch directories that holds `iteration`'s embedding."""
    for directory in directories:
        if (Path(directory) / embedding_name(iteration)).exists():
            return Path(directory)
    raise FileNotFoundError(f"no {embedding_name(iteration)} in {', '.join(map(str, directories))}")


def embedding_environment(directory: Path, iteration: int) -> dict | None:
    """The numeric environment that made an iteration's embedding: its batch's, or, for one a batch reused
    from an earlier batch, the environment recorded there."""
    batch = json.loads((Path(directory) / "batch.json").read_text())
    reused = batch.get("reused", {}).get(str(iteration))
    return reused["environment"] if reused else batch.get("environment")


def embedding_provenance(directory: Path, iteration: int, fingerprint: str) -> dict:
    """An embedding's fingerprint, sha256 and the numeric environment that made it (if recorded)."""
    return {
        "fingerprint": fingerprint,
        "sha256": file_sha256(Path(directory) / embedding_name(iteration)),
        "environment": embedding_environment(directory, iteration),
    }


@dataclass(frozen=True)
class Finished:
    """An embedding a finished batch holds: its file, the sha256 its batch recorded, where it was made."""

    path: Path
    sha256: str | None
    iteration: int

    @property
    def batch(self) -> str:
        return self.path.parent.name


def finished_embeddings(folder: Path) -> dict[str, Finished]:
    """Every embedding in the finished batch directories below `folder`, by fingerprint (a batch is
    finished once it holds its batch.json and is no longer '.partial')."""
    found = {}
    for record_path in sorted(Path(folder).glob("**/batch.json")):
        if record_path.parent.name.endswith(".partial"):
            continue
        record = json.loads(record_path.read_text())
        for iteration, fingerprint in record["fingerprints"].items():
            found[fingerprint] = Finished(
                record_path.parent / embedding_name(int(iteration)),
                record.get("sha256", {}).get(iteration),
                int(iteration),
            )
    return found

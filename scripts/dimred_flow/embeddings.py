"""Embedding files: one .npy per iteration in a batch directory, read by the plot and report rules
without importing any projection library."""

from __future__ import annotations

import json
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


def embedding_provenance(directory: Path, iteration: int, fingerprint: str) -> dict:
    """An embedding's fingerprint, sha256 and the numeric environment its batch recorded (if it did)."""
    batch = json.loads((Path(directory) / "batch.json").read_text())
    return {
        "fingerprint": fingerprint,
        "sha256": file_sha256(Path(directory) / embedding_name(iteration)),
        "environment": batch.get("environment"),
    }

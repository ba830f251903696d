"""Whether two runs made the same embeddings: byte for byte, within a method's tolerance, or not, with the
figures that say how far apart they are. Used by verify_run.py and by the tests that hold CI to it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import procrustes

from dimred_flow.checksums import file_sha256
from dimred_flow.embeddings import embedding_environment, finished_embeddings

IDENTICAL, WITHIN_TOLERANCE, DIFFERENT = "identical", "within tolerance", "different"


def embedding_distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The largest absolute difference of two embeddings, and their Procrustes disparity (0 when one is
    the other shifted, scaled, rotated or mirrored; what differs in shape, not in placement)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return {"max_abs_difference": float("inf"), "procrustes_disparity": float("inf")}
    return {"max_abs_difference": float(np.abs(a - b).max()), "procrustes_disparity": float(procrustes(a, b)[2])}


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str


def compare_embedding(expected: Path, actual: Path, tolerance: float) -> Verdict:
    """`actual` against `expected` (.npy files): identical bytes, within `tolerance`, or different."""
    if file_sha256(expected) == file_sha256(actual):
        return Verdict(IDENTICAL, f"sha256 {file_sha256(actual)[:16]}")
    distance = embedding_distance(np.load(expected), np.load(actual))
    figures = (
        f"max |difference| {distance['max_abs_difference']:.3g}, "
        f"Procrustes disparity {distance['procrustes_disparity']:.3g}"
    )
    status = WITHIN_TOLERANCE if distance["procrustes_disparity"] <= tolerance else DIFFERENT
    return Verdict(status, f"{figures} (tolerance {tolerance:g})")


def batch_embeddings(results: Path) -> dict[str, Path]:
    """Every embedding under results/embeddings, by the fingerprint its batch.json gives it."""
    return {fingerprint: found.path for fingerprint, found in finished_embeddings(Path(results) / "embeddings").items()}


def batch_environment(embedding: Path) -> dict | None:
    """The numeric environment that made the embedding in the file `embedding`."""
    return embedding_environment(Path(embedding).parent, int(Path(embedding).stem.rsplit("_", 1)[1]))


@dataclass(frozen=True)
class RecordedEmbedding:
    method: str
    iteration: int
    fingerprint: str
    sha256: str
    environment: dict | None


def read_crate(crate: dict) -> tuple[dict, list[RecordedEmbedding]]:
    """The configuration a run's crate records, and the embeddings it names."""
    entities = {entity["@id"]: entity for entity in crate["@graph"]}
    config = json.loads(entities["#param-config"]["value"])
    recorded = []
    for entity_id, entity in entities.items():
        if not entity_id.startswith("#embedding-"):
            continue
        method, iteration = entity_id.removeprefix("#embedding-").rsplit("-", 1)
        environment = entities.get(entity.get("numericEnvironment", {}).get("@id"), {}).get("value")
        recorded.append(
            RecordedEmbedding(
                method, int(iteration), entity["identifier"], entity["sha256"], json.loads(environment or "null")
            )
        )
    return config, sorted(recorded, key=lambda r: (r.iteration, r.method))


def verify_embedding(recorded: RecordedEmbedding, recomputed: Path | None, kept: Path | None, tolerance: float) -> Verdict:
    """A recomputed embedding against the crate's record and, where the run's own file is at hand, that file."""
    if recomputed is None:
        return Verdict(DIFFERENT, "not recomputed: this checkout plans it under another fingerprint (code or settings)")
    recomputed_sha = file_sha256(recomputed)
    kept_sha = file_sha256(kept) if kept else None
    if recomputed_sha == recorded.sha256 and kept_sha in (None, recorded.sha256):
        return Verdict(IDENTICAL, f"sha256 {recorded.sha256[:16]}")
    if kept is None:
        return Verdict(DIFFERENT, f"sha256 {recomputed_sha[:16]} recomputed, {recorded.sha256[:16]} recorded")
    verdict = compare_embedding(kept, recomputed, tolerance)
    if kept_sha != recorded.sha256:
        return Verdict(DIFFERENT, f"the run's file is not what the crate records; against a recomputation: {verdict.detail}")
    return verdict


def environment_differences(recorded: dict | None, current: dict) -> list[str]:
    """What differs between the numeric environment a crate records and this one, as 'what: theirs -> ours'."""
    if not recorded:
        return ["the crate records no numeric environment"]

    def flat(environment: dict) -> dict[str, str]:
        items = {f"cpu {key}": value for key, value in environment["cpu"].items()}
        items.update({f"{name} version": version for name, version in environment["versions"].items()})
        for pool in environment["thread_pools"]:
            items[f"{pool.get('internal_api')} kernel"] = pool.get("architecture")
            items[f"{pool.get('internal_api')} threads"] = pool.get("num_threads")
        return {key: str(value) for key, value in items.items()}

    theirs, ours = flat(recorded), flat(current)
    return [f"{key}: {theirs.get(key, '-')} -> {ours.get(key, '-')}" for key in sorted(theirs | ours) if theirs.get(key) != ours.get(key)]

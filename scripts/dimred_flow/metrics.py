"""Seed stability: how faithful each embedding is to the features, and how much it moves between seeds.

Per method, across the iterations (one seed each):
  trustworthiness    sklearn's trustworthiness of the embedding w.r.t. the standardised features (1 = no
                     false neighbours); computed on a fixed, seed-independent subsample for large tables;
  knn_preservation   mean fraction of each row's k nearest feature-space neighbours that are also among
                     its k nearest embedding neighbours (same subsample);
  procrustes         scipy's Procrustes disparity between every pair of seeds (0 = identical up to
                     translation, rotation, reflection and scale).
"""

from __future__ import annotations

import itertools

import numpy as np

from dimred_flow.errors import UserError

DIGITS = 6


class MetricsError(UserError, ValueError):
    """Embeddings that cannot be compared (wrong shapes, too few rows)."""


def subsample(n_rows: int, max_rows: int) -> np.ndarray:
    """Evenly spaced row indices: deterministic and independent of every seed."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.linspace(0, n_rows - 1, max_rows).round().astype(int)


def usable_neighbours(n_rows: int, n_neighbors: int) -> int:
    """trustworthiness needs k < n/2; small tables get a smaller k rather than an error."""
    if n_rows < 5:
        raise MetricsError(f"Seed-stability metrics need at least 5 rows, the features have {n_rows}.")
    return max(1, min(n_neighbors, (n_rows - 1) // 2))


def trustworthiness(features: np.ndarray, embedding: np.ndarray, n_neighbors: int) -> float:
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    return float(sklearn_trustworthiness(features, embedding, n_neighbors=n_neighbors))


def _neighbour_sets(points: np.ndarray, n_neighbors: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    # n_neighbors + 1 because each point is its own nearest neighbour.
    index = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points)
    return index.kneighbors(points, return_distance=False)[:, 1:]


def knn_preservation(features: np.ndarray, embedding: np.ndarray, n_neighbors: int) -> float:
    original = _neighbour_sets(features, n_neighbors)
    embedded = _neighbour_sets(embedding, n_neighbors)
    shared = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(original, embedded)]
    return float(np.mean(shared) / n_neighbors)


def procrustes_disparity(first: np.ndarray, second: np.ndarray) -> float:
    from scipy.spatial import procrustes

    return float(procrustes(np.asarray(first, dtype=float), np.asarray(second, dtype=float))[2])


def _summary(values: list[float]) -> dict | None:
    if not values:
        return None
    array = np.asarray(values)
    return {key: round(float(fn(array)), DIGITS) for key, fn in (("mean", np.mean), ("min", np.min), ("max", np.max))}


def method_stability(
    features: np.ndarray, embeddings: dict[int, np.ndarray], seeds: dict[int, int], *, n_neighbors: int, max_rows: int
) -> dict:
    """Metrics of one method; `embeddings` maps iteration -> (n_rows, 2) array."""
    for iteration, embedding in embeddings.items():
        if embedding.shape[0] != features.shape[0]:
            raise MetricsError(
                f"The embedding of iteration {iteration} has {embedding.shape[0]} rows but the features have "
                f"{features.shape[0]}: it was computed from other features; rerun the projections."
            )
    rows = subsample(features.shape[0], max_rows)
    k = usable_neighbours(rows.size, n_neighbors)
    sampled = features[rows]
    per_iteration = [
        {
            "iteration": iteration,
            "seed": seeds[iteration],
            "trustworthiness": round(trustworthiness(sampled, embeddings[iteration][rows], k), DIGITS),
            "knn_preservation": round(knn_preservation(sampled, embeddings[iteration][rows], k), DIGITS),
        }
        for iteration in sorted(embeddings)
    ]
    pairs = [
        {"iterations": [a, b], "disparity": round(procrustes_disparity(embeddings[a], embeddings[b]), DIGITS)}
        for a, b in itertools.combinations(sorted(embeddings), 2)
    ]
    return {
        "n_neighbors": k,
        "rows_evaluated": int(rows.size),
        "per_iteration": per_iteration,
        "procrustes": pairs,
        "summary": {
            "trustworthiness": _summary([r["trustworthiness"] for r in per_iteration]),
            "knn_preservation": _summary([r["knn_preservation"] for r in per_iteration]),
            "procrustes_disparity": _summary([p["disparity"] for p in pairs]),
        },
    }

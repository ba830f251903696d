"""Seed stability: how faithful each embedding is to the features, and how much it moves between seeds.

Per method, across the iterations (one seed each):
  trustworthiness    sklearn's trustworthiness (same formula) of the embedding w.r.t. the standardised
                     features (1 = no false neighbours); on a fixed, seed-independent subsample for large tables;
  knn_preservation   mean fraction of each row's k nearest feature-space neighbours that are also among
                     its k nearest embedding neighbours (same subsample);
  procrustes         scipy's Procrustes disparity between every pair of seeds (0 = identical up to
                     translation, rotation, reflection and scale).
"""

from __future__ import annotations

import itertools

import numpy as np

from dimred_flow.errors import UserError
from dimred_flow.features import subsample

DIGITS = 6


class MetricsError(UserError, ValueError):
    """Embeddings that cannot be compared (wrong shapes, too few rows)."""


def usable_neighbours(n_rows: int, n_neighbors: int) -> int:
    """trustworthiness needs k < n/2; small tables get a smaller k rather than an error."""
    if n_rows < 5:
        raise MetricsError(f"Seed-stability metrics need at least 5 rows, the features have {n_rows}.")
    return max(1, min(n_neighbors, (n_rows - 1) // 2))


class FeatureNeighbourhoods:
    """Who is near whom in feature space, on the evaluated rows (a seed-independent subsample).

    Built once per run and shared by every embedding's trustworthiness and kNN preservation:
    sklearn's functions re-rank the features on every call (15 times per run), and importing
    sklearn costs more than all of this work at the sizes evaluated (at most a few thousand rows).
    """

    def __init__(self, features: np.ndarray, *, n_neighbors: int, max_rows: int):
        self.n_rows = features.shape[0]
        self.rows = subsample(self.n_rows, max_rows)
        self.n_neighbors = usable_neighbours(self.rows.size, n_neighbors)
        order = np.argsort(_squared_distances(features[self.rows]), axis=1, kind="stable")
        # rank[i, j] = r: row j is row i's r-th nearest in feature space (row i itself ranks last).
        self._rank = np.empty(order.shape, dtype=np.int32)
        np.put_along_axis(self._rank, order, np.arange(1, self.rows.size + 1, dtype=np.int32)[None, :], axis=1)

    def trustworthiness(self, embedding: np.ndarray) -> float:
        """sklearn.manifold.trustworthiness (Venna & Kaski): 1 = no false neighbours in the embedding."""
        n, k = self.rows.size, self.n_neighbors
        excess = self._feature_ranks_of_embedded_neighbours(embedding) - k
        penalty = excess[excess > 0].sum()
        return float(1.0 - penalty * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))))

    def knn_preservation(self, embedding: np.ndarray) -> float:
        """Mean fraction of each row's k nearest feature-space neighbours that are also among its
        k nearest embedding neighbours."""
        return float(np.mean(self._feature_ranks_of_embedded_neighbours(embedding) <= self.n_neighbors))

    def _feature_ranks_of_embedded_neighbours(self, embedding: np.ndarray) -> np.ndarray:
        if embedding.shape[0] != self.n_rows:
            raise MetricsError(
                f"An embedding has {embedding.shape[0]} rows but the features have {self.n_rows}: "
                "it was computed from other features; rerun the projections."
            )
        distances = _squared_distances(embedding[self.rows])
        nearest = np.argpartition(distances, self.n_neighbors - 1, axis=1)[:, : self.n_neighbors]
        return np.take_along_axis(self._rank, nearest, axis=1)


def _squared_distances(points: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between all rows (they rank as the distances do); a row's
    distance to itself is infinite, so that it is never its own neighbour."""
    points = np.asarray(points, dtype=np.float64)
    norms = np.einsum("ij,ij->i", points, points)
    distances = np.maximum(norms[:, None] - 2 * points @ points.T + norms[None, :], 0)
    np.fill_diagonal(distances, np.inf)
    return distances


def procrustes_disparity(first: np.ndarray, second: np.ndarray) -> float:
    from scipy.spatial import procrustes

    return float(procrustes(np.asarray(first, dtype=float), np.asarray(second, dtype=float))[2])


def _summary(values: list[float]) -> dict | None:
    if not values:
        return None
    array = np.asarray(values)
    return {key: round(float(fn(array)), DIGITS) for key, fn in (("mean", np.mean), ("min", np.min), ("max", np.max))}


def method_stability(
    neighbourhoods: FeatureNeighbourhoods, embeddings: dict[int, np.ndarray], seeds: dict[int, int]
) -> dict:
    """Metrics of one method; `embeddings` maps iteration -> (n_rows, 2) array."""
    per_iteration = [
        {
            "iteration": iteration,
            "seed": seeds[iteration],
            "trustworthiness": round(neighbourhoods.trustworthiness(embeddings[iteration]), DIGITS),
            "knn_preservation": round(neighbourhoods.knn_preservation(embeddings[iteration]), DIGITS),
        }
        for iteration in sorted(embeddings)
    ]
    pairs = [
        {"iterations": [a, b], "disparity": round(procrustes_disparity(embeddings[a], embeddings[b]), DIGITS)}
        for a, b in itertools.combinations(sorted(embeddings), 2)
    ]
    return {
        "n_neighbors": neighbourhoods.n_neighbors,
        "rows_evaluated": int(neighbourhoods.rows.size),
        "per_iteration": per_iteration,
        "procrustes": pairs,
        "summary": {
            "trustworthiness": _summary([r["trustworthiness"] for r in per_iteration]),
            "knn_preservation": _summary([r["knn_preservation"] for r in per_iteration]),
            "procrustes_disparity": _summary([p["disparity"] for p in pairs]),
        },
    }

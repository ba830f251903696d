"""UMAP (umap-learn), on the shared neighbour graph; above fit_rows, placed where umap-learn's transform starts rows."""

from __future__ import annotations

import warnings

from dimred_flow.costs import SeedTiming
from dimred_flow.methods import Method


def placed_by_membership(graph, fitted_embedding, n_neighbors: int):
    """The rows above fit_rows where umap-learn's `transform` starts them: the mean of their nearest
    fitted rows' places, weighted by UMAP's membership strengths (smooth_knn_dist with its
    transform's local connectivity), a row at zero distance from a fitted row taking that row's place.
    Unlike `transform`, no epochs follow: they cost 80 s per seed at 1,000,000 rows and bought no
    quality on the fixed subsample (benchmarks/results_umap_placement.json). Vectorised
    init_graph_transform, whose row loop is Python."""
    import numpy as np
    from umap.umap_ import smooth_knn_dist

    distances = graph.placement_distances[:, :n_neighbors]
    indices = graph.placement_indices[:, :n_neighbors]
    # transform() connects a new row to no fitted row for free: local connectivity 1 - 1.
    sigmas, rhos = smooth_knn_dist(distances, float(n_neighbors), local_connectivity=0.0)
    excess = distances - rhos[:, None]
    exact = (excess <= 0) | (sigmas[:, None] == 0)
    weights = np.exp(-np.maximum(excess, 0) / np.where(sigmas == 0, 1, sigmas)[:, None]).astype(np.float32)
    placed = np.einsum("rk,rkd->rd", weights, fitted_embedding[indices]) / weights.sum(axis=1, keepdims=True)
    first_exact = exact.argmax(axis=1)
    at_a_fitted_row = exact.any(axis=1)
    placed[at_a_fitted_row] = fitted_embedding[indices[at_a_fitted_row, first_exact[at_a_fitted_row]]]
    return placed.astype(fitted_embedding.dtype)


def fit_umap(matrix, seed: int, *, n_neighbors: int, min_dist: float, graph=None, prepared=None, threads: int = 1):
    """UMAP of every row. On a subsampled graph the fitted rows are embedded and every other row is
    placed at the membership-weighted mean of its nearest fitted rows (placed_by_membership)."""
    import numpy as np

    from dimred_flow.projections import numba_cache_on_import

    with numba_cache_on_import():
        import umap
    fitted = matrix if graph is None else graph.fitted(matrix)
    precomputed = (None, None, None)
    # A table with fewer rows than n_neighbors leaves umap-learn to its own exact search.
    if graph is not None and graph.indices.shape[1] >= n_neighbors - 1:
        # umap-learn counts each row as its own nearest neighbour, at distance 0.
        nearest = graph.nearest(n_neighbors - 1)
        rows = np.arange(fitted.shape[0], dtype=np.int32)[:, None]
        precomputed = (
            np.hstack([rows, nearest.indices]),
            np.hstack([np.zeros_like(rows, dtype=np.float32), nearest.distances]),
        )
    # A random_state makes umap-learn run single-threaded: the price of reproducibility,
    # paid back by running seeds in parallel jobs.
    model = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=precomputed,
    )
    with warnings.catch_warnings():
        # The search index of precomputed_knn[2] would only serve transform(), which is not used.
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        embedding = model.fit_transform(fitted).astype(np.float32)
    if graph is None or not graph.subsampled:
        return embedding
    return graph.whole(embedding, placed_by_membership(graph, embedding, n_neighbors))


METHOD = Method(
    name="umap",
    label="UMAP",
    stochastic=True,
    settings={
        "n_neighbors": {
            "description": "Neighbours per row (the row itself included): larger keeps more global structure.",
            "type": "integer", "minimum": 2, "default": 15,
        },
        "min_dist": {
            "description": "How tightly points may pack in the map (0 to 1).",
            "type": "number", "minimum": 0, "maximum": 1, "default": 0.1,
        },
        "jobs": {
            "x-result-neutral": "How the seeds are spread over jobs; every seed's embedding is the same in any batch.",
            "description": "Jobs the seeds are spread over. One job leaves the other cores to t-SNE on a laptop;"
            " raise it on a cluster.",
            "type": "integer",
            "minimum": 1,
            "default": 1,
        },
    },
    fit=fit_umap,
    # umap-learn counts the row itself among its n_neighbors.
    graph_neighbours=lambda settings: settings["n_neighbors"] - 1,
    # A row above fit_rows is placed from as many fitted rows as UMAP has neighbours.
    placement_neighbours=lambda settings: settings["n_neighbors"],
    # The UMAP job carries numba's compilation (~40 s with a cold cache): started before the
    # t-SNE chain fills the other cores instead of UMAP trailing behind it.
    priority=10,
    # Its transform places the rows above fit_rows: 100 of a seed's 140 s at 1,000,000 rows.
    timing=SeedTiming(start=2.0, fit_per_krow=0.37, place_per_krow=0.112, per_fit=2.0),
)

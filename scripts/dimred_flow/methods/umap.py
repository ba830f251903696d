"""UMAP (umap-learn), on the shared neighbour graph; above fit_rows, placed by umap-learn's transform."""

from __future__ import annotations

import contextlib
import itertools
import warnings

from dimred_flow.costs import SeedTiming
from dimred_flow.methods import Method

# Rows umap-learn's transform places at a time: its bipartite graph and epochs hold some 1.5 GB per
# million rows, bounded so on ten million. A table up to 1,100,000 rows (fit_rows 100,000) is placed in
# one call, and a larger one in near-equal parts, each with the transform seed.
PLACEMENT_CHUNK_ROWS = 1_000_000


class _PlacementIndex:
    """The part of a search index that umap-learn's `transform` uses, answered from the shared
    graph's placement neighbours of the rows it is asked about: the graph's other rows in `rows`."""

    _angular_trees = False

    def __init__(self, graph, rows: slice):
        self._indices, self._distances = graph.placement_indices[rows], graph.placement_distances[rows]

    def query(self, rows, k: int, epsilon: float = 0.0):
        if rows.shape[0] != self._indices.shape[0]:
            raise ValueError("the placement index answers only for the graph's own other rows it was made for")
        return self._indices[:, :k], self._distances[:, :k]


def near_equal_parts(n: int, most: int) -> list[slice]:
    """0..n as the fewest consecutive slices of at most `most` rows, their sizes within one of each other."""
    parts = max(1, -(-n // most))
    edges = [n * part // parts for part in range(parts + 1)]
    return [slice(start, stop) for start, stop in itertools.pairwise(edges)]


def weighted_mean_of_neighbours(graph, embedding):
    """umap-learn's init_graph_transform without its Python loop over rows (50 of transform's 83 s per
    seed at 1,000,000 rows, benchmarks/results_umap_placement.json): each new row at the mean of its
    fitted neighbours' places weighted by its membership strengths (`graph`, CSR, new rows by fitted
    rows); a row with a strength of 1 at its first such neighbour, a row with none at NaN."""
    import numpy as np

    sums = np.asarray(graph.sum(axis=1), dtype=np.float32).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.asarray(graph @ embedding, dtype=np.float32) / sums[:, None]
    result[np.diff(graph.indptr) == 0] = np.nan
    exact = graph.data == 1
    rows = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))[exact]
    # Reversed, so that a row's first neighbour at strength 1 is the one assigned last.
    result[rows[::-1]] = embedding[graph.indices[exact][::-1]]
    return result


@contextlib.contextmanager
def vectorised_transform_init():
    """transform() with weighted_mean_of_neighbours as its initialisation: it looks the function up in
    umap.umap_ when it runs, and nothing else in umap-learn calls it."""
    from umap import umap_

    original = umap_.init_graph_transform
    umap_.init_graph_transform = weighted_mean_of_neighbours
    try:
        yield
    finally:
        umap_.init_graph_transform = original


def fit_umap(matrix, seed: int, *, n_neighbors: int, min_dist: float, graph=None, prepared=None, threads: int = 1):
    """UMAP of every row. On a subsampled graph the fitted rows are embedded and every other row is
    placed by umap-learn's own `transform` (its neighbours' weighted mean, then 30 epochs that move
    only the placed rows), seeded with the same seed, its initialisation vectorised."""
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
        transform_seed=seed,
        n_jobs=1,
        precomputed_knn=precomputed,
    )
    with warnings.catch_warnings():
        # The search index of precomputed_knn[2] only serves transform(), which gets _PlacementIndex.
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        embedding = model.fit_transform(fitted).astype(np.float32)
    if graph is None or not graph.subsampled:
        return embedding
    others = graph.other_rows(matrix.shape[0])
    placed = np.empty((others.size, 2), dtype=np.float32)
    with vectorised_transform_init():
        for part in near_equal_parts(others.size, PLACEMENT_CHUNK_ROWS):
            model._knn_search_index = _PlacementIndex(graph, part)
            placed[part] = model.transform(matrix[others[part]])
    return graph.whole(embedding, placed)


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
    },
    fit=fit_umap,
    # umap-learn counts the row itself among its n_neighbors.
    graph_neighbours=lambda settings: settings["n_neighbors"] - 1,
    # Its transform places a row from as many fitted rows as it has neighbours.
    placement_neighbours=lambda settings: settings["n_neighbors"],
    # The UMAP job carries numba's compilation (~40 s with a cold cache): started before the
    # t-SNE chain fills the other cores instead of UMAP trailing behind it.
    priority=10,
    # On one machine one job: it pays numba's loading once and leaves the other cores to t-SNE.
    local_jobs=1,
    # Its transform places the rows above fit_rows: 29 of a seed's 70 s at 1,000,000 rows
    # (benchmarks/results_umap_placement.json).
    timing=SeedTiming(start=2.0, fit_per_krow=0.37, place_per_krow=0.034, per_fit=2.0),
)

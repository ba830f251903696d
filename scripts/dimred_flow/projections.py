"""The three 2-D projections. Heavy libraries are imported inside the functions that need them,
so that a job only pays for the method it runs (umap-learn's import alone compiles numba code)."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dimred_flow.atomic import replaced_atomically
from dimred_flow.embeddings import save_embedding

TSNE_EARLY_EXAGGERATION_ITER = 250


def use_per_user_numba_cache(environ=os.environ) -> None:
    """Unless NUMBA_CACHE_DIR names one, keep numba's machine code in one cache per user
    ($XDG_CACHE_HOME/dimred-flow/numba): a cache inside the working directory made every fresh
    working directory pay UMAP's compilation again (34 s of an 80 s run on the shipped snapshot).
    Read by numba when it is imported.
    """
    if not environ.get("NUMBA_CACHE_DIR"):
        cache_home = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        environ["NUMBA_CACHE_DIR"] = str(cache_home / "dimred-flow" / "numba")


def import_umap_with_cached_jit():
    """Import umap-learn with numba's on-disk cache enabled for its compiled functions.

    umap-learn and pynndescent leave `cache=True` off almost everywhere, so every fresh process
    recompiles them (~30 s on 2 cores). Defaulting it on while they are imported lets NUMBA_CACHE_DIR
    keep the machine code: measured here, import + first fit at 1,000 rows fell from 32 s to 4 s
    with a warm cache, with bit-identical embeddings.
    """
    import sys

    if "umap" in sys.modules:
        return sys.modules["umap"]
    use_per_user_numba_cache()
    import numba

    originals = {name: getattr(numba, name) for name in ("jit", "njit")}

    def cached(original):
        def decorator(*args, **kwargs):
            kwargs.setdefault("cache", True)
            return original(*args, **kwargs)

        return decorator

    try:
        for name, original in originals.items():
            setattr(numba, name, cached(original))
        import umap
    finally:
        for name, original in originals.items():
            setattr(numba, name, original)
    return umap


@dataclass(frozen=True)
class NeighbourGraph:
    """Each fitted row's k nearest other fitted rows, nearest first (the row itself is not among them).

    A table larger than `fit_rows` is fitted on a fixed random subsample (`fitted_rows`, its row
    numbers, ascending); indices then count within that subsample, and each other row's nearest
    fitted rows (`placement_*`) place it in an embedding of the subsample. On a smaller table every
    row is fitted and the placement arrays are empty.
    """

    indices: np.ndarray  # (n_fitted, k) int32
    distances: np.ndarray  # (n_fitted, k) float32
    fitted_rows: np.ndarray | None = None  # (n_fitted,) int64; None: every row
    placement_indices: np.ndarray | None = None  # (n_rows - n_fitted, p) int32, positions in fitted_rows
    placement_distances: np.ndarray | None = None  # (n_rows - n_fitted, p) float32

    def save(self, path: Path, fingerprint: str) -> None:
        subsampled = {}
        if self.fitted_rows is not None:
            subsampled = {
                "fitted_rows": self.fitted_rows,
                "placement_indices": self.placement_indices,
                "placement_distances": self.placement_distances,
            }
        with replaced_atomically(path) as partial:
            np.savez(
                partial, indices=self.indices, distances=self.distances, fingerprint=np.array(fingerprint), **subsampled
            )

    @classmethod
    def load(cls, path: Path) -> NeighbourGraph:
        with np.load(path) as stored:
            return cls(**{name: stored[name] for name in stored.files if name != "fingerprint"})

    def nearest(self, k: int) -> NeighbourGraph:
        if k > self.indices.shape[1]:
            raise ValueError(f"the graph holds {self.indices.shape[1]} neighbours per row, {k} were asked for")
        return replace(self, indices=self.indices[:, :k], distances=self.distances[:, :k])

    @property
    def subsampled(self) -> bool:
        return self.fitted_rows is not None

    def fitted(self, matrix: np.ndarray) -> np.ndarray:
        """The rows of `matrix` the methods are fitted on."""
        return matrix[self.fitted_rows] if self.subsampled else matrix

    def other_rows(self, n_rows: int) -> np.ndarray:
        """Row numbers of the rows that are placed, not fitted (ascending, as in placement_*)."""
        placed = np.ones(n_rows, dtype=bool)
        placed[self.fitted_rows] = False
        return np.flatnonzero(placed)

    def placed_by_median(self, fitted_embedding: np.ndarray) -> np.ndarray:
        """Each other row at the coordinate-wise median of its nearest fitted rows: openTSNE's
        `prepare_partial` initialisation, which never puts a row in a gap between two clusters."""
        return np.median(fitted_embedding[self.placement_indices], axis=1).astype(fitted_embedding.dtype)

    def whole(self, fitted_embedding: np.ndarray, placed_embedding: np.ndarray) -> np.ndarray:
        """One embedding of every row, in table order, from the fitted and the placed rows'."""
        n_rows = self.fitted_rows.size + placed_embedding.shape[0]
        embedding = np.empty((n_rows, fitted_embedding.shape[1]), dtype=np.float32)
        embedding[self.fitted_rows] = fitted_embedding
        embedding[self.other_rows(n_rows)] = placed_embedding
        return embedding


def neighbour_count(n_rows: int, *, umap_neighbors: int, perplexity: float) -> int:
    """Neighbours per row that serve both methods: UMAP's n_neighbors counts the row itself,
    openTSNE's perplexity affinities use 3 x perplexity others."""
    return min(n_rows - 1, max(umap_neighbors - 1, int(3 * perplexity)))


def neighbour_graph(
    matrix: np.ndarray,
    k: int,
    *,
    seed: int,
    threads: int = 1,
    fit_rows: int | None = None,
    placement_neighbors: int = 15,
) -> NeighbourGraph:
    """The exact k-nearest-neighbour graph (Euclidean), computed once per dataset.

    SciPy's KD-tree, its queries spread over `threads` (the result does not depend on their
    number). In the workflow's 8 dimensions it beats both the blocked brute-force search and Annoy
    that it replaces: 90 neighbours of 100,000 rows in 1.3 s on two threads, where Annoy took 50 s
    on one (its trees depend on the thread count). And it is exact at every size, where pynndescent's
    NN-descent (umap-learn's own search) could not be cached by numba and recompiled in every job.

    Above `fit_rows` rows, only a fixed random subsample of `fit_rows` rows (drawn with `seed`) is
    searched, and every other row gets its `placement_neighbors` nearest subsample rows.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(matrix, dtype=np.float64)
    n_rows = points.shape[0]
    subsampled = fit_rows is not None and n_rows > fit_rows
    fitted_rows = np.sort(np.random.default_rng(seed).choice(n_rows, fit_rows, replace=False)) if subsampled else None
    fitted_points = points[fitted_rows] if subsampled else points
    tree = cKDTree(fitted_points)
    distances, indices = tree.query(fitted_points, k=k + 1, workers=threads)
    # Each row finds itself, first unless exact duplicates tie with it: drop it wherever it is,
    # or the farthest candidate where k duplicates pushed it out.
    is_self = indices == np.arange(fitted_points.shape[0])[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    graph = NeighbourGraph(
        indices[~is_self].reshape(-1, k).astype(np.int32),
        distances[~is_self].reshape(-1, k).astype(np.float32),
    )
    if not subsampled:
        return graph
    others = np.ones(n_rows, dtype=bool)
    others[fitted_rows] = False
    placement_distances, placement_indices = tree.query(
        points[others], k=min(placement_neighbors, fit_rows), workers=threads
    )
    return replace(
        graph,
        fitted_rows=fitted_rows,
        placement_indices=placement_indices.reshape(-1, min(placement_neighbors, fit_rows)).astype(np.int32),
        placement_distances=placement_distances.reshape(-1, min(placement_neighbors, fit_rows)).astype(np.float32),
    )


class _PlacementIndex:
    """The part of a search index that umap-learn's `transform` uses, answered from the shared
    graph's placement neighbours: the rows it is asked about are always the graph's other rows."""

    _angular_trees = False

    def __init__(self, graph: NeighbourGraph):
        self._graph = graph

    def query(self, rows: np.ndarray, k: int, epsilon: float = 0.0):
        if rows.shape[0] != self._graph.placement_indices.shape[0]:
            raise ValueError("the placement index answers only for the graph's own other rows")
        return self._graph.placement_indices[:, :k], self._graph.placement_distances[:, :k]


def fit_umap(
    matrix: np.ndarray, seed: int, *, n_neighbors: int, min_dist: float, graph: NeighbourGraph | None = None
) -> np.ndarray:
    """UMAP of every row. On a subsampled graph the fitted rows are embedded and every other row is
    placed by umap-learn's own `transform` (its neighbours' weighted mean, then 30 epochs that move
    only the placed rows), seeded with the same seed."""
    umap = import_umap_with_cached_jit()

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
    model._knn_search_index = _PlacementIndex(graph)
    placed = model.transform(matrix[graph.other_rows(matrix.shape[0])])
    return graph.whole(embedding, placed.astype(np.float32))


def fit_pca(matrix: np.ndarray) -> np.ndarray:
    """The first two principal components: one exact SVD of the centred matrix, with scikit-learn's
    sign convention (each component's largest loading positive), i.e. PCA(svd_solver="full").

    numpy rather than scikit-learn: the import alone (1.6 s) costs 40 times the fit at 1,000 rows.
    The SVD has no randomness, so PCA is identical for every seed.
    """
    centred = np.asarray(matrix, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    u, singular_values, components = np.linalg.svd(centred, full_matrices=False)
    largest = np.argmax(np.abs(components[:2]), axis=1)
    signs = np.sign(components[np.arange(2), largest])
    return (u[:, :2] * singular_values[:2] * signs).astype(np.float32)


def tsne_affinities(graph: NeighbourGraph, *, perplexity: float, threads: int):
    """openTSNE's perplexity affinities (a sparse matrix) from the shared neighbour graph:
    computed once, used by every seed."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    nearest = graph.nearest(min(graph.indices.shape[1], int(3 * perplexity)))
    index = PrecomputedNeighbors(nearest.indices, nearest.distances)
    return PerplexityBasedNN(perplexity=perplexity, knn_index=index, n_jobs=threads).P


def save_affinities(path: Path, affinities, fingerprint: str) -> None:
    """The sparse affinities with the fingerprint they were made with (scipy's save_npz keeps no extra entry)."""
    csr = affinities.tocsr()
    with replaced_atomically(path) as partial:
        np.savez(
            partial,
            data=csr.data,
            indices=csr.indices,
            indptr=csr.indptr,
            shape=np.array(csr.shape),
            fingerprint=np.array(fingerprint),
        )


def load_affinities(path: Path):
    import scipy.sparse

    with np.load(path, allow_pickle=False) as stored:
        return scipy.sparse.csr_matrix(
            (stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"])
        )


def fit_tsne_opentsne(
    affinities, seed: int, *, n_iter: int, threads: int, graph: NeighbourGraph | None = None
) -> np.ndarray:
    """openTSNE on the fitted rows' affinities; on a subsampled graph every other row is then placed
    at the median of its nearest fitted rows (openTSNE's partial-embedding initialisation)."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PrecomputedAffinities
    from openTSNE.initialization import random as random_init

    n_rows = affinities.shape[0]
    embedding = TSNEEmbedding(
        random_init(n_rows, n_components=2, random_state=seed),
        # openTSNE scales P in place during early exaggeration; a copy keeps the next seed's
        # input bit-identical to a fresh process, so batching never changes a result.
        PrecomputedAffinities(affinities.copy(), normalize=False),
        # Barnes-Hut below 10,000 rows, FFT interpolation above: the faster of the two at each size.
        negative_gradient_method="auto",
        n_jobs=threads,
        random_state=seed,
    )
    embedding = embedding.optimize(
        n_iter=TSNE_EARLY_EXAGGERATION_ITER, exaggeration=12, momentum=0.5, learning_rate="auto"
    )
    embedding = np.asarray(embedding.optimize(n_iter=n_iter, momentum=0.8, learning_rate="auto"), dtype=np.float32)
    return _with_placed_rows(embedding, graph)


def fit_tsne_sklearn(
    matrix: np.ndarray, seed: int, *, perplexity: float, n_iter: int, graph: NeighbourGraph | None = None
) -> np.ndarray:
    from sklearn.manifold import TSNE

    # init='pca' (sklearn's default) would give the same embedding for every seed.
    model = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="random",
        random_state=seed,
        max_iter=n_iter + TSNE_EARLY_EXAGGERATION_ITER,
    )
    fitted = matrix if graph is None else graph.fitted(matrix)
    return _with_placed_rows(model.fit_transform(fitted).astype(np.float32), graph)


def _with_placed_rows(fitted_embedding: np.ndarray, graph: NeighbourGraph | None) -> np.ndarray:
    if graph is None or not graph.subsampled:
        return fitted_embedding
    return graph.whole(fitted_embedding, graph.placed_by_median(fitted_embedding))


def run_batch(fit, iterations: list[int], seeds: list[int], fingerprints: dict[int, str], out_dir: Path, log=print) -> dict:
    """Fit one embedding per (iteration, seed) in this process, so one-off costs are paid once.

    The batch is written to a '.partial' directory renamed into place at the end: a killed job
    never leaves a directory that looks finished. Its batch.json carries each embedding's fingerprint.
    """
    out_dir = Path(out_dir)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    timings = {}
    for iteration, seed in zip(iterations, seeds, strict=True):
        started = time.perf_counter()
        save_embedding(partial, iteration, fit(seed))
        timings[iteration] = round(time.perf_counter() - started, 3)
        log(f"iteration {iteration} (seed {seed}) done in {timings[iteration]} s")
    record = {
        "iterations": iterations,
        "seeds": seeds,
        "seconds": timings,
        "fingerprints": {str(i): fingerprints[i] for i in iterations},
    }
    (partial / "batch.json").write_text(json.dumps(record, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    return record

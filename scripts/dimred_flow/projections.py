"""The three 2-D projections. Heavy libraries are imported inside the functions that need them,
so that a job only pays for the method it runs (umap-learn's import alone compiles numba code)."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dimred_flow.atomic import replaced_atomically
from dimred_flow.embeddings import save_embedding

TSNE_EARLY_EXAGGERATION_ITER = 250
# Below it the exact search beats Annoy, even on one thread (measured on 12 features, 90 neighbours,
# one thread / two: 20,000 rows 2.6 / 1.4 s against 9 s, 50,000 rows 17.5 / 9 s against 30 s; at
# 100,000 rows 81 / 39 s against 45 s).
EXACT_SEARCH_BELOW_ROWS = 50_000
# Rows per block of the exact search: a block's distances to every row stay in the CPU's caches
# at the sizes it serves (distances and selection at 20,000 rows: blocks of 256 rows 2.4 s, of
# 1,024 rows 3.0 s, of 4,096 rows 4.9 s).
EXACT_SEARCH_BLOCK_ROWS = 256


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
    """Each row's k nearest other rows, nearest first (the row itself is not among them)."""

    indices: np.ndarray  # (n_rows, k) int32
    distances: np.ndarray  # (n_rows, k) float32

    def save(self, path: Path) -> None:
        with replaced_atomically(path) as partial:
            np.savez(partial, indices=self.indices, distances=self.distances)

    @classmethod
    def load(cls, path: Path) -> NeighbourGraph:
        with np.load(path) as stored:
            return cls(indices=stored["indices"], distances=stored["distances"])

    def nearest(self, k: int) -> NeighbourGraph:
        if k > self.indices.shape[1]:
            raise ValueError(f"the graph holds {self.indices.shape[1]} neighbours per row, {k} were asked for")
        return NeighbourGraph(self.indices[:, :k], self.distances[:, :k])


def neighbour_count(n_rows: int, *, umap_neighbors: int, perplexity: float) -> int:
    """Neighbours per row that serve both methods: UMAP's n_neighbors counts the row itself,
    openTSNE's perplexity affinities use 3 x perplexity others."""
    return min(n_rows - 1, max(umap_neighbors - 1, int(3 * perplexity)))


def neighbour_graph(
    matrix: np.ndarray, k: int, *, seed: int, threads: int = 1, exact_below: int = EXACT_SEARCH_BELOW_ROWS
) -> NeighbourGraph:
    """k-nearest-neighbour graph (Euclidean), computed once per dataset.

    Below `exact_below` rows the search is exact (umap-learn's own is exact below 4,096 rows) and
    spreads its blocks of rows over `threads`; the result does not depend on the thread count.
    Above, Annoy (seeded), rather than pynndescent: pynndescent's NN-descent cannot be cached by
    numba (it uses dynamic globals), so every UMAP process that searched its own neighbours
    recompiled it. Annoy is built single-threaded: its trees depend on the thread count, the graph
    must not.
    """
    if matrix.shape[0] < exact_below:
        return _exact_neighbour_graph(matrix, k, threads=threads)
    from openTSNE.nearest_neighbors import Annoy

    indices, distances = Annoy(matrix, k, metric="euclidean", n_jobs=1, random_state=seed).build()
    return NeighbourGraph(indices.astype(np.int32), distances.astype(np.float32))


def _exact_neighbour_graph(matrix: np.ndarray, k: int, *, threads: int) -> NeighbourGraph:
    from threadpoolctl import threadpool_limits

    points = np.asarray(matrix, dtype=np.float64)
    n_rows = points.shape[0]
    # A row's own squared norm does not change the order of its distances: only the others' enter.
    squared_norms = np.einsum("ij,ij->i", points, points)
    minus_twice_transposed = np.ascontiguousarray(-2 * points.T)
    indices = np.empty((n_rows, k), dtype=np.int32)
    distances = np.empty((n_rows, k), dtype=np.float32)

    def search_block(start: int) -> None:
        rows = np.arange(start, min(start + EXACT_SEARCH_BLOCK_ROWS, n_rows))
        ranking = points[rows] @ minus_twice_transposed
        ranking += squared_norms
        ranking[np.arange(rows.size), rows] = np.inf
        candidates = np.sort(np.argpartition(ranking, k - 1, axis=1)[:, :k], axis=1)
        # Distances recomputed from differences (the expansion above loses digits), ties broken
        # by row number, so the graph does not depend on the BLAS library.
        exact = np.linalg.norm(points[candidates] - points[rows, None, :], axis=2)
        order = np.argsort(exact, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(candidates, order, axis=1)
        distances[rows] = np.take_along_axis(exact, order, axis=1)

    # The threads share the blocks; BLAS threads on top of them would only contend for the cores.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(search_block, range(0, n_rows, EXACT_SEARCH_BLOCK_ROWS)))
    return NeighbourGraph(indices, distances)


def fit_umap(
    matrix: np.ndarray, seed: int, *, n_neighbors: int, min_dist: float, graph: NeighbourGraph | None = None
) -> np.ndarray:
    umap = import_umap_with_cached_jit()

    precomputed = (None, None, None)
    # A table with fewer rows than n_neighbors leaves umap-learn to its own exact search.
    if graph is not None and graph.indices.shape[1] >= n_neighbors - 1:
        # umap-learn counts each row as its own nearest neighbour, at distance 0.
        nearest = graph.nearest(n_neighbors - 1)
        rows = np.arange(matrix.shape[0], dtype=np.int32)[:, None]
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
        # Only transform() needs a search index; the workflow never transforms new data.
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        return model.fit_transform(matrix).astype(np.float32)


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


def fit_tsne_opentsne(affinities, seed: int, *, n_iter: int, threads: int) -> np.ndarray:
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
    embedding = embedding.optimize(n_iter=n_iter, momentum=0.8, learning_rate="auto")
    return np.asarray(embedding, dtype=np.float32)


def fit_tsne_sklearn(matrix: np.ndarray, seed: int, *, perplexity: float, n_iter: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    # init='pca' (sklearn's default) would give the same embedding for every seed.
    model = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="random",
        random_state=seed,
        max_iter=n_iter + TSNE_EARLY_EXAGGERATION_ITER,
    )
    return model.fit_transform(matrix).astype(np.float32)


def run_batch(fit, iterations: list[int], seeds: list[int], out_dir: Path, log=print) -> dict:
    """Fit one embedding per (iteration, seed) in this process, so one-off costs are paid once.

    The batch is written to a '.partial' directory renamed into place at the end: a killed job
    never leaves a directory that looks finished.
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
    record = {"iterations": iterations, "seeds": seeds, "seconds": timings}
    (partial / "seeds.json").write_text(json.dumps(record, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    return record

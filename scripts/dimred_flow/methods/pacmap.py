"""PaCMAP (pacmap): neighbour, mid-near and far pairs from its own seeded search; above fit_rows,
fitted on the shared graph's subsample and each other row placed at the median of its nearest fitted rows."""

from __future__ import annotations

from dimred_flow.costs import SeedTiming
from dimred_flow.methods import Method


def fit_pacmap(matrix, seed: int, *, n_neighbors: int, mn_ratio: float, fp_ratio: float, graph=None, prepared=None,
               threads: int = 1):
    import numba
    import numpy as np

    from dimred_flow.projections import numba_cache_on_import

    with numba_cache_on_import():
        import pacmap
    # One thread: pacmap's numba loops sum in parallel, and a sum's rounding follows the thread count.
    numba.set_num_threads(threads)
    fitted = matrix if graph is None else graph.fitted(matrix)
    model = pacmap.PaCMAP(
        n_components=2,
        n_neighbors=min(n_neighbors, fitted.shape[0] - 1),
        MN_ratio=mn_ratio,
        FP_ratio=fp_ratio,
        random_state=seed,
        knn_backend="annoy",
    )
    embedding = model.fit_transform(np.asarray(fitted, dtype=np.float32), init="pca").astype(np.float32)
    return embedding if graph is None else graph.with_rows_placed_by_median(embedding)


METHOD = Method(
    name="pacmap",
    label="PaCMAP",
    stochastic=True,
    settings={
        "n_neighbors": {"description": "Neighbour pairs per row.", "type": "integer", "minimum": 2, "default": 10},
        "mn_ratio": {"description": "Mid-near pairs per neighbour pair.", "type": "number", "minimum": 0,
                     "default": 0.5},
        "fp_ratio": {"description": "Further pairs per neighbour pair.", "type": "number", "minimum": 0,
                     "default": 2.0},
    },
    fit=fit_pacmap,
    # The start is numba compiling its loops in the first seed (15-20 s with a warm cache).
    timing=SeedTiming(start=15.0, fit_per_krow=0.38, place_per_krow=8e-3),
)

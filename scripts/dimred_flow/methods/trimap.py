"""TriMap (trimap): triplets from its own search, seeded; above fit_rows, fitted on the shared graph's
subsample and each other row placed at the median of its nearest fitted rows."""

from __future__ import annotations

from dimred_flow.costs import SeedTiming
from dimred_flow.methods import Method


def fit_trimap(matrix, seed: int, *, n_inliers: int, n_outliers: int, n_random: int, n_iters: int, graph=None,
               prepared=None, threads: int = 1):
    import numba
    import numpy as np
    import torch

    from dimred_flow.projections import numba_cache_on_import

    with numba_cache_on_import():
        import trimap
    # trimap's package loads torch: held to the job's threads, so that it never takes cores the
    # scheduler gave to other jobs.
    torch.set_num_threads(threads)
    # TriMap draws its triplets with numba's generator, which np.random.seed outside numba does not reach,
    # and in parallel loops, whose draws follow the thread count: one thread, seeded inside numba.
    numba.set_num_threads(threads)
    seed_numba(seed)
    np.random.seed(seed)
    fitted = matrix if graph is None else graph.fitted(matrix)
    model = trimap.TRIMAP(
        n_dims=2,
        n_inliers=min(n_inliers, fitted.shape[0] - 2),
        n_outliers=n_outliers,
        n_random=n_random,
        n_iters=n_iters,
    )
    embedding = np.asarray(model.fit_transform(np.asarray(fitted, dtype=np.float32)), dtype=np.float32)
    return embedding if graph is None else graph.with_rows_placed_by_median(embedding)


def seed_numba(seed: int) -> None:
    import numba
    import numpy as np

    @numba.njit
    def seed_generator(value):
        np.random.seed(value)

    seed_generator(seed)


METHOD = Method(
    name="trimap",
    label="TriMap",
    stochastic=True,
    settings={
        "n_inliers": {"description": "Nearest neighbours per triplet anchor.", "type": "integer", "minimum": 1,
                      "default": 12},
        "n_outliers": {"description": "Outliers per inlier.", "type": "integer", "minimum": 1, "default": 4},
        "n_random": {"description": "Random triplets per row.", "type": "integer", "minimum": 0, "default": 3},
        "n_iters": {"description": "Optimisation steps.", "type": "integer", "minimum": 10, "default": 400},
    },
    fit=fit_trimap,
    # The start is numba compiling its loops in the first seed (15-20 s with a warm cache).
    timing=SeedTiming(start=18.0, fit_per_krow=0.75, place_per_krow=2e-3),
)

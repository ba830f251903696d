"""t-SNE: openTSNE on affinities prepared once from the shared graph (FFT above 10,000 rows), or
scikit-learn's Barnes-Hut; both from a random initialisation. Above fit_rows, each other row is
placed at the median of its nearest fitted rows."""

from __future__ import annotations

from dimred_flow.costs import Cost, SeedTiming
from dimred_flow.methods import Method

EARLY_EXAGGERATION_ITER = 250
LABELS = {"opentsne": "t-SNE (openTSNE, random init)", "sklearn": "t-SNE (sklearn Barnes-Hut, random init)"}


def affinities(graph, *, perplexity: float, threads: int = 1):
    """openTSNE's perplexity affinities (a sparse matrix) from the shared neighbour graph:
    computed once, used by every seed."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    nearest = graph.nearest(min(graph.indices.shape[1], int(3 * perplexity)))
    index = PrecomputedNeighbors(nearest.indices, nearest.distances)
    return PerplexityBasedNN(perplexity=perplexity, knn_index=index, n_jobs=threads).P


def fit_tsne(matrix, seed: int, *, implementation: str, perplexity: float, n_iter: int, graph=None, prepared=None,
             threads: int = 1):
    fit = fit_opentsne if implementation == "opentsne" else fit_sklearn
    fitted = fit(matrix if graph is None else graph.fitted(matrix), seed, perplexity=perplexity, n_iter=n_iter,
                 affinities=prepared, threads=threads)
    return fitted if graph is None else graph.with_rows_placed_by_median(fitted)


def fit_opentsne(fitted, seed: int, *, perplexity: float, n_iter: int, affinities, threads: int):
    import numpy as np
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PrecomputedAffinities
    from openTSNE.initialization import random as random_init

    embedding = TSNEEmbedding(
        random_init(affinities.shape[0], n_components=2, random_state=seed),
        # openTSNE scales P in place during early exaggeration; a copy keeps the next seed's
        # input bit-identical to a fresh process, so batching never changes a result.
        PrecomputedAffinities(affinities.copy(), normalize=False),
        # Barnes-Hut below 10,000 rows, FFT interpolation above: the faster of the two at each size.
        negative_gradient_method="auto",
        n_jobs=threads,
        random_state=seed,
    )
    embedding = embedding.optimize(n_iter=EARLY_EXAGGERATION_ITER, exaggeration=12, momentum=0.5, learning_rate="auto")
    return np.asarray(embedding.optimize(n_iter=n_iter, momentum=0.8, learning_rate="auto"), dtype=np.float32)


def fit_sklearn(fitted, seed: int, *, perplexity: float, n_iter: int, affinities=None, threads: int = 1):
    import numpy as np
    from sklearn.manifold import TSNE

    # init='pca' (sklearn's default) would give the same embedding for every seed.
    model = TSNE(
        n_components=2, perplexity=perplexity, init="random", random_state=seed,
        max_iter=n_iter + EARLY_EXAGGERATION_ITER,
    )
    return model.fit_transform(fitted).astype(np.float32)


METHOD = Method(
    name="tsne",
    label="t-SNE",
    stochastic=True,
    settings={
        "implementation": {
            "description": "'opentsne' (FFT, shared affinities, random init) or 'sklearn' (Barnes-Hut, random init).",
            "enum": ["opentsne", "sklearn"],
            "default": "opentsne",
        },
        "perplexity": {
            "description": "The effective number of neighbours each row's affinities spread over.",
            "type": "number", "exclusiveMinimum": 1, "default": 30,
        },
        "n_iter": {
            "description": "Optimisation steps after 250 steps of early exaggeration. 250 keeps the quality of"
            " 500 (trustworthiness 0.9915 against 0.9929 at 20,000 rows) at a third of the time.",
            "type": "integer",
            "minimum": 50,
            "default": 250,
        },
    },
    fit=fit_tsne,
    # openTSNE's perplexity affinities use 3 x perplexity neighbours.
    graph_neighbours=lambda settings: int(3 * settings["perplexity"]),
    prepared_settings=lambda settings: (
        {"perplexity": settings["perplexity"]} if settings["implementation"] == "opentsne" else None
    ),
    prepare=affinities,
    # On one machine, three jobs (2 + 2 + 1 seeds of 5): two cores finish together while the UMAP job runs;
    # a job pays about 2 s of start-up (openTSNE imports scikit-learn).
    local_jobs=3,
    title=lambda settings: LABELS[settings["implementation"]],
    resources=Cost(4000, 60, mem_per_input_mb=5, minutes_per_input_mb=0.1, retried_for_memory=True),
    # Placement at the median of the nearest fitted rows takes seconds at 1,000,000 rows.
    timing=SeedTiming(start=2.0, fit_per_krow=0.82, place_per_krow=3e-3, per_fit=5.0),
)

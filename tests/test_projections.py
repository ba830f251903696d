"""Unit tests of the shared neighbour graph and the projections that reuse it (real libraries, no mocks)."""

import numpy as np
import pytest

from dimred_flow import metrics, projections


@pytest.fixture(scope="module")
def clustered():
    """Four separated 8-D clusters of 120 points: neighbours are well defined."""
    rng = np.random.default_rng(11)
    centres = rng.normal(scale=8, size=(4, 8))
    return np.vstack([centre + rng.normal(size=(120, 8)) for centre in centres]).astype(np.float32)


@pytest.fixture(scope="module")
def graph(clustered):
    return projections.neighbour_graph(clustered, 30, seed=5)


def exact_neighbours(matrix, k):
    distances = np.linalg.norm(matrix[:, None, :] - matrix[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    return np.argsort(distances, axis=1)[:, :k]


def test_neighbour_count_serves_both_methods():
    assert projections.neighbour_count(10_000, umap_neighbors=15, perplexity=30) == 90
    assert projections.neighbour_count(10_000, umap_neighbors=200, perplexity=30) == 199
    assert projections.neighbour_count(50, umap_neighbors=15, perplexity=30) == 49


def test_graph_excludes_the_row_sorts_by_distance_and_finds_the_true_neighbours(clustered, graph):
    assert graph.indices.shape == graph.distances.shape == (clustered.shape[0], 30)
    assert graph.indices.dtype == np.int32 and graph.distances.dtype == np.float32
    rows = np.arange(clustered.shape[0])[:, None]
    assert not (graph.indices == rows).any()
    assert (np.diff(graph.distances, axis=1) >= 0).all()
    recomputed = np.linalg.norm(clustered[graph.indices] - clustered[:, None, :], axis=2)
    np.testing.assert_allclose(graph.distances, recomputed, rtol=1e-4, atol=1e-4)
    exact = exact_neighbours(clustered, 30)
    recall = np.mean([len(set(a) & set(b)) / 30 for a, b in zip(graph.indices, exact)])
    assert recall > 0.95


def test_graph_is_reproducible_and_round_trips(clustered, graph, tmp_path):
    again = projections.neighbour_graph(clustered, 30, seed=5)
    np.testing.assert_array_equal(graph.indices, again.indices)
    path = tmp_path / "graph.npz"
    graph.save(path)
    loaded = projections.NeighbourGraph.load(path)
    np.testing.assert_array_equal(loaded.indices, graph.indices)
    np.testing.assert_array_equal(loaded.distances, graph.distances)
    assert not list(tmp_path.glob("*.partial*"))


def test_nearest_refuses_more_neighbours_than_the_graph_holds(graph):
    assert graph.nearest(10).indices.shape[1] == 10
    with pytest.raises(ValueError, match="holds 30 neighbours"):
        graph.nearest(31)


def test_affinities_from_the_graph_equal_opentsne_searching_itself(clustered):
    """Sharing the graph changes nothing for t-SNE: same Annoy search, same affinities."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import Annoy

    perplexity = 10
    shared = projections.tsne_affinities(
        projections.neighbour_graph(clustered, 30, seed=3), perplexity=perplexity, threads=1
    )
    own = PerplexityBasedNN(
        perplexity=perplexity, knn_index=Annoy(clustered, 30, metric="euclidean", n_jobs=1, random_state=3), n_jobs=1
    ).P
    assert abs(shared - own).max() == pytest.approx(0, abs=1e-7)


def test_umap_on_the_shared_graph_is_reproducible_and_as_trustworthy(clustered, graph):
    first = projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph)
    np.testing.assert_array_equal(first, projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph))
    assert not np.array_equal(first, projections.fit_umap(clustered, 8, n_neighbors=15, min_dist=0.1, graph=graph))
    own_search = projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1)
    shared_score = metrics.trustworthiness(clustered, first, 10)
    assert shared_score > 0.95
    assert shared_score == pytest.approx(metrics.trustworthiness(clustered, own_search, 10), abs=0.01)

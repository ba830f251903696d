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


def annoy_graph(matrix, k, seed):
    """The search large tables get (Annoy), forced on a small one."""
    return projections.neighbour_graph(matrix, k, seed=seed, exact_below=0)


def exact_neighbours(matrix, k):
    distances = np.linalg.norm(matrix[:, None, :] - matrix[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def test_neighbour_count_serves_both_methods():
    assert projections.neighbour_count(10_000, umap_neighbors=15, perplexity=30) == 90
    assert projections.neighbour_count(10_000, umap_neighbors=200, perplexity=30) == 199
    assert projections.neighbour_count(50, umap_neighbors=15, perplexity=30) == 49


def check_graph_shape_order_and_distances(matrix, graph, k):
    assert graph.indices.shape == graph.distances.shape == (matrix.shape[0], k)
    assert graph.indices.dtype == np.int32 and graph.distances.dtype == np.float32
    rows = np.arange(matrix.shape[0])[:, None]
    assert not (graph.indices == rows).any()
    assert (np.diff(graph.distances, axis=1) >= 0).all()
    recomputed = np.linalg.norm(matrix[graph.indices] - matrix[:, None, :], axis=2)
    np.testing.assert_allclose(graph.distances, recomputed, rtol=1e-4, atol=1e-4)


def test_small_tables_get_the_exact_neighbours(clustered, graph):
    check_graph_shape_order_and_distances(clustered, graph, 30)
    np.testing.assert_array_equal(graph.indices, exact_neighbours(clustered, 30))


def test_exact_search_works_across_blocks_and_with_every_other_row_as_neighbour():
    matrix = np.random.default_rng(2).normal(size=(projections.EXACT_SEARCH_BLOCK_ROWS + 37, 3))
    graph = projections.neighbour_graph(matrix, 12, seed=0)
    np.testing.assert_array_equal(graph.indices, exact_neighbours(matrix, 12))
    everyone = projections.neighbour_graph(matrix[:9], 8, seed=0)
    assert sorted(everyone.indices[0]) == list(range(1, 9))


def test_exact_search_gives_the_same_graph_on_any_number_of_threads():
    matrix = np.random.default_rng(3).normal(size=(3 * projections.EXACT_SEARCH_BLOCK_ROWS + 5, 6))
    one = projections.neighbour_graph(matrix, 10, seed=0, threads=1)
    three = projections.neighbour_graph(matrix, 10, seed=0, threads=3)
    np.testing.assert_array_equal(one.indices, three.indices)
    np.testing.assert_array_equal(one.distances, three.distances)
    np.testing.assert_array_equal(one.indices, exact_neighbours(matrix, 10))


def test_large_tables_get_annoy_which_finds_the_true_neighbours_reproducibly(clustered):
    graph = annoy_graph(clustered, 30, seed=5)
    check_graph_shape_order_and_distances(clustered, graph, 30)
    exact = exact_neighbours(clustered, 30)
    recall = np.mean([len(set(a) & set(b)) / 30 for a, b in zip(graph.indices, exact)])
    assert recall > 0.95
    np.testing.assert_array_equal(graph.indices, annoy_graph(clustered, 30, seed=5).indices)


def test_graph_round_trips(graph, tmp_path):
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


@pytest.mark.parametrize("search", ["exact", "annoy"])
def test_affinities_from_the_graph_equal_opentsne_searching_itself(clustered, search):
    """Sharing the graph changes nothing for t-SNE: the same search gives the same affinities."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import Annoy, Sklearn

    perplexity = 10
    if search == "exact":
        shared_graph, own_index = projections.neighbour_graph(clustered, 30, seed=3), Sklearn(clustered, 30)
    else:
        shared_graph = annoy_graph(clustered, 30, seed=3)
        own_index = Annoy(clustered, 30, metric="euclidean", n_jobs=1, random_state=3)
    shared = projections.tsne_affinities(shared_graph, perplexity=perplexity, threads=1)
    own = PerplexityBasedNN(perplexity=perplexity, knn_index=own_index, n_jobs=1).P
    assert abs(shared - own).max() == pytest.approx(0, abs=1e-7)


def test_umap_on_the_shared_graph_is_reproducible_and_as_trustworthy(clustered, graph):
    first = projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph)
    np.testing.assert_array_equal(first, projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph))
    assert not np.array_equal(first, projections.fit_umap(clustered, 8, n_neighbors=15, min_dist=0.1, graph=graph))
    own_search = projections.fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1)
    neighbourhoods = metrics.FeatureNeighbourhoods(clustered, n_neighbors=10, max_rows=clustered.shape[0])
    shared_score = neighbourhoods.trustworthiness(first)
    assert shared_score > 0.95
    assert shared_score == pytest.approx(neighbourhoods.trustworthiness(own_search), abs=0.01)


def test_pca_equals_scikit_learn_including_the_sign_of_each_component(clustered):
    from sklearn.decomposition import PCA

    for matrix in (clustered, np.random.default_rng(9).normal(size=(300, 5)) * [5, 3, 2, 1, 0.5]):
        expected = PCA(n_components=2, svd_solver="full").fit_transform(matrix.astype(np.float64))
        np.testing.assert_allclose(projections.fit_pca(matrix), expected, rtol=1e-4, atol=1e-4)


def test_numba_cache_is_per_user_unless_numba_cache_dir_names_one(tmp_path):
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    projections.use_per_user_numba_cache(environ)
    assert environ["NUMBA_CACHE_DIR"] == str(tmp_path / "dimred-flow" / "numba")
    chosen = {"NUMBA_CACHE_DIR": "/elsewhere", "XDG_CACHE_HOME": str(tmp_path)}
    projections.use_per_user_numba_cache(chosen)
    assert chosen["NUMBA_CACHE_DIR"] == "/elsewhere"

"""Unit tests of the shared neighbour graph and the projections that reuse it (real libraries, no mocks)."""

import numpy as np
import pytest

from dimred_flow import metrics, projections
from dimred_flow.methods import REGISTRY, tsne
from dimred_flow.methods.pca import fit_pca
from dimred_flow.methods.umap import fit_umap, weighted_mean_of_neighbours


def default_settings(method) -> dict:
    """A method's settings as the schema's defaults give them (job counts only schedule)."""
    return {key: spec["default"] for key, spec in method.settings.items() if key != "jobs"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_method_fits_every_row_reproducibly_and_its_seed_matters_where_it_says(name, clustered, graph):
    method = REGISTRY[name]
    settings = default_settings(method)
    needed = method.prepared_settings(settings)
    prepared = None if needed is None else method.prepare(graph, threads=1, **needed)

    def fit(seed):
        return method.fit(clustered, seed, graph=graph if method.uses_graph else None, prepared=prepared, threads=1,
                          **settings)

    first = fit(7)
    assert first.shape == (clustered.shape[0], 2) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, fit(7))
    assert np.array_equal(first, fit(8)) != method.stochastic
    neighbourhoods = metrics.FeatureNeighbourhoods(clustered, n_neighbors=10, max_rows=clustered.shape[0])
    assert neighbourhoods.trustworthiness(first) > 0.9, name


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
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def test_neighbour_count_is_what_the_most_demanding_method_reads_at_most_every_other_row():
    assert projections.neighbour_count(10_000, 90) == 90
    assert projections.neighbour_count(50, 90) == 49
    assert projections.neighbour_count(10, 0) == 1


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


def test_every_other_row_can_be_a_neighbour_and_duplicates_never_list_a_row_as_its_own():
    matrix = np.random.default_rng(2).normal(size=(300, 3))
    everyone = projections.neighbour_graph(matrix[:9], 8, seed=0)
    assert sorted(everyone.indices[0]) == list(range(1, 9))
    duplicated = np.vstack([matrix[:1]] * 6 + [matrix[1:40]])
    graph = projections.neighbour_graph(duplicated, 4, seed=0)
    assert not (graph.indices == np.arange(duplicated.shape[0])[:, None]).any()
    assert (graph.distances[:5] == 0).all()


def test_the_search_gives_the_same_graph_on_any_number_of_threads():
    matrix = np.random.default_rng(3).normal(size=(800, 6))
    one = projections.neighbour_graph(matrix, 10, seed=0, threads=1)
    three = projections.neighbour_graph(matrix, 10, seed=0, threads=3)
    np.testing.assert_array_equal(one.indices, three.indices)
    np.testing.assert_array_equal(one.distances, three.distances)
    np.testing.assert_array_equal(one.indices, exact_neighbours(matrix, 10))


@pytest.fixture(scope="module")
def large():
    """A table larger than its fit_rows: 6,000 rows in four clusters, 1,500 of them fitted."""
    rng = np.random.default_rng(12)
    centres = rng.normal(scale=8, size=(4, 8))
    matrix = np.vstack([centre + rng.normal(size=(1500, 8)) for centre in centres]).astype(np.float32)
    return matrix, projections.neighbour_graph(matrix, 30, seed=4, fit_rows=1500, placement_neighbors=15)


def test_a_larger_table_is_searched_on_a_fixed_subsample_and_its_other_rows_among_it(large, tmp_path):
    matrix, graph = large
    assert graph.subsampled and graph.fitted_rows.size == 1500
    assert (np.diff(graph.fitted_rows) > 0).all()
    again = projections.neighbour_graph(matrix, 30, seed=4, fit_rows=1500)
    np.testing.assert_array_equal(graph.fitted_rows, again.fitted_rows)
    fitted = graph.fitted(matrix)
    check_graph_shape_order_and_distances(fitted, graph, 30)
    np.testing.assert_array_equal(graph.indices, exact_neighbours(fitted, 30))
    others = graph.other_rows(matrix.shape[0])
    assert others.size == 4500 and not np.isin(others, graph.fitted_rows).any()
    assert graph.placement_indices.shape == (4500, 15)
    to_fitted = np.linalg.norm(matrix[others][:, None, :] - fitted[None, :, :], axis=2)
    np.testing.assert_array_equal(graph.placement_indices, np.argsort(to_fitted, axis=1, kind="stable")[:, :15])
    path = tmp_path / "graph.npz"
    graph.save(path, "f" * 64)
    loaded = projections.NeighbourGraph.load(path)
    for name in ("indices", "distances", "fitted_rows", "placement_indices", "placement_distances"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(graph, name))
    assert loaded.nearest(10).fitted_rows is loaded.fitted_rows


def test_an_embedding_of_the_fitted_rows_is_completed_in_table_order(large):
    matrix, graph = large
    fitted_embedding = graph.fitted(matrix)[:, :2].copy()
    whole = graph.whole(fitted_embedding, graph.placed_by_median(fitted_embedding))
    assert whole.shape == (6000, 2)
    np.testing.assert_array_equal(whole[graph.fitted_rows], fitted_embedding)
    others = graph.other_rows(6000)
    # A placed row sits at its nearest fitted rows' median: near its own coordinates here.
    assert np.median(np.abs(whole[others] - matrix[others, :2])) < 1.0


def test_umap_transform_starts_rows_where_umap_learns_own_initialisation_does(large):
    """weighted_mean_of_neighbours is init_graph_transform without its loop, on transform()'s bipartite
    graph: a row at zero distance from a fitted row takes that row's place, a row without neighbours NaN."""
    import scipy.sparse
    from umap.umap_ import compute_membership_strengths, init_graph_transform, smooth_knn_dist

    matrix, graph = large
    others = graph.other_rows(matrix.shape[0])
    duplicate = matrix.copy()
    duplicate[others[0]] = matrix[graph.fitted_rows[7]]
    graph = projections.neighbour_graph(duplicate, 30, seed=4, fit_rows=1500, placement_neighbors=15)
    fitted_embedding = np.random.default_rng(3).normal(size=(1500, 2)).astype(np.float32)
    distances, indices = graph.placement_distances, graph.placement_indices
    sigmas, rhos = smooth_knn_dist(distances, 15.0, local_connectivity=0.0)
    rows, cols, strengths, _ = compute_membership_strengths(indices, distances, sigmas, rhos, bipartite=True)
    strengths[rows == 1] = 0  # a row left with no neighbours
    bipartite = scipy.sparse.coo_matrix((strengths, (rows, cols)), shape=(len(others), 1500)).tocsr()
    bipartite.eliminate_zeros()
    placed = weighted_mean_of_neighbours(bipartite, fitted_embedding)
    np.testing.assert_allclose(placed, init_graph_transform(bipartite, fitted_embedding), atol=1e-5)
    np.testing.assert_array_equal(placed[0], fitted_embedding[7])
    assert np.isnan(placed[1]).all()


@pytest.mark.parametrize("name", [name for name, method in REGISTRY.items() if method.uses_graph])
def test_fitting_a_subsample_and_placing_the_rest_keeps_the_quality_of_a_full_fit(large, name):
    """The large-table path, at a size a unit test affords: trustworthiness within 0.01 of a fit of
    every row, on a fixed subsample of rows that are mostly placed ones; reproducible per seed."""
    matrix, subsampled = large
    full = projections.neighbour_graph(matrix, 30, seed=4)
    method = REGISTRY[name]
    settings = {**default_settings(method), **({"perplexity": 10} if name == "tsne" else {})}

    def fit(graph, seed):
        needed = method.prepared_settings(settings)
        prepared = None if needed is None else method.prepare(graph, threads=1, **needed)
        return method.fit(matrix, seed, graph=graph, prepared=prepared, threads=1, **settings)

    placed = fit(subsampled, 7)
    assert placed.shape == (6000, 2) and placed.dtype == np.float32 and np.isfinite(placed).all()
    np.testing.assert_array_equal(placed, fit(subsampled, 7))
    neighbourhoods = metrics.FeatureNeighbourhoods(matrix, n_neighbors=10, max_rows=600)
    assert neighbourhoods.trustworthiness(placed) == pytest.approx(neighbourhoods.trustworthiness(fit(full, 7)), abs=0.01)


def test_graph_round_trips(graph, tmp_path):
    path = tmp_path / "graph.npz"
    graph.save(path, "f" * 64)
    loaded = projections.NeighbourGraph.load(path)
    np.testing.assert_array_equal(loaded.indices, graph.indices)
    np.testing.assert_array_equal(loaded.distances, graph.distances)
    assert not list(tmp_path.glob("*.partial*"))


def test_nearest_refuses_more_neighbours_than_the_graph_holds(graph):
    assert graph.nearest(10).indices.shape[1] == 10
    with pytest.raises(ValueError, match="holds 30 neighbours"):
        graph.nearest(31)


def test_affinities_from_the_graph_equal_opentsne_searching_itself(clustered):
    """Sharing the graph changes nothing for t-SNE: the same search gives the same affinities."""
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import Sklearn

    perplexity = 10
    shared_graph, own_index = projections.neighbour_graph(clustered, 30, seed=3), Sklearn(clustered, 30)
    shared = tsne.affinities(shared_graph, perplexity=perplexity, threads=1)
    own = PerplexityBasedNN(perplexity=perplexity, knn_index=own_index, n_jobs=1).P
    assert abs(shared - own).max() == pytest.approx(0, abs=1e-7)


def test_umap_on_the_shared_graph_is_reproducible_and_as_trustworthy(clustered, graph):
    first = fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph)
    np.testing.assert_array_equal(first, fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1, graph=graph))
    assert not np.array_equal(first, fit_umap(clustered, 8, n_neighbors=15, min_dist=0.1, graph=graph))
    own_search = fit_umap(clustered, 7, n_neighbors=15, min_dist=0.1)
    neighbourhoods = metrics.FeatureNeighbourhoods(clustered, n_neighbors=10, max_rows=clustered.shape[0])
    shared_score = neighbourhoods.trustworthiness(first)
    assert shared_score > 0.95
    assert shared_score == pytest.approx(neighbourhoods.trustworthiness(own_search), abs=0.01)


def test_pca_equals_scikit_learn_including_the_sign_of_each_component(clustered):
    from sklearn.decomposition import PCA

    for matrix in (clustered, np.random.default_rng(9).normal(size=(300, 5)) * [5, 3, 2, 1, 0.5]):
        expected = PCA(n_components=2, svd_solver="full").fit_transform(matrix.astype(np.float64))
        np.testing.assert_allclose(fit_pca(matrix, 0), expected, rtol=1e-4, atol=1e-4)


def test_numba_cache_is_per_user_unless_numba_cache_dir_names_one(tmp_path):
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    projections.use_per_user_numba_cache(environ)
    assert environ["NUMBA_CACHE_DIR"] == str(tmp_path / "dimred-flow" / "numba")
    chosen = {"NUMBA_CACHE_DIR": "/elsewhere", "XDG_CACHE_HOME": str(tmp_path)}
    projections.use_per_user_numba_cache(chosen)
    assert chosen["NUMBA_CACHE_DIR"] == "/elsewhere"


def test_umap_places_a_large_table_in_parts_of_bounded_size_with_the_same_quality(large, monkeypatch):
    """Above PLACEMENT_CHUNK_ROWS rows (a million) transform places the rows in near-equal parts, so its
    memory stays that of a million rows at ten million: five parts here, as trustworthy as one."""
    from dimred_flow.methods import umap as umap_method

    matrix, graph = large
    assert [part.stop - part.start for part in umap_method.near_equal_parts(4500, 1000)] == [900] * 5
    settings = default_settings(REGISTRY["umap"])
    whole = REGISTRY["umap"].fit(matrix, 7, graph=graph, prepared=None, threads=1, **settings)
    monkeypatch.setattr(umap_method, "PLACEMENT_CHUNK_ROWS", 1000)
    parts = REGISTRY["umap"].fit(matrix, 7, graph=graph, prepared=None, threads=1, **settings)
    np.testing.assert_array_equal(parts[graph.fitted_rows], whole[graph.fitted_rows])
    assert np.isfinite(parts).all() and not np.array_equal(parts, whole)
    neighbourhoods = metrics.FeatureNeighbourhoods(matrix, n_neighbors=10, max_rows=600)
    assert neighbourhoods.trustworthiness(parts) == pytest.approx(neighbourhoods.trustworthiness(whole), abs=0.01)

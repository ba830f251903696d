"""Unit tests of the seed-stability metrics on real (synthetic) data, no mocks."""

import numpy as np
import pytest

from dimred_flow import metrics
from dimred_flow.features import subsample


@pytest.fixture
def clustered():
    """Three well separated 6-D clusters: a faithful 2-D map keeps each point's neighbours."""
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=10, size=(3, 6))
    return np.vstack([centre + rng.normal(size=(60, 6)) for centre in centres])


def test_identical_embeddings_have_zero_disparity(clustered):
    embedding = clustered[:, :2].astype(np.float32)
    assert metrics.procrustes_disparity(embedding, embedding.copy()) == pytest.approx(0, abs=1e-12)


def test_rotated_scaled_embedding_has_zero_disparity_but_a_shuffled_one_does_not(clustered):
    embedding = clustered[:, :2]
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert metrics.procrustes_disparity(embedding, 3 * embedding @ rotation + 5) == pytest.approx(0, abs=1e-10)
    shuffled = np.random.default_rng(1).permutation(embedding)
    assert metrics.procrustes_disparity(embedding, shuffled) > 0.5


def neighbourhoods_of(features, n_neighbors=10, max_rows=2000):
    return metrics.FeatureNeighbourhoods(features, n_neighbors=n_neighbors, max_rows=max_rows)


def test_features_are_perfectly_trustworthy_and_preserve_neighbours(clustered):
    neighbourhoods = neighbourhoods_of(clustered)
    assert neighbourhoods.trustworthiness(clustered) == pytest.approx(1.0)
    assert neighbourhoods.knn_preservation(clustered) == pytest.approx(1.0)


def test_random_embedding_scores_low(clustered):
    random_map = np.random.default_rng(3).normal(size=(clustered.shape[0], 2))
    assert neighbourhoods_of(clustered).trustworthiness(random_map) < 0.65
    assert neighbourhoods_of(clustered).knn_preservation(random_map) < 0.15


@pytest.mark.parametrize("n_neighbors", [1, 5, 12])
def test_scores_equal_sklearn_and_a_brute_force_neighbour_overlap(clustered, n_neighbors):
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    features = clustered + np.random.default_rng(4).normal(scale=3, size=clustered.shape)
    embedding = features[:, :2] + np.random.default_rng(5).normal(size=(features.shape[0], 2))
    neighbourhoods = neighbourhoods_of(features, n_neighbors)
    expected = trustworthiness(features, embedding, n_neighbors=n_neighbors)
    assert neighbourhoods.trustworthiness(embedding) == pytest.approx(expected, abs=1e-12)

    def nearest(points):
        return NearestNeighbors(n_neighbors=n_neighbors).fit(points).kneighbors(return_distance=False)

    overlap = np.mean([len(set(a) & set(b)) for a, b in zip(nearest(features), nearest(embedding))]) / n_neighbors
    assert neighbourhoods.knn_preservation(embedding) == pytest.approx(overlap, abs=1e-12)


def test_scores_on_a_subsample_use_only_its_rows(clustered):
    neighbourhoods = neighbourhoods_of(clustered, max_rows=50)
    rows = subsample(clustered.shape[0], 50)
    embedding = np.random.default_rng(6).normal(size=(clustered.shape[0], 2))
    on_the_sample = neighbourhoods_of(clustered[rows])
    assert neighbourhoods.trustworthiness(embedding) == on_the_sample.trustworthiness(embedding[rows])
    assert neighbourhoods.knn_preservation(embedding) == on_the_sample.knn_preservation(embedding[rows])


def test_method_stability_of_a_seed_invariant_method(clustered):
    embedding = clustered[:, :2]
    result = metrics.method_stability(
        neighbourhoods_of(clustered, max_rows=100), {1: embedding, 2: embedding, 3: embedding}, {1: 11, 2: 22, 3: 33}
    )
    assert result["rows_evaluated"] == 100
    assert [p["iterations"] for p in result["procrustes"]] == [[1, 2], [1, 3], [2, 3]]
    assert result["summary"]["procrustes_disparity"] == {"mean": 0.0, "min": 0.0, "max": 0.0}
    assert [r["seed"] for r in result["per_iteration"]] == [11, 22, 33]
    assert 0.8 < result["summary"]["trustworthiness"]["mean"] <= 1.0


def test_one_seed_has_no_disparity_and_small_tables_get_a_smaller_k():
    points = np.random.default_rng(0).normal(size=(9, 3))
    result = metrics.method_stability(neighbourhoods_of(points), {1: points[:, :2]}, {1: 5})
    assert result["n_neighbors"] == 4
    assert result["procrustes"] == [] and result["summary"]["procrustes_disparity"] is None


def test_mismatched_rows_are_a_user_error(clustered):
    with pytest.raises(metrics.MetricsError, match="rerun the projections"):
        metrics.method_stability(neighbourhoods_of(clustered, 5, 100), {1: clustered[:10, :2]}, {1: 1})

"""Unit tests of the seed-stability metrics on real (synthetic) data, no mocks."""

import numpy as np
import pytest

from dimred_flow import metrics


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


def test_features_are_perfectly_trustworthy_and_preserve_neighbours(clustered):
    assert metrics.trustworthiness(clustered, clustered, 10) == pytest.approx(1.0)
    assert metrics.knn_preservation(clustered, clustered, 10) == pytest.approx(1.0)


def test_random_embedding_scores_low(clustered):
    random_map = np.random.default_rng(3).normal(size=(clustered.shape[0], 2))
    assert metrics.trustworthiness(clustered, random_map, 10) < 0.65
    assert metrics.knn_preservation(clustered, random_map, 10) < 0.15


def test_subsample_is_fixed_and_seed_independent():
    first = metrics.subsample(10_000, 2000)
    assert first.size == 2000 and np.array_equal(first, metrics.subsample(10_000, 2000))
    assert first[0] == 0 and first[-1] == 9_999 and np.all(np.diff(first) > 0)
    assert np.array_equal(metrics.subsample(500, 2000), np.arange(500))


def test_method_stability_of_a_seed_invariant_method(clustered):
    embedding = clustered[:, :2]
    result = metrics.method_stability(
        clustered, {1: embedding, 2: embedding, 3: embedding}, {1: 11, 2: 22, 3: 33}, n_neighbors=10, max_rows=100
    )
    assert result["rows_evaluated"] == 100
    assert [p["iterations"] for p in result["procrustes"]] == [[1, 2], [1, 3], [2, 3]]
    assert result["summary"]["procrustes_disparity"] == {"mean": 0.0, "min": 0.0, "max": 0.0}
    assert [r["seed"] for r in result["per_iteration"]] == [11, 22, 33]
    assert 0.8 < result["summary"]["trustworthiness"]["mean"] <= 1.0


def test_one_seed_has_no_disparity_and_small_tables_get_a_smaller_k():
    points = np.random.default_rng(0).normal(size=(9, 3))
    result = metrics.method_stability(points, {1: points[:, :2]}, {1: 5}, n_neighbors=10, max_rows=2000)
    assert result["n_neighbors"] == 4
    assert result["procrustes"] == [] and result["summary"]["procrustes_disparity"] is None


def test_mismatched_rows_are_a_user_error(clustered):
    with pytest.raises(metrics.MetricsError, match="rerun the projections"):
        metrics.method_stability(clustered, {1: clustered[:10, :2]}, {1: 1}, n_neighbors=5, max_rows=100)

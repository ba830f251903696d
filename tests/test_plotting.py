"""Unit tests of the plot's outlier-robust view."""

import numpy as np

from dimred_flow.plotting import view_limits


def test_a_compact_cloud_is_shown_whole():
    values = np.random.default_rng(1).normal(size=10_000)
    assert view_limits(values) is None


def test_a_few_extreme_points_do_not_squeeze_the_view():
    values = np.concatenate([np.random.default_rng(2).normal(size=10_000), [5_000.0, -3_000.0, 8_000.0]])
    low, high = view_limits(values)
    assert -6 < low < -2 and 2 < high < 6
    assert ((values < low) | (values > high)).sum() < 0.01 * values.size


def test_degenerate_columns_are_shown_whole():
    assert view_limits(np.zeros(100)) is None
    assert view_limits(np.array([np.nan, np.nan])) is None
    assert view_limits(np.array([1.0, np.inf, 2.0])) is None

"""Unit tests of the plot's outlier-robust view."""

import numpy as np

from dimred_flow.plotting import density_image, view_limits


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


def _mappable(cmap_name, low, high, n=None):
    import matplotlib
    import matplotlib.pyplot as plt

    return matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(low, high), cmap=plt.get_cmap(cmap_name, n))


def test_a_density_pixel_takes_its_points_mean_colour_and_an_opacity_that_grows_with_their_count():
    embedding = np.array([[0.1, 0.1]] * 9 + [[0.9, 0.9], [0.9, 0.9], [0.5, 0.95]])
    colours = np.array([1.0] * 9 + [0.0, 2.0, np.nan])
    mappable = _mappable("viridis", 0.0, 2.0)
    image = density_image(embedding, colours, extent=(0, 1, 0, 1), mappable=mappable, categorical=False, bins=2)
    # Rows are y, lowest first: (0.1, 0.1) is pixel [0, 0], (0.9, 0.9) pixel [1, 1]; NaN colours are left out.
    np.testing.assert_allclose(image[0, 0, :3], mappable.to_rgba(1.0)[:3])
    np.testing.assert_allclose(image[1, 1, :3], mappable.to_rgba(1.0)[:3])
    assert image[0, 0, 3] == 1.0 and 0.15 < image[1, 1, 3] < 1.0
    assert image[0, 1, 3] == image[1, 0, 3] == 0.0


def test_a_labelled_density_pixel_takes_its_most_frequent_label():
    embedding = np.array([[0.2, 0.2]] * 3 + [[0.2, 0.2]] + [[5.0, 5.0]])
    codes = np.array([2, 2, 2, 0, 1])
    mappable = _mappable("tab10", 0, 2, 3)
    image = density_image(embedding, codes, extent=(0, 1, 0, 1), mappable=mappable, categorical=True, bins=4)
    np.testing.assert_allclose(image[0, 0], (*mappable.to_rgba(2)[:3], 1.0))
    assert (image[..., 3] > 0).sum() == 1  # the point outside the extent is not drawn

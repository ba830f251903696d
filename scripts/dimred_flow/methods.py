"""The projection methods, in the order every plot, table and record shows them."""

METHODS = ("umap", "pca", "tsne")
# The methods whose result depends on the iteration's seed (PCA does not).
STOCHASTIC_METHODS = ("umap", "tsne")

"""dimred-flow: reproducible UMAP / PCA / t-SNE projections of TAP tables, staged through S3."""

# Part of every plot fingerprint: bump it when a change alters what a plot shows,
# so that plots made by an older version are never reused from storage.
__version__ = "0.1.0"

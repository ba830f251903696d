"""dimred-flow: reproducible UMAP / PCA / t-SNE (and more) projections of TAP tables, staged through S3."""

# The workflow's release version, declared only here: the git tag is v<version>, and the crate,
# pyproject.toml, the image tag and label (containers/Dockerfile), the schema's default image
# and the README repeat it (tests/test_version.py checks that they agree; README: "Releasing").
# Part of every plot fingerprint too: plots made by an older release are never reused from storage.
__version__ = "0.1.0"

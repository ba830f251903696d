import os

pytest_plugins = ["dachs_fixture", "s3_fixture", "webdav_fixture", "reproducibility_checks"]

# The dev venv holds the HTCondor executor (requirements-dev.txt), which every snakemake the tests start
# loads; its bindings warn without a pool's config. /dev/null is the bindings' own stand-in.
os.environ.setdefault("CONDOR_CONFIG", "/dev/null")

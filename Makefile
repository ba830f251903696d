# The two commands of the README: `make run` and `make test`.
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# The venv holds the HTCondor executor for the tests (requirements-dev.txt); outside a pool its bindings
# would warn at every snakemake start. A pool's own CONDOR_CONFIG, when set, wins.
export CONDOR_CONFIG ?= /dev/null

.PHONY: run test install servers crate-zip

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt profiles/htcondor/requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The main job on the embedded default: the shipped Gaia snapshot and a local object store (storage/).
run: install
	snakemake --cores 4

# DaCHS (TAP), Slurm, podman with the workflow's image, STILTS and Chromium need root and Debian's packages;
# without them their tests are skipped (and fail under CI=true, where they must run).
servers:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		bash tests/servers/dachs/provision.sh && bash tests/servers/slurm/provision.sh \
			&& bash tests/servers/podman/provision.sh && bash tests/servers/stilts/provision.sh \
			&& bash tests/servers/chromium/provision.sh; \
	else \
		echo "Not root: skipping DaCHS, Slurm, podman, STILTS and Chromium provisioning; their tests will be skipped."; \
	fi

test: install servers
	python -m pytest -ra --durations=20

# A finished run's crate and the files it describes as one zip, for WorkflowHub or Zenodo (README: "Publishing a run").
crate-zip: install
	python scripts/pack_run_crate.py --crate results/ro-crate-metadata.json --out dimred-flow-run.zip

import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from dimred_flow.config import (  # noqa: E402
    ConfigError,
    batch_of,
    batches_for,
    iteration_seeds,
    plot_fingerprint,
    validate_config,
)

try:
    config.update(validate_config(config))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

SCRIPTS = str(Path(workflow.basedir) / "scripts")
ENVS = str(Path(workflow.basedir) / "envs")
USER_FOLDER = str(config["user_folder"])
N_TEST = int(config["n_test"])
ITERATIONS = list(range(1, N_TEST + 1))
SEEDS = iteration_seeds(config)
FINGERPRINTS = {i: plot_fingerprint(config, i) for i in ITERATIONS}
STAGING = f"results/staging/{USER_FOLDER}"
STORAGE = config["storage"]
TSNE = config["methods"]["tsne"]
CONTAINER = config["container_image"]


wildcard_constraints:
    first=r"\d+",
    last=r"\d+",
    iteration=r"\d+",


def storage_args():
    """Command-line flags naming the storage; credentials are read by the job from its environment."""
    args = f"--storage {shlex.quote(STORAGE['url'])} --user-folder {USER_FOLDER}"
    if STORAGE["endpoint_url"]:
        args += f" --endpoint-url {shlex.quote(STORAGE['endpoint_url'])}"
    return args


def source_table():
    return "results/data/tap_table.parquet" if config["source"]["kind"] == "tap" else "results/data/file_table.parquet"


def source_file():
    """A relative source path is looked up in the working directory, then in the repository."""
    path = Path(config["source"]["path"])
    if path.is_absolute() or path.exists():
        return str(path)
    return str(Path(workflow.basedir) / path)


def batch_dir(method, iteration):
    first, last = batch_of(config, method, iteration)
    return f"results/embeddings/{method}/iterations_{first}-{last}"


def batch_args(wildcards):
    """Iterations and seeds of one batch, as command-line arguments."""
    iterations = range(int(wildcards.first), int(wildcards.last) + 1)
    return {
        "iterations": " ".join(str(i) for i in iterations),
        "seeds": " ".join(str(SEEDS[i]) for i in iterations),
    }


def all_batch_dirs(method):
    return [f"results/embeddings/{method}/iterations_{first}-{last}" for first, last in batches_for(config, method)]


def stored_iterations():
    """Iterations whose plots the storage already holds (known once list_stored_plots has run)."""
    with open(checkpoints.list_stored_plots.get().output.inventory) as handle:
        return {int(i) for i in json.load(handle)["stored"]}


def staged_plots(wildcards):
    """The plot for each iteration: downloaded where storage has it, computed and uploaded otherwise."""
    stored = stored_iterations()
    return [
        f"{STAGING}/{'downloaded' if i in stored else 'uploaded'}/projections_comparison_{i}.png"
        for i in ITERATIONS
    ]


def final_outputs():
    return ["results/merged_plots.pdf"]

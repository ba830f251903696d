import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

# 7.32 is what REANA 0.9 runs; the workflow targets Snakemake 9.
min_version("7.32")

# The rules run this workflow's programs from disk, so a module read from a git ref or over HTTP
# (snakedeploy's github(...)) cannot work: say what to do instead (README: "Use it in your own repository").
if not isinstance(workflow.current_basedir, (str, os.PathLike)):
    raise WorkflowError(
        f"dimred-flow runs its programs from a local copy, not from {workflow.current_basedir}:"
        " clone the repository at the release tag and give the module the clone's Snakefile"
    )


# The default config sits beside this file, so runs in another working directory (-d) find it.
# A module given `config:` skips this line and uses the deploying workflow's config instead.
configfile: str(Path(workflow.current_basedir) / "config" / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# Every job runs in this image under --sdm apptainer and on REANA (config key container_image).
container: CONTAINER


include: "workflow/rules/plan.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/project.smk"
include: "workflow/rules/explore.smk"
include: "workflow/rules/stage.smk"
include: "workflow/rules/report.smk"


# The targets: everything (the default), and the seed's two stages, which can run on two machines.
rule all:
    """Everything: projections, plots in storage, merged PDF, crate, notebook, catalogue (the default target)."""
    input:
        final_outputs,


# The seed's first stage: compute the plots and metrics that storage lacks and upload them.
rule make_projections:
    """The seed's first stage: compute what storage lacks and upload plots and stability metrics."""
    input:
        plots=staged_plots,
        stability=staged_stability,
        catalogue=staged_catalogue,
    localrule: True


# The seed's second stage: fetch the plots and metrics from storage, merge them, and upload
# the run's provenance beside them.
rule combine_plots:
    """The seed's second stage: merge what storage holds into the PDF, crate and notebook."""
    input:
        pdf="results/merged_plots.pdf",
        crate=f"{STAGING}/uploaded/ro-crate-metadata.json",
        staged_pdf=f"{STAGING}/uploaded/merged_plots.pdf",
        catalogue=list(EMBEDDING_CATALOGUE.values()),
        explorer=EXPLORER_PAGE,
    localrule: True


# What the run will reuse, compute and upload, and its estimated cost: printed by plan_run, which
# every run makes first, and kept in results/plan/.
rule plan:
    """Plan the run without running it: what it reuses, computes and uploads, and its cost."""
    input:
        text=PLAN_TEXT,
    localrule: True


# Every job in a venv built from its rule's conda env file (README: "Environments").
ENV_VENVS = os.environ.get("DIMRED_FLOW_VENVS")
if ENV_VENVS:
    use_env_venvs(ENV_VENVS)

# A misspelt rule in reana.rule_backends would leave that rule on the default backend unnoticed.
MISNAMED_RULES = unknown_rules(REANA, {rule.name for rule in workflow.rules})
if MISNAMED_RULES:
    raise WorkflowError(
        f"Invalid configuration: config key 'reana.rule_backends' names no rule of the workflow: {', '.join(MISNAMED_RULES)}"
    )

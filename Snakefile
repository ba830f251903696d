import os
from pathlib import Path

from snakemake.utils import min_version

# 7.32 is what REANA 0.9 runs; the workflow targets Snakemake 9.
min_version("7.32")


# The default config sits beside this file, so runs in another working directory (-d) find it.
configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/project.smk"
include: "workflow/rules/stage.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),


# Every job in a venv built from its rule's conda env file (README: "Per-rule environments").
ENV_VENVS = os.environ.get("DIMRED_FLOW_VENVS")
if ENV_VENVS:
    use_env_venvs(ENV_VENVS)

# The plan: once the storage is listed, and before any job computes, fetches or downloads, the run's
# estimated cost is printed and kept; a run over the config's quota stops here.
checkpoint plan_run:
    """Estimate what the run reuses, computes and uploads, and its cost; stop it over the quota."""
    input:
        inventory=f"{STAGING}/inventory.json",
        stability_inventory=f"{STAGING}/stability_inventory.json",
        catalogue_inventory=f"{STAGING}/catalogue_inventory.json",
        source=planned_source,
    output:
        plan=PLAN_JSON,
        text=PLAN_TEXT,
    log:
        f"logs/plan_run/{short(PLAN.run)}.log",
    # On the submitting node: it is quick, and its lines belong on the user's terminal.
    localrule: True
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **rule_resources("plan_run"),
    params:
        script=SCRIPTS / "plan_run.py",
        config=lambda wildcards: settings_json(scheduled_config()),
        run=PLAN.run,
        cores=local_cores(),
        source=lambda wildcards, input: (
            f"--source {shlex.quote(input.source)}" if input.source else ""
        ),
    shell:
        "python {params.script} --config {params.config:q} --run {params.run}"
        " --inventory {input.inventory} --stability-inventory {input.stability_inventory}"
        " --catalogue-inventory {input.catalogue_inventory}"
        " {params.source} --cores {params.cores} --out {output.plan} --text {output.text} 2> {log}"

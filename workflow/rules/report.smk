rule render_stability_table:
    """Render the seed-stability table as the PDF's last page."""
    input:
        metrics=staged_stability,
    output:
        pdf="results/report/stability_summary.pdf",
        html=report(
            "results/report/stability.html",
            caption="../report/stability.rst",
            category="Seed stability",
        ),
    log:
        "logs/render_stability_table.log",
    benchmark:
        "results/benchmarks/render_stability_table.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("render_stability_table"),
    params:
        script=SCRIPTS / "render_stability_table.py",
    shell:
        "python {params.script} --metrics {input.metrics}"
        " --pdf {output.pdf} --html {output.html} 2> {log}"


rule merge_pdf:
    """Merge the plots and the stability page into results/merged_plots.pdf."""
    input:
        plots=staged_plots,
        stability="results/report/stability_summary.pdf",
    output:
        pdf="results/merged_plots.pdf",
    log:
        "logs/merge_pdf.log",
    benchmark:
        "results/benchmarks/merge_pdf.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("merge_pdf"),
    params:
        script=SCRIPTS / "merge_pdf.py",
        seeds=" ".join(str(SEEDS[i]) for i in ITERATIONS),
        dpi=int(config["plot"]["dpi"]),
    shell:
        "python {params.script} --plots {input.plots} --seeds {params.seeds} --dpi {params.dpi}"
        " --append {input.stability} 'Seed stability' --out {output.pdf} 2> {log}"


# A local rule: the executor, the git commit and the benchmarks are those of the submitting machine.
rule write_run_crate:
    """Write the run's Workflow Run RO-Crate with the workflow's files and a README."""
    input:
        plots=staged_plots,
        plot_records=staged_plot_records,
        pdf="results/merged_plots.pdf",
        stability=staged_stability,
        data=local_data,
        catalogue=list(EMBEDDING_CATALOGUE.values()),
        explorer=EXPLORER_PAGE,
        # Not described, only waited for: the crate records the wall time of every job that has
        # run, so it comes after all of them (its own stage-out aside) and is the same in every run.
        notebook=f"results/{USER_FOLDER}/explore.ipynb",
        report_plots="results/report/plots",
    output:
        crate=report(
            "results/ro-crate-metadata.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        readme="results/README.md",
        workflow=directory("results/workflow"),
    log:
        "logs/write_run_crate.log",
    benchmark:
        "results/benchmarks/write_run_crate.tsv"
    localrule: True
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("write_run_crate"),
    params:
        script=SCRIPTS / "write_run_crate.py",
        config=lambda wc: shlex.quote(json.dumps(config, sort_keys=True)),
        seeds=" ".join(f"{i}={SEEDS[i]}" for i in ITERATIONS),
        outputs=run_crate_outputs,
        snakemake_version=SNAKEMAKE_VERSION,
        repo=REPO,
        executor_file=EXECUTOR_FILE,
    shell:
        "python {params.script} --config-json {params.config} --seeds {params.seeds}"
        " --stability {input.stability} {params.outputs} --plot-records {input.plot_records}"
        " --snakemake-version {params.snakemake_version} --executor-file {params.executor_file}"
        " --repo {params.repo:q} --benchmarks results/benchmarks --out {output.crate} 2> {log}"


rule write_notebook:
    """Write a Jupyter notebook that loads the run's table, embeddings and metrics."""
    input:
        stability=staged_stability,
        plots=staged_plots,
    output:
        notebook=f"results/{USER_FOLDER}/explore.ipynb",
    log:
        "logs/write_notebook.log",
    benchmark:
        "results/benchmarks/write_notebook.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("write_notebook"),
    params:
        script=SCRIPTS / "write_notebook.py",
        table=source_table(),
        features=FEATURES,
        seeds=" ".join(f"{i}={SEEDS[i]}" for i in ITERATIONS),
        # Paths only: the notebook loads the embeddings where this machine computed them.
        embeddings=lambda wildcards: " ".join(
            f"{name}/{i}={batch_dir(name, i)}/iteration_{i}.npy"
            for name in METHODS
            for i in ITERATIONS
        ),
    shell:
        "python {params.script} --table {params.table} --features {params.features}"
        " --stability {input.stability} --plots {input.plots} --seeds {params.seeds}"
        " --embedding {params.embeddings} --out {output.notebook} 2> {log}"


# The staged plot of an iteration comes from upload_plot or download_plot; the report takes
# them from this one rule, whatever their origin.
rule collect_report_plots:
    """Collect the plots for the Snakemake report."""
    input:
        plots=staged_plots,
    output:
        plots=report(
            directory("results/report/plots"),
            patterns=["projections_comparison_{iteration}.png"],
            caption="../report/plots.rst",
            category="Projections",
        ),
    log:
        "logs/collect_report_plots.log",
    benchmark:
        "results/benchmarks/collect_report_plots.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("collect_report_plots"),
    params:
        script=SCRIPTS / "collect_files.py",
    shell:
        "python {params.script} --files {input.plots} --out-dir {output.plots} 2> {log}"

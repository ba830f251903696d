# Seed-stability metrics: computed where the embeddings are, staged beside the plots, and
# downloaded (never recomputed) by a run whose plots and metrics are already in storage.
rule compute_stability_metrics:
    input:
        features="results/data/features.npz",
        provenance=source_table().replace(".parquet", ".json"),
        umap=all_batch_dirs("umap"),
        pca=all_batch_dirs("pca"),
        tsne=all_batch_dirs("tsne"),
    output:
        metrics="results/metrics/stability.json",
    log:
        "logs/compute_stability_metrics.log",
    benchmark:
        "results/benchmarks/compute_stability_metrics.tsv"
    # Ready with the last plots, but its chain to the PDF (table page, merge) is the longer one.
    priority: 5
    conda:
        f"{ENVS}/plot.yaml"
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(4000),
        runtime=30,
    params:
        script=SCRIPTS / "compute_stability_metrics.py",
        iterations=" ".join(str(i) for i in ITERATIONS),
        seeds=" ".join(str(SEEDS[i]) for i in ITERATIONS),
        n_neighbors=STABILITY["n_neighbors"],
        max_rows=STABILITY["max_rows"],
        fingerprint=STABILITY_FINGERPRINT,
    shell:
        "python {params.script} --features {input.features}"
        " --umap {input.umap} --pca {input.pca} --tsne {input.tsne}"
        " --iterations {params.iterations} --seeds {params.seeds}"
        " --n-neighbors {params.n_neighbors} --max-rows {params.max_rows}"
        " --fingerprint {params.fingerprint} --source-provenance {input.provenance}"
        " --out {output.metrics} 2> {log}"


checkpoint list_stored_stability:
    input:
        # After the storage check of list_stored_plots, which fails fast with the clearer message.
        inventory=f"{STAGING}/inventory.json",
    output:
        inventory=f"{STAGING}/stability_inventory.json",
    log:
        f"logs/list_stored_stability/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/list_stored_stability/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(1000),
        runtime=10,
    params:
        script=SCRIPTS / "list_stored_stability.py",
        storage=storage_args(),
        fingerprint=STABILITY_FINGERPRINT,
    shell:
        "python {params.script} {params.storage}"
        " --fingerprint {params.fingerprint} --out {output.inventory} 2> {log}"


rule download_stability_metrics:
    input:
        inventory=f"{STAGING}/stability_inventory.json",
    output:
        metrics=f"{STAGING}/downloaded/stability.json",
    log:
        f"logs/download_stability_metrics/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/download_stability_metrics/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(1000),
        runtime=10,
    params:
        script=SCRIPTS / "download_stability_metrics.py",
        storage=storage_args(),
    shell:
        "python {params.script} {params.storage}"
        " --inventory {input.inventory} --out {output.metrics} 2> {log}"


rule upload_report_file:
    input:
        file=lambda wc: RUN_FILES[wc.name],
        # The PDF goes up after the crate is written: the crate's rule wall times then never
        # depend on whether this upload happened to finish first.
        after=lambda wc: (
            ["results/ro-crate-metadata.json"] if wc.name == "merged_plots.pdf" else []
        ),
    output:
        staged=f"{STAGING}/uploaded/{{name}}",
    log:
        f"logs/upload_report_file/{USER_FOLDER}/{{name}}.log",
    benchmark:
        f"results/benchmarks/upload_report_file/{USER_FOLDER}/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(name.replace(".", r"\.") for name in RUN_FILES),
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(1000),
        runtime=10,
    params:
        script=SCRIPTS / "upload_report_file.py",
        storage=storage_args(),
    shell:
        "python {params.script} {params.storage}"
        " --file {input.file} --staged-copy {output.staged} 2> {log}"


rule render_stability_table:
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
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(2000),
        runtime=10,
    params:
        script=SCRIPTS / "render_stability_table.py",
        tsne_implementation=TSNE["implementation"],
    shell:
        "python {params.script} --metrics {input.metrics}"
        " --tsne-implementation {params.tsne_implementation}"
        " --pdf {output.pdf} --html {output.html} 2> {log}"


rule merge_pdf:
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
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(2000),
        runtime=10,
    params:
        script=SCRIPTS / "merge_pdf.py",
        seeds=" ".join(str(SEEDS[i]) for i in ITERATIONS),
    shell:
        "python {params.script} --plots {input.plots} --seeds {params.seeds}"
        " --append {input.stability} 'Seed stability' --out {output.pdf} 2> {log}"


# A local rule: the executor, the git commit and the benchmarks are those of the submitting machine.
rule write_run_crate:
    input:
        plots=staged_plots,
        pdf="results/merged_plots.pdf",
        stability=staged_stability,
        data=local_data,
    output:
        crate=report(
            "results/ro-crate-metadata.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/write_run_crate.log",
    benchmark:
        "results/benchmarks/write_run_crate.tsv"
    localrule: True
    conda:
        f"{ENVS}/plot.yaml"
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(1000),
        runtime=10,
    params:
        script=SCRIPTS / "write_run_crate.py",
        config=lambda wc: shlex.quote(json.dumps(config, sort_keys=True)),
        seeds=" ".join(f"{i}={SEEDS[i]}" for i in ITERATIONS),
        outputs=run_crate_outputs,
        snakemake_version=SNAKEMAKE_VERSION,
        repo=Path(workflow.basedir),
        executor_file=EXECUTOR_FILE,
    shell:
        "python {params.script} --config-json {params.config} --seeds {params.seeds}"
        " --stability {input.stability} {params.outputs}"
        " --snakemake-version {params.snakemake_version} --executor-file {params.executor_file}"
        " --repo {params.repo:q} --benchmarks results/benchmarks --out {output.crate} 2> {log}"


rule write_notebook:
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
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(1000),
        runtime=10,
    params:
        script=SCRIPTS / "write_notebook.py",
        table=source_table(),
        seeds=" ".join(f"{i}={SEEDS[i]}" for i in ITERATIONS),
        # Paths only: the notebook loads the embeddings where this machine computed them.
        embeddings=" ".join(
            f"{method}/{i}={batch_dir(method, i)}/iteration_{i}.npy"
            for method in ("umap", "pca", "tsne")
            for i in ITERATIONS
        ),
    shell:
        "python {params.script} --table {params.table} --features results/data/features.npz"
        " --stability {input.stability} --plots {input.plots} --seeds {params.seeds}"
        " --embedding {params.embeddings} --out {output.notebook} 2> {log}"


# The staged plot of an iteration comes from upload_plot or download_plot; the report takes
# them from this one rule, whatever their origin.
rule collect_report_plots:
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
    container:
        CONTAINER
    threads: 1
    resources:
        **memory(500),
        runtime=5,
    params:
        script=SCRIPTS / "collect_report_plots.py",
    shell:
        "python {params.script} --plots {input.plots} --out-dir {output.plots} 2> {log}"


# The seed's second stage: fetch the plots and metrics from storage, merge them, and upload
# the run's provenance beside them.
rule combine_plots:
    input:
        pdf="results/merged_plots.pdf",
        crate=f"{STAGING}/uploaded/ro-crate-metadata.json",
        staged_pdf=f"{STAGING}/uploaded/merged_plots.pdf",
    localrule: True

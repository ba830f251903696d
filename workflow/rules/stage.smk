# Stage in: copy a source.path on S3 or WebDAV to a local file once, verified (requested only
# for such a source). Its remote size and ETag are a param: a changed remote table is copied again.
rule stage_in_table:
    """Copy a table from S3 or WebDAV (source.path) and verify its checksum."""
    output:
        table=STAGED_SOURCE,
        record=STAGED_SOURCE_RECORD,
    log:
        "logs/stage_in_table.log",
    benchmark:
        "results/benchmarks/stage_in_table.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("stage_in_table"),
    params:
        script=SCRIPTS / "stage_in_table.py",
        url=shlex.quote(SOURCE_URL or ""),
        endpoint=(
            f"--endpoint-url {shlex.quote(SOURCE_ENDPOINT)}" if SOURCE_ENDPOINT else ""
        ),
        remote_state=json.dumps(SOURCE_STATE, sort_keys=True),
    shell:
        "python {params.script} --url {params.url} {params.endpoint}"
        " --out {output.table} --record {output.record} 2> {log}"


checkpoint list_stored_plots:
    """Check the storage (it must be reachable and writable) and list the plots it already holds."""
    output:
        inventory=f"{STAGING}/inventory.json",
    log:
        f"logs/list_stored_plots/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/list_stored_plots/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("list_stored_plots"),
    params:
        script=SCRIPTS / "list_stored_plots.py",
        storage=storage_args(),
        create_bucket="--create-bucket" if STORAGE["create_bucket"] else "",
        fingerprints=" ".join(f"{i}={FINGERPRINTS[i]}" for i in ITERATIONS),
    shell:
        "python {params.script} {params.storage} {params.create_bucket}"
        " --fingerprints {params.fingerprints} --out {output.inventory} 2> {log}"


rule upload_plot:
    """Upload one plot under its checksum and its record under its fingerprint; verify both."""
    input:
        plot=lambda wc: plot_file(int(wc.iteration), "png"),
        record=lambda wc: plot_file(int(wc.iteration), "json"),
    output:
        plot=f"{STAGING}/uploaded/projections_comparison_{{iteration}}.png",
        receipt=f"{STAGING}/uploaded/projections_comparison_{{iteration}}.json",
    log:
        f"logs/upload_plot/{USER_FOLDER}/iteration_{{iteration}}.log",
    benchmark:
        f"results/benchmarks/upload_plot/{USER_FOLDER}/iteration_{{iteration}}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("upload_plot"),
    params:
        script=SCRIPTS / "upload_plot.py",
        storage=storage_args(),
        fingerprint=lambda wc: FINGERPRINTS[int(wc.iteration)],
    shell:
        "python {params.script} {params.storage} --fingerprint {params.fingerprint}"
        " --plot {input.plot} --record {input.record}"
        " --staged-copy {output.plot} --receipt {output.receipt} 2> {log}"


rule download_plot:
    """Download one stored plot and verify it against its record."""
    input:
        inventory=f"{STAGING}/inventory.json",
    output:
        plot=f"{STAGING}/downloaded/projections_comparison_{{iteration}}.png",
        record=f"{STAGING}/downloaded/projections_comparison_{{iteration}}.json",
    log:
        f"logs/download_plot/{USER_FOLDER}/iteration_{{iteration}}.log",
    benchmark:
        f"results/benchmarks/download_plot/{USER_FOLDER}/iteration_{{iteration}}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("download_plot"),
    params:
        script=SCRIPTS / "download_plot.py",
        storage=storage_args(),
    shell:
        "python {params.script} {params.storage}"
        " --iteration {wildcards.iteration} --inventory {input.inventory} --out {output.plot}"
        " --record {output.record} 2> {log}"


checkpoint list_stored_stability:
    """Find the stability metrics of exactly these embeddings in storage."""
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
    threads: 1
    resources:
        **rule_resources("list_stored_stability"),
    params:
        script=SCRIPTS / "list_stored_stability.py",
        storage=storage_args(),
        fingerprint=PLAN.stability,
    shell:
        "python {params.script} {params.storage}"
        " --fingerprint {params.fingerprint} --out {output.inventory} 2> {log}"


rule download_stability_metrics:
    """Download the stored stability metrics and verify their checksum."""
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
    threads: 1
    resources:
        **rule_resources("download_stability_metrics"),
    params:
        script=SCRIPTS / "download_stability_metrics.py",
        storage=storage_args(),
    shell:
        "python {params.script} {params.storage}"
        " --inventory {input.inventory} --out {output.metrics} 2> {log}"


rule upload_report_file:
    """Upload the stability metrics, the crate or the PDF to storage and verify them."""
    input:
        file=lambda wc: RUN_FILES[wc.name][0],
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
    threads: 1
    resources:
        **rule_resources("upload_report_file"),
    params:
        script=SCRIPTS / "upload_report_file.py",
        storage=storage_args(),
        name=lambda wc: RUN_FILES[wc.name][1],
    shell:
        "python {params.script} {params.storage} --name {params.name}"
        " --file {input.file} --staged-copy {output.staged} 2> {log}"


checkpoint list_stored_catalogue:
    """Find the embedding catalogue of exactly these embeddings in storage."""
    input:
        # After the storage check of list_stored_plots, which fails fast with the clearer message.
        inventory=f"{STAGING}/inventory.json",
    output:
        inventory=f"{STAGING}/catalogue_inventory.json",
    log:
        f"logs/list_stored_catalogue/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/list_stored_catalogue/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("list_stored_catalogue"),
    params:
        script=SCRIPTS / "list_stored_result.py",
        storage=storage_args(),
        kind=CATALOGUE_KIND,
        fingerprint=PLAN.catalogue,
    shell:
        "python {params.script} {params.storage} --kind {params.kind}"
        " --fingerprint {params.fingerprint} --out {output.inventory} 2> {log}"


rule upload_embedding_catalogue:
    """Upload the catalogue's files under their checksums and its record under its fingerprint; verify them."""
    input:
        **COMPUTED_CATALOGUE,
    output:
        **staged_catalogue_file("uploaded"),
        receipt=f"{STAGING}/uploaded/embedding_catalogue.json",
    log:
        f"logs/upload_embedding_catalogue/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/upload_embedding_catalogue/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("upload_embedding_catalogue"),
    params:
        script=SCRIPTS / "upload_result.py",
        storage=storage_args(),
        kind=CATALOGUE_KIND,
        fingerprint=PLAN.catalogue,
    shell:
        "python {params.script} {params.storage} --kind {params.kind} --fingerprint {params.fingerprint}"
        " --files fits={input.fits} votable={input.votable}"
        " --staged-copies fits={output.fits} votable={output.votable} --receipt {output.receipt} 2> {log}"


rule download_embedding_catalogue:
    """Download the stored catalogue's files and verify them against its record."""
    input:
        inventory=f"{STAGING}/catalogue_inventory.json",
    output:
        **staged_catalogue_file("downloaded"),
    log:
        f"logs/download_embedding_catalogue/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/download_embedding_catalogue/{USER_FOLDER}.tsv"
    conda:
        f"{ENVS}/stage.yaml"
    threads: 1
    resources:
        **rule_resources("download_embedding_catalogue"),
    params:
        script=SCRIPTS / "download_result.py",
        storage=storage_args(),
    shell:
        "python {params.script} {params.storage} --inventory {input.inventory}"
        " --out fits={output.fits} votable={output.votable} 2> {log}"

rule import_table:
    """Read the configured table file (CSV, FITS, VOTable, Parquet) into Parquet with its provenance."""
    input:
        source=source_file(),
        origin=[STAGED_SOURCE_RECORD] if SOURCE_URL else [],
    output:
        table="results/data/file_table.parquet",
        provenance="results/data/file_table.json",
    log:
        "logs/import_table.log",
    benchmark:
        "results/benchmarks/import_table.tsv"
    conda:
        f"{ENVS}/fetch.yaml"
    threads: 1
    resources:
        **rule_resources("import_table"),
    params:
        script=SCRIPTS / "import_table.py",
        origin=f"--origin {STAGED_SOURCE_RECORD}" if SOURCE_URL else "",
    shell:
        "python {params.script} --source {input.source:q} {params.origin}"
        " --table {output.table} --provenance {output.provenance} 2> {log}"


TAP_CHUNKS = tap_chunk_conditions()


# What one TAP query costs depends on how many rows maxrec lets it return (dimred_flow/costs.py).
TAP_FETCH_COST = tap_fetch_cost(
    config["source"]["tap"]["maxrec"], float(config["source"]["tap"]["timeout"])
)


# Every TAP setting, the query first, is a param: Snakemake fetches again when one
# changes, and never because a config file was touched.
rule fetch_tap_table:
    """Run the configured ADQL query on the TAP service (async, with retries) into Parquet."""
    output:
        table="results/data/tap_table.parquet",
        provenance="results/data/tap_table.json",
    log:
        "logs/fetch_tap_table.log",
    benchmark:
        "results/benchmarks/fetch_tap_table.tsv"
    conda:
        f"{ENVS}/fetch.yaml"
    threads: 1
    resources:
        **job_resources(TAP_FETCH_COST, "fetch_tap_table"),
    params:
        script=SCRIPTS / "fetch_tap_table.py",
        query=tap_query,
        options=tap_options,
    shell:
        "python {params.script} {params.options} --query {params.query:q}"
        " --table {output.table} --provenance {output.provenance} 2> {log}"


rule fetch_tap_chunk:
    """Run one chunk of a chunked TAP query (source.tap.chunks) into Parquet."""
    output:
        table="results/data/tap_chunks/chunk_{k}.parquet",
        provenance="results/data/tap_chunks/chunk_{k}.json",
    log:
        "logs/fetch_tap_chunk/chunk_{k}.log",
    benchmark:
        "results/benchmarks/fetch_tap_chunk/chunk_{k}.tsv"
    wildcard_constraints:
        k=r"[0-9]+",
    conda:
        f"{ENVS}/fetch.yaml"
    threads: 1
    resources:
        **job_resources(TAP_FETCH_COST, "fetch_tap_chunk"),
    params:
        script=SCRIPTS / "fetch_tap_table.py",
        query=tap_query,
        options=tap_options,
        condition=lambda wildcards: TAP_CHUNKS[int(wildcards.k)],
    shell:
        "python {params.script} {params.options} --query {params.query:q}"
        " --chunk-condition {params.condition:q}"
        " --table {output.table} --provenance {output.provenance} 2> {log}"


rule concatenate_tap_chunks:
    """Join the TAP chunks into one table and one provenance record."""
    input:
        tables=expand("results/data/tap_chunks/chunk_{k}.parquet", k=TAP_CHUNKS),
        provenances=expand("results/data/tap_chunks/chunk_{k}.json", k=TAP_CHUNKS),
    output:
        table="results/data/tap_chunked_table.parquet",
        provenance="results/data/tap_chunked_table.json",
    log:
        "logs/concatenate_tap_chunks.log",
    benchmark:
        "results/benchmarks/concatenate_tap_chunks.tsv"
    conda:
        f"{ENVS}/fetch.yaml"
    threads: 1
    resources:
        **rule_resources("concatenate_tap_chunks"),
    params:
        script=SCRIPTS / "concatenate_tap_chunks.py",
    shell:
        "python {params.script} --chunks {input.tables}"
        " --chunk-provenances {input.provenances}"
        " --table {output.table} --provenance {output.provenance} 2> {log}"

rule import_table:
    input:
        source=source_file(),
    output:
        table="results/data/file_table.parquet",
        provenance="results/data/file_table.json",
    log:
        "logs/import_table.log",
    benchmark:
        "results/benchmarks/import_table.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        f"{ENVS}/fetch.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/import_table.py --source {input.source:q}"
        " --table {output.table} --provenance {output.provenance} 2> {log}"


rule prepare_features:
    input:
        table=source_table(),
    output:
        features="results/data/features.npz",
        summary="results/data/features.json",
    params:
        features=" ".join(config["features"]),
        derive=" ".join(config["derive"]),
        label_column=config["label_column"] or "",
        color_by=config["color_by"],
        standardize="--standardize" if config["standardize"] else "--no-standardize",
        max_rows=int(config["max_rows"] or 0),
    log:
        "logs/prepare_features.log",
    benchmark:
        "results/benchmarks/prepare_features.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        f"{ENVS}/reduce.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/prepare_features.py --table {input.table}"
        " --features {params.features} --derive {params.derive}"
        " --label-column {params.label_column:q} --color-by {params.color_by:q}"
        " {params.standardize} --max-rows {params.max_rows}"
        " --out {output.features} --summary {output.summary} 2> {log}"

# What astronomers explore beyond the plots: the run's stars with their coordinates in every
# embedding, as a catalogue TOPCAT opens.


rule write_embedding_catalogue:
    """One row per projected star: identifier, label, raw features and every embedding, as FITS and VOTable."""
    input:
        table=source_table(),
        features=FEATURES,
        embeddings=list(all_batch_dirs().values()),
    output:
        **COMPUTED_CATALOGUE,
    log:
        "logs/write_embedding_catalogue.log",
    benchmark:
        "results/benchmarks/write_embedding_catalogue.tsv"
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **rule_resources("write_embedding_catalogue"),
    params:
        script=SCRIPTS / "write_embedding_catalogue.py",
        embeddings=" ".join(all_batch_dirs()),
        settings=settings_param(catalogue_settings(config, SEEDS)),
        fingerprint=PLAN.catalogue,
    shell:
        "python {params.script} --table {input.table} --features {input.features}"
        " --embeddings {params.embeddings} --settings {params.settings:q} --fingerprint {params.fingerprint}"
        " --fits {output.fits} --votable {output.votable} 2> {log}"


rule collect_embedding_catalogue:
    """Place the catalogue, written here or downloaded, as results/embedding_catalogue.fits and .vot."""
    input:
        staged_catalogue,
    output:
        **EMBEDDING_CATALOGUE,
    log:
        "logs/collect_embedding_catalogue.log",
    benchmark:
        "results/benchmarks/collect_embedding_catalogue.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("collect_embedding_catalogue"),
    params:
        script=SCRIPTS / "collect_files.py",
    shell:
        "python {params.script} --files {input} --out-dir results 2> {log}"

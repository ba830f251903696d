# What astronomers explore beyond the plots: the run's stars with their coordinates in every
# embedding, as a catalogue TOPCAT opens.


rule write_embedding_catalogue:
    """One row per projected star: identifier, label, raw features and every embedding, as FITS and VOTable."""
    input:
        table=source_table(),
        features=FEATURES,
        embeddings=lambda wildcards: list(all_batch_dirs().values()),
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
        embeddings=lambda wildcards: " ".join(all_batch_dirs()),
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


# The catalogue's maps in a browser: the methods side by side, a selection in one lighting up the
# same stars in the others; drawn from the catalogue alone, so it can be rebuilt from a copy of it.
rule write_explorer_page:
    """One self-contained HTML page: every method's map of an iteration, with linked selection."""
    input:
        catalogue=EMBEDDING_CATALOGUE["fits"],
    output:
        page=report(
            EXPLORER_PAGE,
            caption="../report/explorer.rst",
            category="Explorer",
        ),
    log:
        "logs/write_explorer_page.log",
    benchmark:
        "results/benchmarks/write_explorer_page.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **rule_resources("write_explorer_page"),
    params:
        script=SCRIPTS / "write_explorer_page.py",
    shell:
        "python {params.script} --catalogue {input.catalogue} --out {output.page} 2> {log}"

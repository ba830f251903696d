# Memory and time limits grow with each job's input (memory() and runtime() in common.smk): each
# per_input_mb is about twice the slope of the job's peak RSS over its input measured at 1,000,000
# rows (benchmarks/results_archive.json), so a cluster neither kills a large job nor over-books a small one.


rule prepare_features:
    input:
        table=source_table(),
    output:
        features=FEATURES,
        summary=FEATURES_SUMMARY,
    log:
        "logs/prepare_features.log",
    benchmark:
        "results/benchmarks/prepare_features.tsv"
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **memory(4000, per_input_mb=20),
        runtime=runtime(15, per_input_mb=0.1),
    params:
        script=SCRIPTS / "prepare_features.py",
        settings=settings_json(features_settings(config, SOURCE_STATE)),
        fingerprint=PLAN.features,
        # A check, not a setting (no part of the fingerprint): each row's neighbours must be
        # other rows, so one more distinct row than the most neighbours asked for.
        min_distinct_rows=max(
            int(config["methods"]["umap"]["n_neighbors"]),
            int(config["stability"]["n_neighbors"]),
        )
        + 1,
    shell:
        "python {params.script} --table {input.table} --settings {params.settings:q}"
        " --fingerprint {params.fingerprint} --min-distinct-rows {params.min_distinct_rows}"
        " --out {output.features} --summary {output.summary} 2> {log}"


rule compute_neighbour_graph:
    input:
        features=FEATURES,
    output:
        graph=GRAPH,
    log:
        "logs/compute_neighbour_graph.log",
    benchmark:
        "results/benchmarks/compute_neighbour_graph.tsv"
    conda:
        f"{ENVS}/reduce.yaml"
    # Every later projection waits for the graph, so it may take two cores: the KD-tree's
    # queries spread over them.
    threads: 2
    resources:
        **memory(4000, per_input_mb=10),
        runtime=runtime(30, per_input_mb=0.1),
    params:
        script=SCRIPTS / "compute_neighbour_graph.py",
        settings=settings_json(graph_settings(config)),
        fingerprint=PLAN.graph,
    shell:
        "python {params.script} --features {input.features} --settings {params.settings:q}"
        " --fingerprint {params.fingerprint} --threads {threads} --out {output.graph} 2> {log}"


# Only openTSNE takes precomputed affinities.
if AFFINITIES:

    rule compute_tsne_affinities:
        input:
            graph=GRAPH,
        output:
            affinities=AFFINITIES,
        log:
            "logs/compute_tsne_affinities.log",
        benchmark:
            "results/benchmarks/compute_tsne_affinities.tsv"
        # Ahead of UMAP: it opens the longest chain (affinities, then the t-SNE jobs), and UMAP
        # still starts before either t-SNE job.
        priority: 20
        conda:
            f"{ENVS}/reduce.yaml"
        threads: 1
        resources:
            **memory(4000, per_input_mb=5),
            runtime=runtime(30, per_input_mb=0.1),
        params:
            script=SCRIPTS / "compute_tsne_affinities.py",
            settings=settings_json(affinities_settings(config)),
            fingerprint=PLAN.affinities,
        shell:
            "python {params.script} --graph {input.graph} --settings {params.settings:q}"
            " --fingerprint {params.fingerprint} --threads {threads} --out {output.affinities} 2> {log}"


rule project_umap:
    input:
        features=FEATURES,
        graph=GRAPH,
    output:
        embeddings=directory("results/embeddings/umap/{batch}"),
    log:
        "logs/project_umap/{batch}.log",
    benchmark:
        "results/benchmarks/project_umap/{batch}.tsv"
    wildcard_constraints:
        batch="|".join(BATCHES["umap"]),
    # The UMAP job carries numba's compilation (~40 s with a cold cache): started before the
    # t-SNE chain fills the other cores instead of UMAP trailing behind it.
    priority: 10
    conda:
        f"{ENVS}/reduce.yaml"
    # umap-learn runs single-threaded once a random_state is set.
    threads: 1
    resources:
        **memory(4000, per_input_mb=12),
        runtime=runtime(60, per_input_mb=0.1),
    params:
        script=SCRIPTS / "project.py",
        batch=batch_args("umap"),
        settings=settings_json(embedding_settings(config, "umap")),
    shell:
        "python {params.script} umap --settings {params.settings:q}"
        " --features {input.features} --graph {input.graph} --iterations {params.batch[iterations]}"
        " --seeds {params.batch[seeds]} --fingerprints {params.batch[fingerprints]}"
        " --out-dir {output.embeddings} 2> {log}"


rule project_pca:
    input:
        features=FEATURES,
    output:
        embeddings=directory("results/embeddings/pca/{batch}"),
    log:
        "logs/project_pca/{batch}.log",
    benchmark:
        "results/benchmarks/project_pca/{batch}.tsv"
    wildcard_constraints:
        batch="|".join(BATCHES["pca"]),
    # A fraction of a second, needed by every plot: before the graph takes both cores.
    priority: 30
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **memory(2000, per_input_mb=5),
        runtime=runtime(10, per_input_mb=0.02),
    params:
        script=SCRIPTS / "project.py",
        batch=batch_args("pca"),
        settings=settings_json(embedding_settings(config, "pca")),
    shell:
        "python {params.script} pca --settings {params.settings:q}"
        " --features {input.features} --iterations {params.batch[iterations]}"
        " --seeds {params.batch[seeds]} --fingerprints {params.batch[fingerprints]}"
        " --out-dir {output.embeddings} 2> {log}"


rule project_tsne:
    input:
        features=FEATURES,
        graph=GRAPH,
        affinities=AFFINITIES or [],
    output:
        embeddings=directory("results/embeddings/tsne/{batch}"),
    log:
        "logs/project_tsne/{batch}.log",
    benchmark:
        "results/benchmarks/project_tsne/{batch}.tsv"
    wildcard_constraints:
        batch="|".join(BATCHES["tsne"]),
    priority: BATCH_PRIORITY
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **memory(4000, per_input_mb=5),
        runtime=runtime(60, per_input_mb=0.1),
    params:
        script=SCRIPTS / "project.py",
        batch=batch_args("tsne"),
        settings=settings_json(embedding_settings(config, "tsne")),
        affinities=f"--affinities {AFFINITIES}" if AFFINITIES else "",
    shell:
        "python {params.script} tsne --settings {params.settings:q}"
        " --features {input.features} --graph {input.graph} {params.affinities}"
        " --iterations {params.batch[iterations]} --seeds {params.batch[seeds]}"
        " --fingerprints {params.batch[fingerprints]} --threads {threads}"
        " --out-dir {output.embeddings} 2> {log}"


rule plot_projections:
    input:
        features=FEATURES,
        umap=lambda wc: batch_dir("umap", PLOT_ITERATION[wc.plot]),
        pca=lambda wc: batch_dir("pca", PLOT_ITERATION[wc.plot]),
        tsne=lambda wc: batch_dir("tsne", PLOT_ITERATION[wc.plot]),
    output:
        plot="results/plots/{plot}.png",
        record="results/plots/{plot}.json",
    log:
        "logs/plot_projections/{plot}.log",
    benchmark:
        "results/benchmarks/plot_projections/{plot}.tsv"
    wildcard_constraints:
        plot="|".join(PLOT_ITERATION),
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **memory(2000, per_input_mb=5),
        runtime=runtime(10, per_input_mb=0.05),
    params:
        script=SCRIPTS / "plot_projections.py",
        settings=lambda wc: settings_json(
            plot_settings(
                config, PLOT_ITERATION[wc.plot], SEEDS[PLOT_ITERATION[wc.plot]]
            )
        ),
        fingerprint=lambda wc: PLAN.plots[PLOT_ITERATION[wc.plot]],
    shell:
        "python {params.script} --features {input.features}"
        " --umap {input.umap} --pca {input.pca} --tsne {input.tsne}"
        " --settings {params.settings:q} --fingerprint {params.fingerprint}"
        " --out {output.plot} --record {output.record} 2> {log}"


# Seed-stability metrics: computed where the embeddings are, staged beside the plots, and
# downloaded (never recomputed) by a run whose plots and metrics are already in storage.
rule compute_stability_metrics:
    input:
        features=FEATURES,
        provenance=source_provenance(),
        umap=all_batch_dirs("umap"),
        pca=all_batch_dirs("pca"),
        tsne=all_batch_dirs("tsne"),
    output:
        metrics=STABILITY_METRICS,
    log:
        "logs/compute_stability_metrics.log",
    benchmark:
        "results/benchmarks/compute_stability_metrics.tsv"
    # Ready with the last plots, but its chain to the PDF (table page, merge) is the longer one.
    priority: 5
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **memory(4000, per_input_mb=5),
        runtime=runtime(30, per_input_mb=0.05),
    params:
        script=SCRIPTS / "compute_stability_metrics.py",
        settings=settings_json(stability_settings(config, SEEDS)),
        fingerprint=PLAN.stability,
    shell:
        "python {params.script} --features {input.features}"
        " --umap {input.umap} --pca {input.pca} --tsne {input.tsne}"
        " --settings {params.settings:q} --fingerprint {params.fingerprint}"
        " --source-provenance {input.provenance}"
        " --out {output.metrics} 2> {log}"

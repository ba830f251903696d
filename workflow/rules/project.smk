rule prepare_features:
    """Select, derive and standardise the feature columns; drop incomplete rows."""
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
        **rule_resources("prepare_features"),
    params:
        script=SCRIPTS / "prepare_features.py",
        settings=settings_param(features_settings(config, SOURCE_STATE)),
        fingerprint=PLAN.features,
        # A check, not a setting (no part of the fingerprint): each row's neighbours must be
        # other rows, so one more distinct row than the most neighbours asked for.
        min_distinct_rows=max(
            [int(config["stability"]["n_neighbors"])]
            + [int(settings.get("n_neighbors", 0)) for settings in METHODS.values()]
        )
        + 1,
    shell:
        "python {params.script} --table {input.table} --settings {params.settings:q}"
        " --fingerprint {params.fingerprint} --min-distinct-rows {params.min_distinct_rows}"
        " --out {output.features} --summary {output.summary} 2> {log}"


# Only where a chosen method reads the shared graph (PCA alone does not).
if GRAPH:

    rule compute_neighbour_graph:
        """Exact nearest-neighbour graph shared by every method and seed (and the fitted subsample)."""
        input:
            features=FEATURES,
        output:
            graph=GRAPH,
        log:
            "logs/compute_neighbour_graph.log",
        benchmark:
            "results/benchmarks/compute_neighbour_graph.tsv"
        retries: RETRIES_FOR_MEMORY
        conda:
            f"{ENVS}/reduce.yaml"
        # Every later projection waits for the graph, so it may take two cores: the KD-tree's
        # queries spread over them.
        threads: 2
        resources:
            **rule_resources("compute_neighbour_graph"),
        params:
            script=SCRIPTS / "compute_neighbour_graph.py",
            settings=settings_param(graph_settings(config)),
            fingerprint=PLAN.graph,
        shell:
            "python {params.script} --features {input.features} --settings {params.settings:q}"
            " --fingerprint {params.fingerprint} --threads {threads} --out {output.graph} 2> {log}"


rule prepare_method_input:
    """A method's input prepared once for every seed (t-SNE's affinities)."""
    input:
        graph=GRAPH or [],
    output:
        prepared="results/data/prepared/{method}/{fingerprint}.npz",
    log:
        "logs/prepare_method_input/{method}/{fingerprint}.log",
    benchmark:
        "results/benchmarks/prepare_method_input/{method}/{fingerprint}.tsv"
    wildcard_constraints:
        method="|".join(PREPARED) or "none",
        fingerprint="[0-9a-f]+",
    # Ahead of the projections: it opens the longest chain (affinities, then the t-SNE jobs).
    priority: 20
    retries: RETRIES_FOR_MEMORY
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **rule_resources("prepare_method_input"),
    params:
        script=SCRIPTS / "prepare_method_input.py",
        settings=lambda wc: settings_json(
            {
                "method": wc.method,
                **method(wc.method).prepared_settings(METHODS[wc.method]),
            }
        ),
        fingerprint=lambda wc: PLAN.prepared[wc.method],
    shell:
        "python {params.script} --graph {input.graph} --settings {params.settings:q}"
        " --fingerprint {params.fingerprint} --threads {threads} --out {output.prepared} 2> {log}"


# One rule for every method (dimred_flow/methods/): each job fits one batch of seeds.
rule project_embeddings:
    """Fit one method for a batch of iterations, one seed each: the 2-D embeddings."""
    input:
        unpack(projection_inputs),
    output:
        embeddings=directory("results/embeddings/{method}/{batch}"),
    log:
        "logs/project_embeddings/{method}/{batch}.log",
    benchmark:
        "results/benchmarks/project_embeddings/{method}/{batch}.tsv"
    wildcard_constraints:
        method="|".join(METHODS),
        batch=r"iterations_[0-9]+-[0-9]+_[0-9a-f]+",
    priority: BATCH_PRIORITY
    retries: RETRIES_FOR_MEMORY
    conda:
        f"{ENVS}/reduce.yaml"
    # One thread: each method seeds its own generators and holds its numba loops to the job's
    # threads, so that a seed's embedding does not depend on the cores of the machine.
    threads: 1
    resources:
        **job_resources(
            lambda wildcards: method(wildcards.method).resources, "project_embeddings"
        ),
    params:
        script=SCRIPTS / "project.py",
        batch=batch_args,
        settings=lambda wc: settings_json(METHODS[wc.method]),
        inputs=projection_flags,
    shell:
        "python {params.script} {wildcards.method} --settings {params.settings:q}"
        " --features {input.features} {params.inputs}"
        " --iterations {params.batch[iterations]} --seeds {params.batch[seeds]}"
        " --fingerprints {params.batch[fingerprints]} --threads {threads}"
        " --out-dir {output.embeddings} 2> {log}"


rule plot_projections:
    """Plot one iteration's embeddings side by side, one panel per method."""
    input:
        features=FEATURES,
        embeddings=lambda wc: [
            batch_dir(name, PLOT_ITERATION[wc.plot]) for name in METHODS
        ],
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
        **rule_resources("plot_projections"),
    params:
        script=SCRIPTS / "plot_projections.py",
        embeddings=lambda wc: " ".join(
            f"{name}={batch_dir(name, PLOT_ITERATION[wc.plot])}" for name in METHODS
        ),
        settings=lambda wc: settings_json(
            plot_settings(
                config, PLOT_ITERATION[wc.plot], SEEDS[PLOT_ITERATION[wc.plot]]
            )
        ),
        fingerprint=lambda wc: PLAN.plots[PLOT_ITERATION[wc.plot]],
    shell:
        "python {params.script} --features {input.features} --embeddings {params.embeddings}"
        " --settings {params.settings:q} --fingerprint {params.fingerprint}"
        " --out {output.plot} --record {output.record} 2> {log}"


# Seed-stability metrics: computed where the embeddings are, staged beside the plots, and
# downloaded (never recomputed) by a run whose plots and metrics are already in storage.
rule compute_stability_metrics:
    """Trustworthiness, kNN preservation and Procrustes disparity between seeds, per method."""
    input:
        features=FEATURES,
        provenance=source_provenance(),
        embeddings=lambda wildcards: list(all_batch_dirs().values()),
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
        **rule_resources("compute_stability_metrics"),
    params:
        script=SCRIPTS / "compute_stability_metrics.py",
        embeddings=lambda wildcards: " ".join(all_batch_dirs()),
        settings=settings_param(stability_settings(config, SEEDS)),
        fingerprint=PLAN.stability,
    shell:
        "python {params.script} --features {input.features}"
        " --embeddings {params.embeddings} --settings {params.settings:q}"
        " --fingerprint {params.fingerprint} --source-provenance {input.provenance}"
        " --out {output.metrics} 2> {log}"

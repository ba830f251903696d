# Memory and time limits grow with each job's input (memory() and runtime() in common.smk): each
# per_input_mb is about twice the slope of the job's peak RSS over its input measured at 1,000,000
# rows (benchmarks/results_archive.json), so a cluster neither kills a large job nor over-books a small one.


rule prepare_features:
    input:
        table=source_table(),
    output:
        features="results/data/features.npz",
        summary="results/data/features.json",
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
        features=" ".join(config["features"]),
        derive=" ".join(config["derive"]),
        # A flag only when set: '{params...:q}' of an empty string is no argument at all.
        label_column=(
            f"--label-column {shlex.quote(config['label_column'])}"
            if config["label_column"]
            else ""
        ),
        color_by=config["color_by"],
        standardize="--standardize" if config["standardize"] else "--no-standardize",
        max_rows=int(config["max_rows"] or 0),
        # Each row's neighbours must be other rows: one more row than the most neighbours asked for.
        min_distinct_rows=max(
            int(config["methods"]["umap"]["n_neighbors"]),
            int(STABILITY["n_neighbors"]),
        )
        + 1,
    shell:
        "python {params.script} --table {input.table}"
        " --features {params.features} --derive {params.derive}"
        " {params.label_column} --color-by {params.color_by:q}"
        " {params.standardize} --max-rows {params.max_rows}"
        " --min-distinct-rows {params.min_distinct_rows}"
        " --out {output.features} --summary {output.summary} 2> {log}"


rule compute_neighbour_graph:
    input:
        features="results/data/features.npz",
    output:
        graph="results/data/neighbour_graph.npz",
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
        umap_neighbors=int(config["methods"]["umap"]["n_neighbors"]),
        perplexity=float(TSNE["perplexity"]),
        seed=int(config["seed"]),
        fit_rows=int(config["fit_rows"]),
    shell:
        "python {params.script} --features {input.features}"
        " --umap-neighbors {params.umap_neighbors} --perplexity {params.perplexity}"
        " --seed {params.seed} --fit-rows {params.fit_rows} --threads {threads}"
        " --out {output.graph} 2> {log}"


rule compute_tsne_affinities:
    input:
        graph="results/data/neighbour_graph.npz",
    output:
        affinities="results/data/tsne_affinities.npz",
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
        perplexity=float(TSNE["perplexity"]),
    shell:
        "python {params.script} --graph {input.graph}"
        " --perplexity {params.perplexity} --threads {threads}"
        " --out {output.affinities} 2> {log}"


rule project_umap:
    input:
        features="results/data/features.npz",
        graph="results/data/neighbour_graph.npz",
    output:
        embeddings=directory("results/embeddings/umap/iterations_{first}-{last}"),
    log:
        "logs/project_umap/iterations_{first}-{last}.log",
    benchmark:
        "results/benchmarks/project_umap/iterations_{first}-{last}.tsv"
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
        batch=batch_args,
        n_neighbors=int(config["methods"]["umap"]["n_neighbors"]),
        min_dist=float(config["methods"]["umap"]["min_dist"]),
    shell:
        "python {params.script} umap"
        " --features {input.features} --iterations {params.batch[iterations]}"
        " --seeds {params.batch[seeds]} --out-dir {output.embeddings} --graph {input.graph}"
        " --n-neighbors {params.n_neighbors} --min-dist {params.min_dist} 2> {log}"


rule project_pca:
    input:
        features="results/data/features.npz",
    output:
        embeddings=directory("results/embeddings/pca/iterations_{first}-{last}"),
    log:
        "logs/project_pca/iterations_{first}-{last}.log",
    benchmark:
        "results/benchmarks/project_pca/iterations_{first}-{last}.tsv"
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
        batch=batch_args,
    shell:
        "python {params.script} pca"
        " --features {input.features} --iterations {params.batch[iterations]}"
        " --seeds {params.batch[seeds]} --out-dir {output.embeddings} 2> {log}"


rule project_tsne:
    input:
        features="results/data/features.npz",
        graph="results/data/neighbour_graph.npz",
        affinities=(
            "results/data/tsne_affinities.npz"
            if TSNE["implementation"] == "opentsne"
            else []
        ),
    output:
        embeddings=directory("results/embeddings/tsne/iterations_{first}-{last}"),
    log:
        "logs/project_tsne/iterations_{first}-{last}.log",
    benchmark:
        "results/benchmarks/project_tsne/iterations_{first}-{last}.tsv"
    priority: BATCH_PRIORITY
    conda:
        f"{ENVS}/reduce.yaml"
    threads: 1
    resources:
        **memory(4000, per_input_mb=5),
        runtime=runtime(60, per_input_mb=0.1),
    params:
        script=SCRIPTS / "project.py",
        batch=batch_args,
        implementation=TSNE["implementation"],
        affinities=(
            "--affinities results/data/tsne_affinities.npz"
            if TSNE["implementation"] == "opentsne"
            else ""
        ),
        perplexity=float(TSNE["perplexity"]),
        n_iter=int(TSNE["n_iter"]),
    shell:
        "python {params.script} tsne"
        " --features {input.features} --iterations {params.batch[iterations]}"
        " --seeds {params.batch[seeds]} --out-dir {output.embeddings} --graph {input.graph}"
        " --implementation {params.implementation} {params.affinities}"
        " --perplexity {params.perplexity} --n-iter {params.n_iter} --threads {threads} 2> {log}"


rule plot_projections:
    input:
        features="results/data/features.npz",
        umap=lambda wc: batch_dir("umap", int(wc.iteration)),
        pca=lambda wc: batch_dir("pca", int(wc.iteration)),
        tsne=lambda wc: batch_dir("tsne", int(wc.iteration)),
    output:
        plot="results/plots/projections_comparison_{iteration}.png",
    log:
        "logs/plot_projections/iteration_{iteration}.log",
    benchmark:
        "results/benchmarks/plot_projections/iteration_{iteration}.tsv"
    conda:
        f"{ENVS}/plot.yaml"
    threads: 1
    resources:
        **memory(2000, per_input_mb=5),
        runtime=runtime(10, per_input_mb=0.05),
    params:
        script=SCRIPTS / "plot_projections.py",
        seed=lambda wc: SEEDS[int(wc.iteration)],
        fingerprint=lambda wc: FINGERPRINTS[int(wc.iteration)],
        n_test=N_TEST,
        tsne_implementation=TSNE["implementation"],
        dpi=int(config["plot"]["dpi"]),
        point_size=float(config["plot"]["point_size"]),
        density_above_rows=int(config["plot"]["density_above_rows"]),
    shell:
        "python {params.script} --features {input.features}"
        " --umap {input.umap} --pca {input.pca} --tsne {input.tsne}"
        " --iteration {wildcards.iteration} --n-test {params.n_test} --seed {params.seed}"
        " --tsne-implementation {params.tsne_implementation}"
        " --dpi {params.dpi} --point-size {params.point_size}"
        " --density-above-rows {params.density_above_rows} --out {output.plot} 2> {log}"


# Seed-stability metrics: computed where the embeddings are, staged beside the plots, and
# downloaded (never recomputed) by a run whose plots and metrics are already in storage.
rule compute_stability_metrics:
    input:
        features="results/data/features.npz",
        provenance=source_provenance(),
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
    threads: 1
    resources:
        **memory(4000, per_input_mb=5),
        runtime=runtime(30, per_input_mb=0.05),
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

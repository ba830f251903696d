checkpoint list_stored_plots:
    output:
        inventory=f"{STAGING}/inventory.json",
    params:
        storage=storage_args(),
        create_bucket="--create-bucket" if STORAGE["create_bucket"] else "",
        fingerprints=" ".join(f"{i}={FINGERPRINTS[i]}" for i in ITERATIONS),
    log:
        f"logs/list_stored_plots/{USER_FOLDER}.log",
    benchmark:
        f"results/benchmarks/list_stored_plots/{USER_FOLDER}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/list_stored_plots.py {params.storage} {params.create_bucket}"
        " --fingerprints {params.fingerprints} --out {output.inventory} 2> {log}"


rule upload_plot:
    input:
        plot="results/plots/projections_comparison_{iteration}.png",
    output:
        plot=f"{STAGING}/uploaded/projections_comparison_{{iteration}}.png",
        receipt=f"{STAGING}/uploaded/projections_comparison_{{iteration}}.json",
    params:
        storage=storage_args(),
        seed=lambda wc: SEEDS[int(wc.iteration)],
        fingerprint=lambda wc: FINGERPRINTS[int(wc.iteration)],
    log:
        f"logs/upload_plot/{USER_FOLDER}/iteration_{{iteration}}.log",
    benchmark:
        f"results/benchmarks/upload_plot/{USER_FOLDER}/iteration_{{iteration}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/upload_plot.py {params.storage}"
        " --iteration {wildcards.iteration} --seed {params.seed} --fingerprint {params.fingerprint}"
        " --plot {input.plot} --staged-copy {output.plot} --receipt {output.receipt} 2> {log}"


rule download_plot:
    input:
        inventory=f"{STAGING}/inventory.json",
    output:
        plot=f"{STAGING}/downloaded/projections_comparison_{{iteration}}.png",
    params:
        storage=storage_args(),
    log:
        f"logs/download_plot/{USER_FOLDER}/iteration_{{iteration}}.log",
    benchmark:
        f"results/benchmarks/download_plot/{USER_FOLDER}/iteration_{{iteration}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        f"{ENVS}/stage.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/download_plot.py {params.storage}"
        " --iteration {wildcards.iteration} --inventory {input.inventory} --out {output.plot} 2> {log}"


# The seed's first stage: compute the plots that storage lacks and upload them.
rule make_projections:
    input:
        staged_plots,
    localrule: True

rule merge_pdf:
    input:
        staged_plots,
    output:
        pdf="results/merged_plots.pdf",
    params:
        seeds=" ".join(str(SEEDS[i]) for i in ITERATIONS),
    log:
        "logs/merge_pdf.log",
    benchmark:
        "results/benchmarks/merge_pdf.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        f"{ENVS}/plot.yaml"
    container:
        CONTAINER
    shell:
        "python {SCRIPTS}/merge_pdf.py --plots {input} --seeds {params.seeds}"
        " --out {output.pdf} 2> {log}"


# The seed's second stage: fetch the plots from storage and merge them.
rule combine_plots:
    input:
        pdf="results/merged_plots.pdf",
    localrule: True

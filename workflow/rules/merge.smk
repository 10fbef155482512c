# Every row file under results/v1/runs/ (this grid's, other grids', rows from the GPU machine) -> one CSV.


rule merge_results:
    input:
        grid(),
    output:
        "results/v1/results.csv",
    log:
        f"logs/{TAG}/merge.log",
    conda:
        "../../environment.yml"
    shell:
        "prunebench merge results/v1/runs --out {output} > {log} 2>&1"

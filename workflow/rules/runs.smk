# Runs: the dense row per (model, task, seed) first (it fine-tunes and caches the dense checkpoint that every
# method starting from it reuses), then one row per (method, sparsity).


rule dense_run:
    input:
        prepared,
    output:
        f"{ROWS}/{{model}}/{{task}}/dense/s0.00-seed{{seed}}.csv",
    log:
        f"logs/{TAG}/runs/{{model}}/{{task}}/dense/s0.00-seed{{seed}}.log",
    conda:
        "../../environment.yml"
    threads: 1
    params:
        model=model_name,
        train=run_params,
        source=config["data_source"],
    shell:
        "prunebench run --model {params.model} --task {wildcards.task} --method dense --sparsity 0"
        " --seed {wildcards.seed} --data-source {params.source} {params.train} --threads {threads}"
        " --set progress=false --out {output} > {log} 2>&1"


rule prune_run:
    input:
        dense=dense_row,
    output:
        f"{ROWS}/{{model}}/{{task}}/{{method}}/s{{sparsity}}-seed{{seed}}.csv",
    log:
        f"logs/{TAG}/runs/{{model}}/{{task}}/{{method}}/s{{sparsity}}-seed{{seed}}.log",
    conda:
        "../../environment.yml"
    threads: 1
    params:
        model=model_name,
        train=run_params,
        method=pruning_params,
        method_name=method_name,
        source=config["data_source"],
    shell:
        "prunebench run --model {params.model} --task {wildcards.task} --method {params.method_name}"
        " --sparsity {wildcards.sparsity} --seed {wildcards.seed} --data-source {params.source}"
        " {params.train} {params.method} --threads {threads} --set progress=false --out {output} > {log} 2>&1"

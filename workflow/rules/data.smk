# Tokenised data: each (model, task) is tokenised once into the shared cache before its runs start.


rule prepare_tokens:
    output:
        ".cache/workflow/{tag}/prepared/{model}/{task}.json",
    log:
        "logs/{tag}/prepare/{model}/{task}.log",
    conda:
        "../../environment.yml"
    params:
        model=model_name,
        train=run_params,
        source=config["data_source"],
    shell:
        "prunebench prepare --model {params.model} --task {wildcards.task} --data-source {params.source}"
        " {params.train} --out {output} > {log} 2>&1"

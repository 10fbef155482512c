# Every row file under results/<version>/runs/ (this grid's, other grids', rows from the GPU machine) -> one CSV, except
# the folders smoke/ and cli/ and, whatever their folder, rows of sample-size or embedded-data runs (decided from
# each row: benchmarks/merge.py why_not_published), unless the config sets merge_sample_rows: true (check grids).


rule merge_results:
    input:
        merged_rows(),
    output:
        f"{RESULTS}/results.csv",
    log:
        f"logs/{TAG}/merge.log",
    conda:
        "../../environment.yml"
    params:
        samples="--keep-samples" if config.get("merge_sample_rows") else "",
    shell:
        f"prunebench merge {RESULTS}/runs --out {{output}} {{params.samples}} > {{log}} 2>&1"


# Recipe sweeps (configs with a `sweep` key, run by scripts/run_grid.py): their rows are merged on their own and
# each sweep's choice is tabulated; they never enter results.csv (they choose recipes, they are not results of one).
SWEEP_ROWS = sorted(
    str(p) for p in Path(RESULTS, "sweeps").rglob("*.csv") if not p.name.startswith(".")
)
SWEEP_TAGS = sorted({Path(p).parts[3] for p in SWEEP_ROWS})


rule merge_sweeps:
    input:
        SWEEP_ROWS,
    output:
        f"{RESULTS}/sweeps.csv",
    log:
        f"logs/sweeps/{VERSION}/merge.log",
    conda:
        "../../environment.yml"
    shell:
        f"prunebench merge {RESULTS}/sweeps --out {{output}} > {{log}} 2>&1"


rule recipe_table:
    input:
        lambda wildcards: [
            p for p in SWEEP_ROWS if Path(p).parts[3] == f"sweep-{wildcards.sweep}"
        ],
    output:
        f"{RESULTS}/tables/recipes-{{sweep}}.md",
    log:
        f"logs/sweeps/{VERSION}/recipes-{{sweep}}.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{sys.executable} {Path(workflow.basedir) / 'scripts' / 'select_recipe.py'}",
        # a later version's method sweeps also say how far tuning moved each method from the published rows
        untuned=(
            ""
            if VERSION == PUBLISHED
            else f"--untuned results/{PUBLISHED}/results.csv"
        ),
    shell:
        f"{{params.run}} {RESULTS}/sweeps/sweep-{{wildcards.sweep}} {{params.untuned}} --table {{output}} > {{log}} 2>&1"


SWEEP_OUTPUTS = (
    [f"{RESULTS}/sweeps.csv"]
    + [
        f"{RESULTS}/tables/recipes-{tag.removeprefix('sweep-')}.md"
        for tag in SWEEP_TAGS
    ]
    if SWEEP_ROWS
    else []
)

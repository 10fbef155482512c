# PruneBench: the whole study from one command.
#   snakemake --cores 2                                   # the smoke grid (config/smoke.yaml), offline (results/timing.md)
#   snakemake --cores 8 --configfile config/paper.yaml    # the full study
#   snakemake --profile profiles/slurm --configfile config/paper.yaml
from snakemake.utils import min_version

min_version("9.0")


# No `configfile:` directive: Snakemake would deep-merge it with --configfile, mixing two grids.
# Without --configfile, common.smk loads config/smoke.yaml.
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/merge.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),

# Config validation, the run grid and the helpers every rule uses. No rule lives here.
import sys
from pathlib import Path

from snakemake.utils import validate

from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.grid import runs as grid_runs
from prunebench.benchmarks.grid import registry_name, results_version, run_recipe
from prunebench.benchmarks.paths import (
    frozen_warning,
    model_slug,
    results_dir,
    run_file,
)
from prunebench.benchmarks.workflow_config import check_config, load_yaml

DEFAULT_CONFIG = Path(workflow.basedir) / "config" / "smoke.yaml"
if (
    "tag" not in config
):  # no --configfile: the smoke grid, with any --config key=value on top
    config.update({**load_yaml(DEFAULT_CONFIG), **config})

# One line and a non-zero exit before any job, for every malformed config (prunebench validate says the same).
if isinstance(
    config.get("partial"), str
):  # Snakemake's --config reads True/False as booleans, true as text
    print(
        f"prunebench: config error: partial={config['partial']}: write --config partial=True (or False)",
        file=sys.stderr,
    )
    sys.exit(2)
try:
    check_config(config)
except UsageError as exc:
    print(f"prunebench: config error: {exc}", file=sys.stderr)
    sys.exit(2)
validate(config, "../../config/schema.yaml")  # same schema; also fills its defaults
if config.get("sweep") or any(m.get("sweep") for m in config["methods"].values()):
    print(
        "prunebench: config error: sweep configs choose recipes and run with scripts/run_grid.py;"
        " put the chosen recipe into a grid config's train/task_train",
        file=sys.stderr,
    )
    sys.exit(2)

TAG = config["tag"]
MODELS = {model_slug(m): m for m in config["models"]}  # path-safe name -> model name
PRUNING = [m for m in config["methods"] if m != "dense"]
VERSION = results_version(config)
FROZEN_WARNING = frozen_warning(config, VERSION)
if FROZEN_WARNING:  # rows of another grid would join a published version's results.csv
    print(f"prunebench: warning: {FROZEN_WARNING}", file=sys.stderr)
RESULTS = str(
    results_dir(VERSION)
)  # results/v1 (published, frozen), results/v2, ...: rows, merged CSV, tables
ROWS = f"{RESULTS}/runs/{TAG}"
# The version the paper, README.md and LEADERBOARD.md show. Another version's report (tables, figures, paper
# inputs, leaderboard) stays under its own folder until it is published, so a new campaign never overwrites
# the published numbers.
PUBLISHED = "v1"
PAPER = "paper" if VERSION == PUBLISHED else f"{RESULTS}/paper"
LEADERBOARD_MD = (
    "LEADERBOARD.md" if VERSION == PUBLISHED else f"{RESULTS}/LEADERBOARD.md"
)


wildcard_constraints:
    model="|".join(MODELS),
    task="|".join(config["tasks"]),
    method="|".join(PRUNING) if PRUNING else "(?!)",
    sparsity=r"\d\.\d+",
    seed=r"\d+",


def train_overrides(task, method):
    """The `--set` flags of a run's recipe (benchmarks.grid.run_recipe)."""
    fields = run_recipe(config, task, method)
    return " ".join(f"--set {k}={v}" for k, v in sorted(fields.items()))


def method_params(method):
    return " ".join(
        f"--param {k}={v}"
        for k, v in sorted(config["methods"][method].get("params", {}).items())
    )


def grid():
    """Every (model, task, method, sparsity, seed) row file of the config."""
    return [run.path for run in grid_runs(config)]


def dense_row(wildcards):
    # ancient(): a row computed elsewhere (the GPU machine, a colleague) is never redone for a newer mtime
    return ancient(
        run_file(
            TAG,
            wildcards.model,
            wildcards.task,
            "dense",
            0.0,
            wildcards.seed,
            version=VERSION,
        )
    )


def prepared(wildcards):
    return f".cache/workflow/{TAG}/prepared/{wildcards.model}/{wildcards.task}.json"


def model_name(wildcards):
    return MODELS[wildcards.model]


def run_params(wildcards):
    return train_overrides(wildcards.task, getattr(wildcards, "method", "dense"))


def method_name(wildcards):
    """The registered method of a config key (`distillation@gradual` -> distillation)."""
    return registry_name(wildcards.method)


def pruning_params(wildcards):
    return method_params(wildcards.method)


# Measurements of the models' speed, not of a campaign's rows: every version's report reads the v1 files
EFFICIENCY_CSV = "results/v1/efficiency.csv"  # written by `prunebench bench-efficiency`, read if present
ACCURACY_CSV = "results/v1/efficiency-accuracy.csv"  # benchmarks/efficiency/runtime_accuracy.py, read if present
PROBE_CSV = "results/v1/probe-semi-structured.csv"  # written by scripts/probe_semi_structured.py on a GPU, read if present


def if_present(path: str):
    """An input function: `path` when it exists, else nothing. For files measured outside the workflow (the
    efficiency bench, the 2:4 probe): the report builds without them and says so."""
    return lambda wildcards: [path] if Path(path).is_file() else []


# with `--config partial=True`: the grid's rows present now, which results.csv merges and every report counts
PRESENT_ROWS = (
    [path for path in grid() if Path(path).exists()] if config.get("partial") else []
)


def merged_rows():
    """The rows results.csv merges: every row of the grid (running what is missing), or with `--config
    partial=True` only those present now (a campaign in progress: the report shows what exists and its notes what
    is pending); a present row is never redone for its mtime (ancient)."""
    if config.get("partial"):
        return [ancient(path) for path in PRESENT_ROWS]
    return grid()


def final_outputs():
    """What `snakemake` with no target builds: this config's rows, the merged CSV and the report.

    The rows are named here, not only as inputs of the merge: the merged CSV is committed, and Snakemake
    would otherwise take a present, newer CSV as up to date and never build the missing rows. With
    `partial=True` (a campaign in progress) only the report of the rows present, none run.
    """
    rows = [] if config.get("partial") else grid()
    return [*rows, f"{RESULTS}/results.csv", *REPORT_OUTPUTS, *SWEEP_OUTPUTS]


# Tables a script of scripts/ writes (config `script_tables`, made by the script_table job): the command is data in the
# config, so the file's first line (the command that made it) reads the same whether the workflow or a person ran it.
SCRIPT_TABLES = config.get("script_tables", {})


def script_table_script(name):
    """The table's script, from this repository (the workflow may run in another working directory)."""
    return Path(workflow.basedir) / SCRIPT_TABLES[name][0]


def script_table_args(name):
    """The script's arguments, {results} filled in, then --out; their paths are in the working directory."""
    return [
        *(
            a.replace("{results}", f"{RESULTS}/results.csv")
            for a in SCRIPT_TABLES[name][1:]
        ),
        "--out",
        f"{RESULTS}/tables/{name}.md",
    ]

"""File names derived from run coordinates, formatted in one place (Snakemake wildcards use the same)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_VERSION = "v1"  # a config without `results_version` belongs to the published, frozen v1 campaign
RESULTS_DIR = Path("results") / DEFAULT_VERSION


# Published versions and the grids (config tags) whose rows they hold: nothing else may add rows to them
FROZEN = {"v1": frozenset({"v1-minilm", "paper", "smoke", "methods-sst2", "bench-throughput", "sweep-dense",
                           "sweep-recovery"})}


def frozen_warning(config: dict, version: str) -> str | None:
    """Why a grid (a checked workflow config) should not write where it would, or None: a published version it is
    not one of the grids of. A grid of sample-size runs (each task's recipe, `train` then `task_train`, with
    ``max_eval_samples`` set or ``max_train_samples`` below the smallest training split the task trains on:
    `merge.SMALLEST_TRAIN_ROWS`) gets none unless it keeps its rows with ``merge_sample_rows``: the merge leaves
    such rows out. A ``max_train_samples`` at or above a task's split samples nothing there, and those rows would
    join the published file like any other."""
    from .grid import task_recipe
    from .merge import SMALLEST_TRAIN_ROWS

    tag = config["tag"]

    def sampled(task: str | None) -> bool:  # None: a config without tasks, judged by its `train` alone
        recipe = task_recipe(config, task) if task else config.get("train") or {}
        samples = recipe.get("max_train_samples") or 0
        return bool(recipe.get("max_eval_samples")) or 0 < samples < SMALLEST_TRAIN_ROWS.get(task, float("inf"))

    if all(sampled(task) for task in config.get("tasks") or [None]) and not config.get("merge_sample_rows"):
        return None
    if version in FROZEN and tag not in FROZEN[version]:
        return (f"results/{version}/ is published and frozen, and tag {tag!r} is not one of its grids: its rows would "
                f"join the published results.csv; set results_version: v2 (or a later version) in the config")
    return None


def results_dir(version: str = DEFAULT_VERSION) -> Path:
    """The folder of one results version: ``results/v1`` (published, frozen), ``results/v2``, ...

    A campaign with other recipes, tasks or methods is a new version, never new rows in a published one, so a
    cited table can always be regenerated from the rows it was made from."""
    return Path("results") / version


def format_sparsity(s: float) -> str:
    """0.5 -> "0.50", 0.875 -> "0.875": at least two decimals, never rounded away."""
    text = f"{s:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def model_slug(model: str) -> str:
    """A model name as one path component: aliases as they are, Hub ids with '--', folders by name."""
    if model.startswith("hf:"):
        model = model[3:]
    if model.startswith("local:") or "/" in model and Path(model).is_dir():
        model = Path(model.removeprefix("local:")).name
    return model.replace("/", "--")


def run_file(tag: str, model: str, task: str, method: str, sparsity: float | str, seed: int | str,
             recipe: str | None = None, version: str = DEFAULT_VERSION) -> str:
    """Where the workflow keeps a row: one folder per results version and config tag, so grids with different
    recipes never collide.

    Rows of a recipe sweep (``recipe`` = the combination's label) go under ``sweeps/`` instead of ``runs/``.
    """
    s = sparsity if isinstance(sparsity, str) else format_sparsity(sparsity)
    where = f"sweeps/{tag}/{recipe}" if recipe else f"runs/{tag}"
    return f"{results_dir(version)}/{where}/{model_slug(model)}/{task}/{method}/s{s}-seed{seed}.csv"


def run_path(model: str, task: str, method: str, sparsity: float, seed: int, run_id: str) -> Path:
    """Default row file of a direct `prunebench run` (tag "cli"; the run_id keeps different recipes apart)."""
    return RESULTS_DIR / "runs" / "cli" / model_slug(model) / task / method / f"s{format_sparsity(sparsity)}-seed{seed}-{run_id}.csv"

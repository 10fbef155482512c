"""A workflow config as the list of runs it asks for: written once for Snakemake and `scripts/run_grid.py`.

A config is a product (models x tasks x methods x sparsities x seeds). These refinements keep one campaign in
one config instead of many overlapping ones:

- a method may name its own ``tasks`` and ``seeds`` (subsets of the config's), so a costly grid can run on
  two tasks while dense baselines cover all of them, and later seeds can be added method by method;
- a method may override training fields (``train``), e.g. a longer phase for gradual pruning;
- a key ``<method>@<label>`` is a variant of a registered method with its own ``params`` (e.g.
  ``distillation@gradual`` with ``base: gradual-magnitude-global``), so one method can appear several times;
  its rows live under the key's folder and say the registry name in their ``method`` column;
- ``all_methods`` runs every registered method that ``methods`` does not list (built-ins and plugins of the
  ``prunebench.methods`` entry points alike) on the grid its kind gets there (``kinds``), except those named in
  ``exclude``; so a new method joins the study without an edit to its config (`expand_all_methods`);
- ``sweep`` maps training fields to lists of values. A sweep config is run once per combination (a
  *recipe*), and its rows go to ``results/<version>/sweeps/<tag>/<recipe>/``, never to ``results/<version>/runs/``: sweep
  rows choose a recipe, they are not results of it, and the chosen recipe's own rows would otherwise
  appear twice in ``results.csv``;
- a method's own ``sweep`` is a list of settings of its parameters (each over its ``params``), run one by one:
  the per-method sweep that tunes each method with the same budget (``MAX_METHOD_SETTINGS``). Its rows go to
  ``results/<version>/sweeps/<tag>/<setting>/``; a config with any sweep is a sweep config, so its other rows (e.g.
  a method it does not tune) go to ``sweeps/<tag>/base/``, never to ``runs/``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .paths import DEFAULT_VERSION, format_sparsity, model_slug, run_file


VARIANT_SEPARATOR = "@"
MAX_METHOD_SETTINGS = 6  # the tuning budget of every method: at most this many settings of its own parameters
BASE_RECIPE = "base"  # the recipe folder of a sweep config's rows that have no recipe of their own


def registry_name(key: str) -> str:
    """The registered method of a config key: ``distillation@gradual`` -> ``distillation``."""
    return key.partition(VARIANT_SEPARATOR)[0]


def expand_all_methods(config: dict) -> dict:
    """Add to ``config["methods"]``, in place, every registered method the config neither lists nor excludes.

    Each added method gets a copy of the spec of its kind under ``all_methods.kinds`` (sparsities, and
    optionally tasks, seeds, train); a method with fixed targets (``valid_sparsities``, e.g. 2:4) keeps only
    those of its kind's grid. Listed methods (and ``<method>@<label>`` variants) keep their own entries. Raises
    UsageError for an excluded name that is not registered, and for a method whose kind has no grid there,
    naming the three ways to fix it. Idempotent: a config checked twice is expanded once.
    """
    from prunebench.methods.registry import get, list_methods

    from .errors import UsageError, unknown

    spec = config.get("all_methods")
    if not spec:
        return config
    from prunebench.methods.base import KINDS

    for kind in spec.get("kinds", {}):
        if kind not in KINDS:
            raise UsageError(f"all_methods.kinds: {unknown('kind', kind, KINDS)}")
    registered = list_methods()
    for name in spec.get("exclude", []):
        if name not in registered:
            raise UsageError(f"all_methods.exclude: {unknown('method', name, registered)}")
    for name in registered:
        if name in config["methods"] or name in spec.get("exclude", []):
            continue
        cls = get(name)
        grid = spec.get("kinds", {}).get(cls.kind)
        if grid is None:
            raise UsageError(f"all_methods: method {name!r} is of kind {cls.kind!r}, which has no grid; add "
                             f"all_methods.kinds.{cls.kind}, list {name} under methods, or add it to all_methods.exclude")
        entry = dict(grid)
        if cls.valid_sparsities is not None:
            entry["sparsities"] = [s for s in grid["sparsities"] if s in cls.valid_sparsities]
            if not entry["sparsities"]:
                raise UsageError(f"all_methods: method {name!r} prunes only to {list(cls.valid_sparsities)}, none of "
                                 f"all_methods.kinds.{cls.kind}.sparsities; list {name} under methods with its own grid")
        config["methods"][name] = entry
    return config


@dataclass(frozen=True)
class GridRun:
    """One row the config asks for, with everything its `prunebench run` command needs."""

    tag: str
    model: str
    task: str
    method: str  # the config key: a registry name, or <name>@<label> for a variant
    sparsity: float
    seed: int
    train: dict = field(default_factory=dict)  # --set overrides: config train < task_train < sweep recipe < method train
    params: dict = field(default_factory=dict)  # --param overrides of the method
    recipe: str | None = None  # the sweep recipe's label, None outside sweeps
    version: str = DEFAULT_VERSION  # the results version its row belongs to (config `results_version`)

    @property
    def path(self) -> str:
        return run_file(self.tag, model_slug(self.model), self.task, self.method, format_sparsity(self.sparsity),
                        self.seed, recipe=self.recipe, version=self.version)

    def argv(self) -> list[str]:
        """The `prunebench run` arguments of this row (without --out, --device and --threads)."""
        sets = [x for k, v in sorted(self.train.items()) for x in ("--set", f"{k}={v}")]
        params = [x for k, v in sorted(self.params.items()) for x in ("--param", f"{k}={v}")]
        return ["--model", self.model, "--task", self.task, "--method", registry_name(self.method),
                "--sparsity", format_sparsity(self.sparsity), "--seed", str(self.seed), *sets, *params]


def recipe_label(values: dict) -> str:
    """``{"lr": 3e-05, "epochs": 10}`` -> ``"epochs10-lr3e-05"``: a path component, sorted by field name."""
    return "-".join(f"{key}{values[key]}" for key in sorted(values))


def recipes(config: dict) -> list[tuple[str | None, dict]]:
    """(label, training overrides) of every sweep combination; ``[(None, {})]`` for a config without sweep."""
    sweep = config.get("sweep") or {}
    if not sweep:
        return [(None, {})]
    keys = sorted(sweep)
    combos = [dict(zip(keys, values)) for values in itertools.product(*(sweep[k] for k in keys))]
    return [(recipe_label(c), c) for c in combos]


def method_settings(spec: dict) -> list[tuple[str | None, dict]]:
    """(label, parameter overrides) of each setting of a method's own sweep; ``[(None, {})]`` without one."""
    return [(recipe_label(s), dict(s)) for s in spec.get("sweep") or []] or [(None, {})]


def is_sweep(config: dict) -> bool:
    """A config that chooses recipes (a training ``sweep`` or a method's own) rather than producing results."""
    return bool(config.get("sweep")) or any(spec.get("sweep") for spec in config["methods"].values())


def results_version(config: dict) -> str:
    """The config's results version (``results/<version>/``); v1, the published campaign, when it names none."""
    return config.get("results_version", DEFAULT_VERSION)


def task_recipe(config: dict, task: str) -> dict:
    """The training overrides of a task: the config's `train`, then its `task_train` entry."""
    return {**config.get("train", {}), **config.get("task_train", {}).get(task, {})}


def run_recipe(config: dict, task: str, method: str, sweep: dict | None = None) -> dict:
    """The training overrides of one run, in precedence order: config `train` < `task_train` < sweep recipe <
    the method's `train`. Snakemake's rules and `runs` both take them from here."""
    return {**task_recipe(config, task), **(sweep or {}), **config["methods"].get(method, {}).get("train", {})}


def runs(config: dict) -> list[GridRun]:
    """Every row of a (checked) config, dense rows first, in a stable order."""
    out = []
    sweeping = is_sweep(config)
    version = results_version(config)
    for label, overrides in recipes(config):
        for model in config["models"]:
            for task in config["tasks"]:
                for method, spec in config["methods"].items():
                    if task not in spec.get("tasks", config["tasks"]):
                        continue
                    method_train = run_recipe(config, task, method, overrides)
                    for setting_label, setting in method_settings(spec):
                        recipe = "-".join(x for x in (label, setting_label) if x) or (BASE_RECIPE if sweeping else None)
                        params = {**spec.get("params", {}), **setting}
                        for s in spec["sparsities"]:
                            for seed in spec.get("seeds", config["seeds"]):
                                out.append(GridRun(config["tag"], model, task, method, float(s), int(seed), method_train,
                                                   params, recipe, version))
    # a recovery sweep's recipes share their dense row (it never runs the recovery phase): list it once
    seen, unique = set(), []
    for run in out:
        if run.method == "dense":
            if dense_key(run) in seen:
                continue
            seen.add(dense_key(run))
        unique.append(run)
    unique.sort(key=lambda r: r.method != "dense")  # stable: dense rows first, the config's order otherwise
    return unique


def dense_key(run: GridRun) -> tuple:
    """Rows with equal keys start from the same dense checkpoint (recovery fields do not change it)."""
    recipe = tuple(sorted((k, str(v)) for k, v in run.train.items() if not k.startswith("recovery_")))
    return run.model, run.task, run.seed, recipe

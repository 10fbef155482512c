"""Workflow config validation, shared by Snakemake (`validate()` on config/schema.yaml) and
`prunebench validate`: the schema checks shape and ranges, then every name is checked against its
registry and every training field against `TrainConfig`, so a typo fails before any job runs.
A config is untrusted data: it is read with `yaml.safe_load`, its values must be shell-safe (rules pass
them on a command line), and a model folder it names must lie inside the project, the cache or a folder
listed in PRUNEBENCH_MODELS_DIRS.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = PROJECT_ROOT / "config" / "schema.yaml"


def load_yaml(path: Path) -> Any:
    """The YAML document at `path`, through `yaml.safe_load` only: a config is data, never code."""
    try:
        with open(path, "rb") as f:  # bytes: the YAML reader reports a bad encoding as a YAML error
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a workflow config") from None


def _schema_errors(config: Any) -> None:
    try:
        import jsonschema
    except ImportError:  # machines without it (the GPU machine) still get every check below
        import logging

        logging.getLogger("prunebench").warning("jsonschema is not installed: %s not checked", SCHEMA_PATH.name)
        return

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:  # every problem the schema finds, on one line: a config is fixed in one edit, not one per run
        raise UsageError("; ".join(f"{'.'.join(str(p) for p in err.absolute_path) or '(top level)'}: {_message(err)}"
                                   for err in errors))


def _message(err) -> str:
    """jsonschema's message, except for an unknown key: named with the valid keys and the closest one, as an
    unknown method or task is."""
    allowed = sorted(err.schema.get("properties", {})) if err.validator == "additionalProperties" else []
    if not allowed or not isinstance(err.instance, dict):
        return err.message
    import difflib

    hints = []
    for key in sorted(set(err.instance) - set(allowed), key=str):
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown key {', '.join(hints)}; valid keys: {', '.join(allowed)}"


def _string_keys(value: Any, where: str) -> None:
    """Every mapping key is a string: YAML allows `1:` or `null:` keys, which no config field is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where or '(top level)'}: key {key!r} is not a string")
            _string_keys(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _string_keys(item, f"{where}.{i}")


def check_config(config: Any) -> dict:
    """Raise UsageError on the first problem; returns the config with defaults filled in.

    ``all_methods`` is expanded in place (`grid.expand_all_methods`): after this call ``config["methods"]``
    names every method the config runs, so the workflow and `scripts/run_grid.py` read one list.
    """
    from prunebench.methods.base import check_method
    from prunebench.methods.registry import METHODS, get

    from .config import TrainConfig, parse_overrides
    from .grid import VARIANT_SEPARATOR, expand_all_methods
    from .data import SOURCES
    from .models import resolve
    from .tasks import get_task

    if not isinstance(config, dict):
        raise UsageError("the config must be a mapping with keys tag, models, tasks, seeds, methods, train")
    try:
        _string_keys(config, "")
        _schema_errors(config)
    except RecursionError:  # a YAML alias can make a list contain itself
        raise UsageError("the config is nested too deeply or refers to itself (YAML alias)") from None
    expand_all_methods(config)  # every registered method the config does not list, on its kind's grid
    if not TAG.fullmatch(config["tag"]):
        raise UsageError(f"tag: {config['tag']!r} may only hold lowercase letters, digits and '-' (it names a folder)")
    for task in config["tasks"]:
        try:
            get_task(task)
        except UsageError as exc:
            raise UsageError(f"tasks: {exc}") from None
    for model in config["models"]:
        check_model_entry(model)
        try:
            resolve(model)
        except UsageError as exc:
            raise UsageError(f"models: {exc}") from None
    base = parse_overrides(TrainConfig(), config.get("train", {}), what="train")
    base.check()
    for task, overrides in config.get("task_train", {}).items():
        if task not in config["tasks"]:
            raise UsageError(f"task_train.{task}: not one of the config's tasks ({', '.join(config['tasks'])})")
        parse_overrides(base, overrides, what=f"task_train.{task}").check()
    for name, spec in config["methods"].items():
        method, _, label = name.partition(VARIANT_SEPARATOR)
        if _ and not VARIANT_LABEL.fullmatch(label):
            raise UsageError(f"methods.{name}: a variant label after '@' may only hold a-z, 0-9 and '-'")
        if method not in METHODS:
            try:
                get(method)
            except UsageError as exc:
                raise UsageError(f"methods: {exc}") from None
        cls = get(method)
        for i, s in enumerate(spec["sparsities"]):
            if not 0.0 <= s < 1.0:  # the schema lets NaN through: every comparison with it is false
                raise UsageError(f"methods.{name}.sparsities.{i}: {s} is not in [0, 1)")
        try:
            cls.parse_params(spec.get("params", {}))
        except ValueError as exc:
            raise UsageError(f"methods.{name}.params: {exc}") from None
        for s in spec["sparsities"]:
            try:  # `prunebench run`'s own check: the target of the method and of each method it runs inside itself
                check_method(cls, s, spec.get("params", {}))
            except ValueError as exc:
                raise UsageError(f"methods.{name}.sparsities: {exc}") from None
        if "train" in spec:
            parse_overrides(base, spec["train"], what=f"methods.{name}.train").check()
        for key in ("tasks", "seeds"):
            outside = [x for x in spec.get(key, []) if x not in config[key]]
            if outside:
                raise UsageError(f"methods.{name}.{key}: {outside[0]!r} is not one of the config's {key} "
                                 f"({', '.join(map(str, config[key]))})")
        for key, value in spec.get("params", {}).items():
            _shell_safe(value, f"methods.{name}.params.{key}")
        for i, setting in enumerate(spec.get("sweep") or []):  # a per-method sweep (benchmarks/grid.py)
            try:  # each setting as a run checks it: its parts (a swept distillation base) at every target too
                for s in spec["sparsities"]:
                    check_method(cls, s, {**spec.get("params", {}), **setting})
            except ValueError as exc:
                raise UsageError(f"methods.{name}.sweep.{i}: {exc}") from None
            for key, value in setting.items():
                _shell_safe(value, f"methods.{name}.sweep.{i}.{key}")
    for key, values in (config.get("sweep") or {}).items():
        for value in values:
            try:
                parse_overrides(base, {key: value}, what="sweep").check()
            except UsageError as exc:
                raise UsageError(f"sweep.{key}: {exc}") from None
    for where, fields in [("train", config.get("train", {})),
                          *((f"task_train.{task}", f) for task, f in config.get("task_train", {}).items()),
                          *((f"methods.{name}.train", spec.get("train", {})) for name, spec in config["methods"].items())]:
        for key, value in fields.items():
            _shell_safe(value, f"{where}.{key}")
    if config.get("data_source", "auto") not in SOURCES:
        raise UsageError(f"data_source: must be one of {', '.join(SOURCES)}")
    _check_fits(config)
    check_script_tables(config.get("script_tables", {}))
    return config


def _check_fits(config: dict) -> None:
    """Each model against each run's recipe and each method's targets, from the model's config alone (no
    weights, no data), as `prunebench run` will check them: a grid that would fail on one model fails here."""
    import dataclasses
    import json

    from prunebench.methods.base import check_method
    from prunebench.methods.registry import get

    from .config import TrainConfig, parse_overrides
    from .grid import registry_name, run_recipe
    from .models import check_model_fits, model_fit, resolve

    classes = {name: get(registry_name(name)) for name in config["methods"]}
    for model in config["models"]:
        shape = model_fit(resolve(model), None, local_only=True)
        if shape is None:
            continue  # the model's config is not readable here (a Hub model offline): `run` checks it
        seen = set()
        for task in config["tasks"]:
            for name, method in config["methods"].items():
                recipe = run_recipe(config, task, name)
                key = (name, json.dumps(recipe, sort_keys=True, default=str))
                if task not in method.get("tasks", config["tasks"]) or key in seen:
                    continue  # tasks of one recipe ask the same of the model: checked once
                seen.add(key)
                fit = dataclasses.replace(shape, recipe=parse_overrides(TrainConfig(), recipe))
                try:
                    check_model_fits(fit, model)
                    for s in method["sparsities"]:
                        check_method(classes[name], s, method.get("params", {}), fit)
                except ValueError as exc:
                    raise UsageError(f"methods.{name} on {model} ({task}): {exc}") from None


# Characters a model name or value may hold: the workflow passes them to `prunebench run` on a shell
# command line, so a config can never smuggle in a second command, a redirection or a space-split path.
SAFE_VALUE = re.compile(r"[A-Za-z0-9._:/+=@,-]+")  # matched whole
MODELS_DIRS_ENV = "PRUNEBENCH_MODELS_DIRS"
VARIANT_LABEL = re.compile(r"[a-z0-9][a-z0-9-]*")  # <method>@<label> keys (benchmarks/grid.py)
# config/schema.yaml's tag pattern, matched whole: jsonschema's `$` also matches before a final newline
TAG = re.compile(r"[a-z0-9][a-z0-9-]*")


def _shell_safe(value: Any, where: str) -> None:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if not SAFE_VALUE.fullmatch(text):
        raise UsageError(f"{where}: {text!r} may only hold letters, digits and . _ : / + = @ , -")


def allowed_model_roots() -> list[Path]:
    """Folders a `local:<dir>` model of a config may live in: the project, the PruneBench cache, and the
    folders listed in PRUNEBENCH_MODELS_DIRS (separated like PATH), e.g. a cluster's shared model store."""
    from .tokens import cache_dir

    extra = [Path(p) for p in os.environ.get(MODELS_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    return [PROJECT_ROOT, cache_dir(), *extra]


def check_model_entry(model: str) -> None:
    """A config's model is a safe name, and a folder given as a model stays inside the allowed roots.

    Relative folders are taken from the working directory, as `prunebench run` will take them. A `..`
    anywhere is refused outright, and symbolic links are followed before the check, so neither can lead
    a shared config out of the project.
    """
    from .models import ALIASES

    _shell_safe(model, "models")
    if model in ALIASES or model.startswith("hf:"):
        return
    local = model.startswith("local:")
    folder = Path(model.removeprefix("local:"))
    if not local and not folder.is_dir():
        return  # a Hub id (org/name); resolve() says if it is neither
    if ".." in folder.parts:
        raise UsageError(f"models: {model!r}: a model folder may not contain '..'")
    real = folder.resolve()
    roots = allowed_model_roots()
    if not any(real.is_relative_to(root.resolve()) for root in roots):
        raise UsageError(f"models: {model!r} is outside the allowed folders ({', '.join(str(r) for r in roots)}); "
                         f"add its parent to {MODELS_DIRS_ENV} to allow it")


def offline_gaps(config: dict, grid: list) -> str | None:
    """With the Hub off, which runs of a checked config cannot run on this machine and why: a Hub model whose config
    is not in the local cache (`offline.HUB_MODELS`, as huggingface_hub reads them), a task no local source holds
    every split of (`offline.HUB_DATA`, as datasets and the data loader read them); the warning names the variable
    that decided each. None when the Hub is on (then anything may load) or every run can. Reads configs and file
    lists only: no weights."""
    from .offline import HUB_DATA, HUB_MODELS, deciding

    models_off, data_off = deciding(*HUB_MODELS), deciding(*HUB_DATA)
    if not models_off and not data_off:
        return None
    from .data import available_sources
    from .models import model_fit, resolve
    from .tasks import get_task

    specs = {m: resolve(m) for m in config["models"]}
    models = [m for m, spec in specs.items()
              if models_off and not spec.is_local and model_fit(spec, None, local_only=True) is None]
    tasks = [t for t in config["tasks"] if data_off and not available_sources(get_task(t))]
    if not models and not tasks:
        return None
    blocked = sum(1 for r in grid if r.model in models or r.task in tasks)
    why = ([f"model(s) {', '.join(models)} need the Hugging Face Hub"] if models else []) + (
        [f"task(s) {', '.join(tasks)} have no local source of every split (GLUE_DIR, the embedded sample)"] if tasks else [])
    switched = list(dict.fromkeys(([models_off] if models else []) + ([data_off] if tasks else [])))
    return (f"{' and '.join(switched)} {'is' if len(switched) == 1 else 'are'} set: {blocked} of its {len(grid)} runs "
            f"cannot run on this machine: {'; '.join(why)}")


def validate_file(path: Path) -> str:
    import sys

    from .grid import is_sweep, recipes, results_version, runs
    from .paths import frozen_warning

    config = check_config(load_yaml(path))
    sweep = f" ({len(recipes(config))} recipes)" if config.get("sweep") else ""
    version, grid = results_version(config), runs(config)
    for warning in (frozen_warning(config, version), offline_gaps(config, grid)):
        if warning:
            print(f"prunebench: warning: {path}: {warning}", file=sys.stderr)
    where = f"results/{version}/{'sweeps' if is_sweep(config) else 'runs'}/{config['tag']}/"
    return (f"{len(config['models'])} model(s), {len(config['tasks'])} task(s), {len(config['methods'])} method(s), "
            f"{len(grid)} runs{sweep}, rows to {where}")


REPORT_TABLES = ("comparison", "phases", "efficiency", "speedup")  # tables/<name>.md the report's notebooks write


def check_script_tables(tables: dict) -> None:
    """`script_tables`: each name a file name that no report notebook writes, each script a file under scripts/
    (paths relative to the repository, as the workflow runs them); UsageError names the first problem."""
    root = Path(__file__).resolve().parents[1]  # the repository: scripts/ sits next to benchmarks/
    for name, argv in tables.items():
        if not TAG.fullmatch(name) or name in REPORT_TABLES:
            raise UsageError(f"script_tables.{name}: a table name may only hold a-z, 0-9 and '-', and not be one "
                             f"the report writes ({', '.join(REPORT_TABLES)})")
        script = argv[0]
        if not script.startswith("scripts/") or not (root / script).is_file():
            known = sorted(p.relative_to(root).as_posix() for p in (root / "scripts").glob("*.py"))
            raise UsageError(f"script_tables.{name}: {script} is not a script of scripts/ (e.g. {', '.join(known[:4])})")
        if "--out" in argv:
            raise UsageError(f"script_tables.{name}: leave --out out; the workflow writes tables/{name}.md")

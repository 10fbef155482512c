"""Workflow config validation, shared by Snakemake (`validate()` on config/schema.yaml) and
`prunebench validate`: the schema checks shape and ranges, then every name is checked against its
registry and every training field against `TrainConfig`, so a typo fails before any job runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"


def load_yaml(path: Path) -> Any:
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


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
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise UsageError(f"{key}: {err.message}")


def check_config(config: Any) -> dict:
    """Raise UsageError on the first problem; returns the config with defaults filled in."""
    from methods.registry import METHODS, get

    from .config import TrainConfig, parse_overrides
    from .data import SOURCES
    from .models import resolve
    from .tasks import get_task

    if not isinstance(config, dict):
        raise UsageError("the config must be a mapping with keys models, tasks, seeds, methods, train")
    _schema_errors(config)
    for task in config["tasks"]:
        try:
            get_task(task)
        except UsageError as exc:
            raise UsageError(f"tasks: {exc}") from None
    for model in config["models"]:
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
        if name not in METHODS:
            try:
                get(name)
            except UsageError as exc:
                raise UsageError(f"methods: {exc}") from None
        cls = get(name)
        for s in spec["sparsities"]:  # methods with a fixed sparsity (2:4) refuse any other target
            try:
                cls.check_sparsity(s)
            except ValueError as exc:
                raise UsageError(f"methods.{name}.sparsities: {exc}") from None
        try:
            cls.parse_params(spec.get("params", {}))
        except (UsageError, ValueError) as exc:
            raise UsageError(f"methods.{name}.params: {exc}") from None
        if not cls.trains and any(s != 0 for s in spec["sparsities"]):
            raise UsageError(f"methods.{name}.sparsities: {name} does not prune, use [0.0]")
    if config.get("data_source", "auto") not in SOURCES:
        raise UsageError(f"data_source: must be one of {', '.join(SOURCES)}")
    return config


def validate_file(path: Path) -> str:
    config = check_config(load_yaml(path))
    runs = sum(len(m["sparsities"]) for m in config["methods"].values()) * len(config["models"]) * len(config["tasks"]) * len(config["seeds"])
    return f"{len(config['models'])} model(s), {len(config['tasks'])} task(s), {len(config['methods'])} method(s), {runs} runs"

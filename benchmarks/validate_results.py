"""Checks a results CSV cell by cell against schema v1, so a corrupted, edited or foreign row is caught
before a table, a figure or a merge uses it.

A result file comes from other machines and other people; its numbers end up in the paper. What is
checked: the header is exactly `records.COLUMNS`; each row has one value per column, of the column's
type (from `ResultRecord`'s annotations; empty only where the type allows None); ranges (sparsities in
[0, 1), scores within the range of the task's primary metric, seed >= 0, counts that fit together);
the JSON columns parse and `score` is the mean of the primary metrics they hold; `run_id` is the start
of `config_hash` and appears once. Problems carry the file's line number (the physical line a record
ends on, as `csv` counts it).
"""

from __future__ import annotations

import csv
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .data import SOURCE_SUFFIXES
from .errors import UsageError
from .records import COLUMNS, SCHEMA_VERSION, ResultRecord
from .tasks import TASKS

MAX_REPORTED = 10  # problems printed by `prunebench validate`; the count says how many more there are
CORRELATIONS = frozenset({"mcc", "pearson", "spearman"})  # metrics in [-1, 1]; the others are in [0, 1]
SCORE_TOLERANCE = 1e-6  # |score - 100 * mean(primary metrics)|, relative to max(1, |score|)

_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SOURCE = re.compile(r"^(hub|glue_dir|embedded)(" + "|".join(map(re.escape, SOURCE_SUFFIXES)) + ")?$")
_INT = re.compile(r"^[+-]?[0-9]+$")
# whole seconds or more, with a zone: a row cut short inside its last column never matches
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.column + ': ' if self.column else ''}{self.message}"


@dataclass
class Report:
    path: Path
    rows: list[dict[str, str]] = field(default_factory=list)  # every data row read, valid or not
    lines: list[int] = field(default_factory=list)  # the line each row ends on
    problems: list[Problem] = field(default_factory=list)
    # valid rows the analysis treats specially: printed as warnings, exit code unchanged
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.problems:
            return f"{len(self.rows)} rows, OK"
        return f"{len(self.problems)} problem(s) in {len(self.rows)} rows"


def _types() -> dict[str, tuple[type, bool]]:
    """column -> (value type, may be empty), read from ResultRecord's annotations."""
    out = {}
    for name, hint in typing.get_type_hints(ResultRecord).items():
        args = typing.get_args(hint)
        optional = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
        base = next(a for a in args if a is not type(None)) if optional else hint
        out[name] = (base, optional and type(None) in args)
    return out


TYPES = _types()


def _parse(text: str, kind: type, optional: bool) -> Any:
    """The typed value of one cell; raises ValueError with a readable reason."""
    if text == "":
        if optional:
            return None
        raise ValueError("empty")
    if kind is int:
        if not _INT.fullmatch(text):
            raise ValueError(f"{text!r} is not an integer")
        return int(text)
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind is str:
        if not text.isprintable():
            raise ValueError(f"{text!r} holds control characters")
        return text
    raise TypeError(f"unsupported column type {kind}")


def _metric_range(name: str) -> tuple[float, float]:
    return (-1.0, 1.0) if name.split("_")[0] in CORRELATIONS else (0.0, 1.0)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(f"JSON {type(value).__name__}, expected an object")
    return value


def check_row(row: dict[str, str]) -> list[tuple[str, str]]:
    """(column, problem) for every problem of one row whose columns are exactly `COLUMNS`."""
    problems: list[tuple[str, str]] = []
    v: dict[str, Any] = {}
    for name in COLUMNS:
        try:
            v[name] = _parse(row[name], *TYPES[name])
        except ValueError as exc:
            problems.append((name, str(exc)))
    bad = {name for name, _ in problems}

    def need(name: str, ok: bool, message: str) -> None:
        if name not in bad and not ok:
            problems.append((name, message))
            bad.add(name)

    need("schema_version", v.get("schema_version") == SCHEMA_VERSION,
         f"{row['schema_version']!r} is not {SCHEMA_VERSION}; rows of another schema version belong in results/v{row['schema_version']}/")
    need("run_id", bool(_HEX16.fullmatch(row["run_id"])), f"{row['run_id']!r} is not 16 lowercase hex digits")
    need("config_hash", bool(_HEX64.fullmatch(row["config_hash"])), f"{row['config_hash']!r} is not a sha256 in hex")
    if not bad & {"run_id", "config_hash"}:
        need("run_id", row["config_hash"].startswith(row["run_id"]), "is not the start of config_hash")
    need("method", bool(_NAME.fullmatch(row["method"])), f"{row['method']!r} is not a method name (lowercase, digits, '-')")
    need("task", row["task"] in TASKS, f"{row['task']!r} is not a GLUE task ({', '.join(TASKS)})")
    need("data_source", bool(_SOURCE.fullmatch(row["data_source"])), f"{row['data_source']!r} is not hub, glue_dir or embedded (optionally + one of {', '.join(SOURCE_SUFFIXES)})")
    need("seed", "seed" in bad or v["seed"] >= 0, f"{v.get('seed')} is negative")
    for name in ("target_sparsity", "achieved_sparsity"):
        need(name, name in bad or 0.0 <= v[name] < 1.0, f"{v.get(name)} is outside [0, 1)")
    for name in ("train_examples", "params_total", "model_size_mb"):
        need(name, name in bad or v[name] > 0, f"{v.get(name)} is not positive")
    for name in ("flops", "peak_mem_mb", "train_seconds"):
        need(name, name in bad or v[name] is None or v[name] >= 0, f"{v.get(name)} is negative")
    for name in ("latency_ms", "throughput"):
        need(name, name in bad or v[name] is None or v[name] > 0, f"{v.get(name)} is not positive")
    if not bad & {"params_total", "params_nonzero"}:
        need("params_nonzero", 0 <= v["params_nonzero"] <= v["params_total"], f"{v['params_nonzero']} is outside [0, params_total]")
    if "created_at" not in bad:
        stamp = row["created_at"]
        ok = bool(_TIME.fullmatch(stamp))
        if ok:
            try:
                datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                ok = False
        need("created_at", ok, f"{stamp!r} is not a time like 2026-01-31T12:00:00+00:00")
    try:
        _json_object(row["method_params"])
    except ValueError as exc:
        need("method_params", False, str(exc))
    task = TASKS.get(row["task"])
    if task is not None:
        expected = "+".join(task.primary)
        need("metric", row["metric"] == expected, f"{row['metric']!r} is not {expected!r}, the primary metric of {task.name}")
        low = -100.0 if CORRELATIONS & set(task.primary) else 0.0
        for name in ("score", "dense_score"):
            need(name, name in bad or low <= v[name] <= 100.0, f"{v.get(name)} is outside [{low:g}, 100] for {expected}")
        problems += [("metrics", m) for m in _check_metrics(row["metrics"], task, v.get("score") if "score" not in bad else None)]
    return problems


def _check_metrics(text: str, task, score: float | None) -> list[str]:
    try:
        metrics = _json_object(text)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    missing = [m for m in task.metrics if m not in metrics]
    if missing:
        problems.append(f"missing {missing}; {task.name} reports {list(task.metrics)}")
    for name, value in metrics.items():
        low, high = _metric_range(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"{name}={value!r} is not a finite number")
        elif not low <= value <= high:
            problems.append(f"{name}={value} is outside [{low:g}, {high:g}]")
    if not problems and score is not None:
        expected = 100.0 * sum(metrics[m] for m in task.primary) / len(task.primary)
        if abs(score - expected) > SCORE_TOLERANCE * max(1.0, abs(score)):
            problems.append(f"the primary metrics give score {expected!r}, but the row says {score!r}")
    return problems


def _some(names: list[str], n: int = 4) -> str:
    return f"{len(names)} column(s)" + (f" ({', '.join(names[:n])}{', ...' if len(names) > n else ''})" if names else "")


def _header_problem(path: Path, header: list[str], first_values: list[str] | None) -> str:
    if sorted(header) == sorted(COLUMNS):
        return f"header has the schema v{SCHEMA_VERSION} columns in another order; expected {','.join(COLUMNS)}"
    if "schema_version" in header and first_values is not None and len(first_values) == len(header):
        version = first_values[header.index("schema_version")]
        if _INT.fullmatch(version) and int(version) != SCHEMA_VERSION:
            return (f"a schema v{version} file; v{SCHEMA_VERSION} results never mix with another version "
                    f"(results/v{version}/ holds them)")
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    if missing or extra:
        return f"header is not schema v{SCHEMA_VERSION}: missing {_some(missing)}, unexpected {_some(extra)}"
    return f"header repeats a column; expected {','.join(COLUMNS)}"


def validate_results(path: Path) -> Report:
    """Every problem of a results CSV (or row file); raises UsageError only if it cannot be read at all."""
    path = Path(path)
    report = Report(path)

    def problem(line: int, column: str | None, message: str) -> None:
        report.problems.append(Problem(path, line, column, message))

    try:
        f = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    seen: dict[str, int] = {}
    with f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                problem(1, None, f"empty file; expected the schema v{SCHEMA_VERSION} header")
                return report
            if header != list(COLUMNS):
                problem(1, None, _header_problem(path, header, next(reader, None)))
                return report
            for values in reader:
                line = reader.line_num
                if len(values) != len(COLUMNS):
                    report.rows.append(dict(zip(COLUMNS, values)))
                    report.lines.append(line)
                    problem(line, None, "blank line" if not values else f"{len(values)} values, expected {len(COLUMNS)}")
                    continue
                row = dict(zip(COLUMNS, values))
                report.rows.append(row)
                report.lines.append(line)
                for column, message in check_row(row):
                    problem(line, column, message)
                run_id = row["run_id"]
                if run_id in seen:
                    problem(line, "run_id", f"{run_id} already on line {seen[run_id]}: one row per run")
                else:
                    seen[run_id] = line
        except UnicodeDecodeError as exc:
            problem(reader.line_num + 1, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        except csv.Error as exc:
            problem(reader.line_num, None, f"malformed CSV ({exc})")
    report.warnings = ratio_warnings(path, report.rows)
    return report


def ratio_warnings(path: Path, rows: list[dict[str, str]]) -> list[str]:
    """One warning per (model, task) whose dense score is at or below the floor of `analysis/retained.py`:
    valid rows, but their retained score (score / dense score) is undefined and the analysis leaves the task
    out of every ratio metric."""
    from prunebench.analysis.retained import MIN_DENSE_SCORE, undefined_rows

    return [f"{path}: dense_score: {n} row(s) of {model} {task} have a dense score at or below {MIN_DENSE_SCORE:g} "
            f"points (lowest {low:g}): retained = score / dense score is undefined there; tables, leaderboard and "
            "paper leave this task out of every ratio (analysis/retained.py)"
            for (model, task), (n, low) in sorted(undefined_rows(rows).items())]

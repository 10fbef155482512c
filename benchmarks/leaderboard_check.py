"""Is a method's submission to the leaderboard complete, made by the leaderboard's recipe, and reproducible?

The leaderboard grid (`config/leaderboard.yaml`) fixes the model, tasks, seeds, sparsities per method kind,
data and recipe that every ranked method covers. A contributor runs it for one method
(``python scripts/run_grid.py config/leaderboard.yaml --only METHOD --check``) and sends the method module and
the rows; a maintainer runs `check_rows` on them, then re-runs a sampled cell and compares it with
`compare_rows` within the GPU tolerance of README.md ("Determinism on GPU").

A row is consistent with the grid when its file sits at the grid's path, it passes `prunebench validate`, it
is publishable (`merge.why_not_published`: full data, no samples), its coordinates (method, model, task, seed,
target sparsity, data source) are the grid's, and the identity its ``config_hash`` was made from (recorded in
its sidecar) is the one this checkout computes for that cell: task version, data fingerprint, method version
and parameters, seed and the whole recipe (`runner.Prepared.identity`), so a row trained with another recipe,
other data or another version of the method is named with the part that differs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .grid import GridRun, registry_name, runs
from .workflow_config import PROJECT_ROOT, check_config, load_yaml

LEADERBOARD_CONFIG = PROJECT_ROOT / "config" / "leaderboard.yaml"
# README.md, "Determinism on GPU": how far two GPU runs of one config may land apart. The floor holds on large
# dev sets; on small ones a few borderline predictions decide more (v1's rows made twice on the same MRPC
# checkpoints differed by up to 0.75 points, a metric by 4 of 408 examples: results/v2/grid-throughput/
# call3-agreement.csv), so the bound is also
# FLIPS examples' worth of the task's dev set.
TOLERANCE = {"score": 0.5, "dense_score": 0.5, "metrics": 0.005, "achieved_sparsity": 0.001}
FLIPS = 4
ROUNDING = 1e-9  # a gap of exactly the bound (x/n against (x - FLIPS)/n) is within it, whatever the float rounding


def tolerance(task: str) -> dict[str, float]:
    """The GPU tolerance of a task's rows: score and dense_score within max(0.5, 100·FLIPS/n) points, every metric
    within max(0.005, FLIPS/n), n the size of the task's full dev set (the floor alone where n is not known, e.g.
    STS-B, whose metrics are correlations); achieved_sparsity within 0.001 (it does not depend on the GPU)."""
    from prunebench.analysis.chance import EVAL_LABEL_COUNTS

    n = sum(EVAL_LABEL_COUNTS.get(task, ()))
    share = FLIPS / n if n else 0.0
    return {"score": max(TOLERANCE["score"], 100 * share), "dense_score": max(TOLERANCE["dense_score"], 100 * share),
            "metrics": max(TOLERANCE["metrics"], share), "achieved_sparsity": TOLERANCE["achieved_sparsity"]}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def method_runs(config_path: Path, method: str) -> tuple[dict, list[GridRun]]:
    """The checked leaderboard config and the grid cells of `method` (a registry name or a config key)."""
    config = check_config(load_yaml(config_path))
    keys = [k for k in config["methods"] if k == method or registry_name(k) == method]
    if not keys:
        raise UsageError(f"method {method!r} is not in {config_path}'s grid (listed or through all_methods); "
                         f"grid methods: {', '.join(sorted(config['methods']))}")
    return config, [r for r in runs(config) if r.method in keys]


def expected_identity(run: GridRun, data_source: str) -> dict:
    """What this checkout hashes into a grid cell's config_hash (checks names, reads the data; trains nothing)."""
    from .config import RunConfig, TrainConfig, parse_overrides
    from .runner import prepare

    cfg = RunConfig(model=run.model, task=run.task, method=registry_name(run.method), sparsity=run.sparsity,
                    seed=run.seed, method_params=dict(run.params), train=parse_overrides(TrainConfig(), run.train),
                    data_source=data_source)
    return prepare(cfg).identity()


def identity_problems(row: dict, path: Path, expected: dict) -> list[str]:
    """How a row's recorded identity (its sidecar's, which its config_hash must be the hash of) departs from the
    grid cell's. The model part is left out: the same model may come as other weight files (the GPU machine
    loads an fp16 copy of MiniLM), whose fingerprint differs while the row's `model` column is the grid's."""
    from .config import canonical_hash

    try:
        recorded = json.loads(path.with_suffix(".json").read_text())["identity"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"no readable {path.with_suffix('.json').name} (the run's full config): send it with the row"]
    if canonical_hash(recorded) != row["config_hash"]:
        return ["config_hash is not the hash of the sidecar's identity: the row and its sidecar do not belong together"]
    return [f"{key} is {json.dumps(recorded.get(key), default=str)}, the grid cell's is {json.dumps(expected[key], default=str)}"
            for key in sorted(expected) if key != "model"
            and json.dumps(recorded.get(key), sort_keys=True, default=str) != json.dumps(expected[key], sort_keys=True, default=str)]


def check_rows(config_path: Path, method: str, root: Path) -> tuple[int, list[Problem]]:
    """(cells in the grid, problems) for `method`'s rows under `root` (a folder holding results/v1/runs/...)."""
    from .merge import why_not_published
    from .validate_results import validate_results

    config, cells = method_runs(config_path, method)
    problems: list[Problem] = []
    for run in cells:
        path = root / run.path
        if not path.is_file():
            problems.append(Problem(run.path, "missing"))
            continue
        report = validate_results(path)
        if report.problems or len(report.rows) != 1:
            problems.append(Problem(run.path, str(report.problems[0]) if report.problems else "not one row"))
            continue
        row = report.rows[0]
        wanted = {"method": registry_name(run.method), "model": run.model, "task": run.task, "seed": str(run.seed)}
        for column, value in wanted.items():
            if row[column] != value:
                problems.append(Problem(run.path, f"{column} is {row[column]!r}, the grid says {value!r}"))
        if not math.isclose(float(row["target_sparsity"]), run.sparsity, abs_tol=1e-9):
            problems.append(Problem(run.path, f"target_sparsity is {row['target_sparsity']}, the grid says {run.sparsity}"))
        reason = why_not_published(row, path)
        if reason:
            problems.append(Problem(run.path, f"not publishable: {reason}"))
        if config.get("data_source", "auto") != "auto" and row["data_source"].split(":")[0] != config["data_source"]:
            problems.append(Problem(run.path, f"data_source is {row['data_source']!r}, the grid uses {config['data_source']!r}"))
        expected = expected_identity(run, config.get("data_source", "auto"))
        problems += [Problem(run.path, text) for text in identity_problems(row, path, expected)]
    return len(cells), problems


def compare_rows(first: Path, second: Path) -> list[str]:
    """Differences beyond the task's `tolerance` between two row files of the same grid cell (empty: they agree)."""
    from .records import read_rows

    (a,), (b,) = read_rows(first), read_rows(second)
    if a["config_hash"] != b["config_hash"]:
        return [f"config_hash differs ({a['config_hash'][:12]} vs {b['config_hash'][:12]}): not the same config"]
    out, bound = [], tolerance(a["task"])
    for column in ("score", "dense_score", "achieved_sparsity"):
        gap = abs(float(a[column]) - float(b[column]))
        if gap > bound[column] + ROUNDING:
            out.append(f"{column} {a[column]} vs {b[column]}: {gap:.4g} apart, tolerance {bound[column]:.4g}")
    ma, mb = json.loads(a["metrics"]), json.loads(b["metrics"])
    for key in sorted(set(ma) | set(mb)):
        if key not in ma or key not in mb:
            out.append(f"metrics.{key} is in only one of the rows")
        elif abs(ma[key] - mb[key]) > bound["metrics"] + ROUNDING:
            out.append(f"metrics.{key} {ma[key]} vs {mb[key]}: beyond {bound['metrics']:.4g}")
    return out


def recheck(config_path: Path, method: str, root: Path, rerun_root: Path) -> tuple[int, list[Problem]]:
    """(cells compared, problems): every grid cell of `method` re-run under `rerun_root`, against `root`'s row."""
    _, cells = method_runs(config_path, method)
    compared, problems = 0, []
    for run in cells:
        again = rerun_root / run.path
        if not again.is_file():
            continue
        if not (root / run.path).is_file():
            problems.append(Problem(run.path, f"re-run here, but {root} holds no row to compare with"))
            continue
        compared += 1
        problems += [Problem(run.path, text) for text in compare_rows(root / run.path, again)]
    if not compared and not problems:
        raise UsageError(f"no row of {method} under {rerun_root} to compare: re-run a cell first")
    return compared, problems

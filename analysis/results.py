"""Load and validate ``results/v1/results.csv``; aggregate seeds.

Every analysis output starts from ``load_results``: it refuses a file that is not schema v1 (so a table
is never silently built from a different layout), checks the value ranges the tables rely on, and adds
the regime columns of ``regimes.classify``. ``aggregate`` then summarises the seeds of each
(model, task, regime, method, target sparsity) cell as mean, sample standard deviation and a bootstrap
95% interval of the mean. Every cell's bootstrap starts a fresh RNG from the same fixed seed, so a cell's
interval depends only on its own scores, never on which other cells the CSV holds or their order.
A method run with several parameter sets (config keys ``<method>@<label>``) is shown as one method per set
(``method_variants``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from prunebench.benchmarks.records import COLUMNS, SCHEMA_VERSION

from .labels import model_label, model_slug, task_label
from .regimes import classify
from .retained import retained

DENSE = "dense"  # the harness's baseline method: its rows are the `dense_score` of every other row
SPARSITY_DECIMALS = 6  # target sparsities are grouped after rounding, so 0.7 and 0.7000000001 are one cell
CELL = ["model", "task", "regime", "method", "target_sparsity"]
CURVE = ["model", "task", "regime"]

NUMERIC = ["seed", "target_sparsity", "achieved_sparsity", "score", "dense_score", "train_examples", "params_total",
           "params_nonzero", "flops", "latency_ms", "throughput", "peak_mem_mb", "model_size_mb", "train_seconds"]
REQUIRED = ["method", "model", "task", "seed", "target_sparsity", "score", "dense_score", "data_source", "train_examples"]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


class ResultsError(ValueError):
    """The CSV cannot be analysed as it is; the message names the file, row and column."""


def load_results(path: str | Path) -> pd.DataFrame:
    """The merged CSV as a DataFrame with typed columns plus regime and label columns."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not a results CSV ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from exc
    if tuple(df.columns) != COLUMNS:
        missing = [c for c in COLUMNS if c not in df.columns]
        shown = f"{missing[:4]}{' and %d more' % (len(missing) - 4) if len(missing) > 4 else ''}"
        raise ResultsError(f"{path}: columns are not schema v{SCHEMA_VERSION} (missing: {shown if missing else 'none; order differs'})")
    wrong = df.index[df["schema_version"] != str(SCHEMA_VERSION)]
    if len(wrong):
        raise ResultsError(f"{path}: row {wrong[0] + 2} has schema_version {df.at[wrong[0], 'schema_version']!r}")
    for col in REQUIRED:
        empty = df.index[df[col].str.strip() == ""]
        if len(empty):
            raise ResultsError(f"{path}: row {empty[0] + 2} has no {col}")
    for col in NUMERIC:
        values = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
        bad = df.index[values.isna() & (df[col] != "")]
        if len(bad):
            raise ResultsError(f"{path}: row {bad[0] + 2}, column {col}: {df.at[bad[0], col]!r} is not a number")
        df[col] = values
    df["seed"] = df["seed"].astype(int)
    df["train_examples"] = df["train_examples"].astype(int)
    df["target_sparsity"] = df["target_sparsity"].round(SPARSITY_DECIMALS)
    for col in ("score", "dense_score"):
        out = df.index[(df[col] < -100) | (df[col] > 100)]
        if len(out):
            raise ResultsError(f"{path}: row {out[0] + 2}: {col} {df.at[out[0], col]} is outside the 0-100 score range")
    out = df.index[(df["target_sparsity"] < 0) | (df["target_sparsity"] >= 1)]
    if len(out):
        raise ResultsError(f"{path}: row {out[0] + 2}: target_sparsity {df.at[out[0], 'target_sparsity']} is outside [0, 1)")
    duplicated = df.duplicated(["run_id"], keep=False) & (df["run_id"] != "")
    if duplicated.any():
        raise ResultsError(f"{path}: run_id {df.loc[duplicated, 'run_id'].iloc[0]} appears more than once")
    # Structured methods state their target in whole units (share of heads, neurons or layers), which removes
    # far fewer weights than the same share of single weights. Every curve, table and ranking therefore places
    # a row at the share of encoder linear weights it really removed (`achieved_sparsity`, measured on the final
    # model); for unstructured methods the two agree to rounding. The asked-for value stays in `target_units`.
    df["method"] = method_variants(df)
    df["target_units"] = df["target_sparsity"]
    measured = df["achieved_sparsity"].round(2)
    df["target_sparsity"] = measured.where(measured.notna(), df["target_sparsity"])
    return add_labels(df)


def _params(text: str) -> dict:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return {k: v for k, v in value.items() if k != "_info"} if isinstance(value, dict) else {}


def _distinguishing(keys: list[str], sets: list[dict]) -> list[str]:
    """`keys` less those the others already tell apart (distillation's ``base_params`` follow its ``base``), so a
    label names what varies, not everything that comes with it; the longest values are dropped first."""
    def labels(ks: list[str]) -> int:
        return len({tuple(json.dumps(p.get(k), sort_keys=True) for k in ks) for p in sets})

    needed = labels(keys)
    for key in sorted(keys, key=lambda k: -max(len(json.dumps(p.get(k))) for p in sets)):
        fewer = [k for k in keys if k != key]
        if fewer and labels(fewer) == needed:
            keys = fewer
    return keys


def method_variants(df: pd.DataFrame) -> pd.Series:
    """The method name each row is shown under: the registry name, or, when a method ran with more than one
    parameter set (e.g. distillation on two base methods), ``name(key=value, ...)`` with the parameters that
    differ, so variants never share a curve, a table cell or a leaderboard line."""
    params = df["method_params"].map(_params)
    names = df["method"].copy()
    for method, index in df.groupby("method", sort=False).groups.items():
        sets = [params[i] for i in index]
        encoded = [json.dumps(p, sort_keys=True) for p in sets]
        if len(set(encoded)) < 2:
            continue
        keys = sorted(k for k in set().union(*sets) if len({json.dumps(p.get(k), sort_keys=True) for p in sets}) > 1)
        keys = _distinguishing(keys, sets)
        for i, p in zip(index, sets):
            names[i] = f"{method}(" + ", ".join(f"{k}={p.get(k)}" for k in keys) + ")"
    return names


def add_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Regime and display columns; kept apart from loading so fixtures built in memory get the same columns."""
    try:
        regimes = [classify(t, s, n) for t, s, n in zip(df["task"], df["data_source"], df["train_examples"])]
    except ValueError as exc:
        raise ResultsError(str(exc)) from None
    df = df.copy()
    df["regime"] = [r.key for r in regimes]
    df["regime_family"] = [r.family for r in regimes]
    df["regime_label"] = [r.label for r in regimes]
    df["qqp_subset"] = [r.qqp_subset for r in regimes]
    df["variant"] = [r.variant for r in regimes]
    df["model_slug"] = df["model"].map(model_slug)
    df["model_label"] = df["model"].map(model_label)
    df["task_label"] = [task_label(t, v) for t, v in zip(df["task"], df["variant"])]
    df["retained"] = retained(df)  # NaN where the dense score makes the ratio meaningless (analysis/retained.py)
    return df


def bootstrap_ci(values: np.ndarray | list[float], resamples: int = BOOTSTRAP_RESAMPLES, level: float = CONFIDENCE,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean: resample the seeds with replacement `resamples` times.

    With fewer than two values there is no spread to resample, so the interval is (NaN, NaN) and figures
    draw no error bar rather than a misleading zero-width one.
    """
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def summarise(values: pd.Series | np.ndarray | list[float]) -> dict[str, float]:
    """mean, sample std (ddof=1; NaN for one seed), n and the bootstrap interval of one cell."""
    x = np.asarray(values, dtype=float)
    low, high = bootstrap_ci(x)
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else np.nan,
        "n": int(x.size),
        "ci_low": low,
        "ci_high": high,
    }


def aggregate(df: pd.DataFrame, value: str = "score", by: list[str] | None = None) -> pd.DataFrame:
    """One row per cell (default: model, task, regime, method, target sparsity) summarising `value` over seeds."""
    by = by or CELL
    rows = []
    for key, group in df.groupby(by, sort=True, dropna=False):
        stats = summarise(group[value].to_numpy())
        rows.append({**dict(zip(by, key)), **stats, "seeds": ",".join(str(s) for s in sorted(group["seed"]))})
    columns = [*by, "mean", "std", "n", "ci_low", "ci_high", "seeds"]
    return pd.DataFrame(rows, columns=columns)


def dense_baselines(df: pd.DataFrame) -> pd.DataFrame:
    """Dense score per (model, task, regime): the dense rows' seed mean.

    Where no dense row was merged (a CSV holding pruned rows only), the `dense_score` recorded in the pruned
    rows is used instead, one value per seed. Column `source` says which.
    """
    rows = []
    for key, group in df.groupby(CURVE, sort=True):
        dense = group[group["method"] == DENSE]
        if len(dense):
            stats, source = summarise(dense["score"].to_numpy()), "dense rows"
        else:
            per_seed = group.drop_duplicates("seed")["dense_score"].to_numpy()
            stats, source = summarise(per_seed), "dense_score column"
        rows.append({**dict(zip(CURVE, key)), **stats, "source": source})
    return pd.DataFrame(rows, columns=[*CURVE, "mean", "std", "n", "ci_low", "ci_high", "source"])


def curve_keys(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Every (model, task, regime) that has at least one row, sorted: one figure / one table each."""
    return sorted({tuple(k) for k in df[CURVE].itertuples(index=False, name=None)})


def pruning_methods(df: pd.DataFrame) -> list[str]:
    """Methods other than the dense baseline, sorted by name: the CSV is the only method list."""
    return sorted(m for m in df["method"].unique() if m != DENSE)


def check_method_names(methods: list[str], df: pd.DataFrame, source: str | Path, flag: str = "--methods") -> None:
    """Raise ResultsError naming each of `methods` (given by option `flag`) that is neither registered (its name
    before any "(parameters)") nor a ``method`` of `df` (read from `source`): a registered method without rows yet
    is a table's "not run", any other name is a typo, refused before anything is computed."""
    from prunebench.methods.registry import available

    registered, present = set(available()), set(df["method"])

    def known(name: str) -> bool:  # 'distillation(base=obert)': the method and a base it names are registered
        method, _, params = name.partition("(")
        bases = [v for k, _, v in (p.partition("=") for p in params.rstrip(")").split(",")) if k.strip() == "base"]
        return name in present or (method in registered and all(b.strip() in registered for b in bases))

    if unknown := sorted(m for m in methods if not known(m)):
        raise ResultsError(
            f"{flag} {','.join(unknown)}: not a registered method nor a method of {source}; it has "
            f"{', '.join(sorted(present - {DENSE}))} (a method run with several parameter sets is named by them, "
            "e.g. 'distillation(base=obert)', not by its config label; quote such names)")


def describe(df: pd.DataFrame, model: str, task: str, regime: str) -> dict[str, str]:
    """Labels of one (model, task, regime) for captions and titles."""
    row = df[(df["model"] == model) & (df["task"] == task) & (df["regime"] == regime)].iloc[0]
    return {"model": row["model_label"], "task": row["task_label"], "regime": row["regime_label"],
            "model_slug": row["model_slug"], "metric": row["metric"]}

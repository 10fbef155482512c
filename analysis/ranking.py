"""The leaderboard: one ranking of pruning methods per model and regime family.

For every (model, regime family, method), each metric is computed per task from the method's curve and
then averaged over the tasks where it is defined (``n_tasks`` says over how many):

- ``retained_<p>``: score retained at sparsity p (50, 70, 90 %): seed mean of score / dense_score, where
  dense_score is the dense run of the same seed. Only a measured sparsity counts: no interpolation.
- ``max_safe_sparsity``: the safe-zone end of ``phases`` (largest sparsity within 1 point of dense, all
  smaller ones too); 0 where no pruned point is safe, so that the average is over the same tasks.
- ``auc``: area under retained(s) by the trapezoid rule over the method's measured sparsities (the dense
  point is not included), divided by the covered range s_max - s_min: the mean retained score over the
  range the method was run on (1.0 = lossless throughout). One measured point: its retained value.
  ``auc_from`` / ``auc_to`` give the range, because means over different ranges are not comparable.

Methods are compared only with methods on the same sparsity grid (``grid``): structured methods remove heads,
neurons or layers on a grid of their own (their weight sparsities run from about 8% to 83%), every other
method prunes weights at 50-90%, and a mean retained score over 8-25% says nothing against one over 50-90%.
Within a (model, regime family, grid), only *complete* methods get a rank: those run on every task of that
family and grid over the whole range of target sparsities of the grid (``complete``; targets, because a
structured method's target is a share of heads, neurons or layers and its weight sparsity differs from method
to method). They are ranked by ``auc`` (higher first), then by ``retained`` at the highest leaderboard
sparsity, then by name, but only where every complete method's AUC covers the same weight-sparsity range:
structured methods at the same targets remove different shares of weights (half the heads is a sixth of the
encoder weights, half the layers is half), and a mean over 8-25% is not comparable with one over 33-67%, so
there complete methods are listed with no rank (``comparable`` is false). Partial methods follow in the same
order with no rank: a method measured on fewer tasks, or only at some sparsities, would otherwise win on a
mean over its easier ground. Method names and kinds come from the CSV and the method registry: a new method appears
after the next ``snakemake`` with no change here.

Uncertainty (``analysis/intervals.py``): every retained and AUC cell carries a 95% interval (``<metric>_ci_low``,
``<metric>_ci_high``), a bootstrap over seeds stratified by task; the rows hold no per-example predictions, so the
dev set's own sampling error is not in it. A complete method is ranked only with at least ``MIN_SEEDS`` seeds of
its whole curve on every task (``seeds`` is its fewest); among the ranked, the leader by AUC and every method whose
AUC interval overlaps the leader's share rank 1 (``tied``). ``vs_baseline`` is the best baseline of the method's
family (a method class with ``family_baseline = True``: the one-shot magnitude and random masks of a fine-tuned
start, magnitude of the pre-trained weights for a pre-trained start; structured methods, and distillation, whose
start is its base method's, have none): of those measured over the same sparsity range on every task of the
method, the one of highest AUC over those tasks. ``vs_baseline_auc_diff`` is the method's AUC minus that
baseline's on the same (task, seed) cells, with its interval (``_ci_low``, ``_ci_high``) and the number of
paired cells (``vs_baseline_pairs``); the best baseline itself has none.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .curves import Curve, build_curves
from .intervals import MIN_SEEDS, paired_difference, stratified_interval, tie_ranks
from .labels import model_label, percent
from .regimes import family_label
from .results import DENSE, aggregate
from .retained import defined_rows, left_out_note, undefined_groups

LEADERBOARD_SPARSITIES = (0.5, 0.7, 0.9)
SPARSITY_DECIMALS = 6


def retained_column(s: float) -> str:
    return f"retained_{percent(s)}"


def normalised_auc(sparsity: np.ndarray, retained: np.ndarray) -> float:
    """Trapezoid area under retained(s) over the measured points, divided by the sparsity range they cover."""
    if sparsity.size == 0:
        return math.nan
    if sparsity.size == 1:
        return float(retained[0])
    area = float(np.sum((retained[1:] + retained[:-1]) / 2 * np.diff(sparsity)))
    return area / float(sparsity[-1] - sparsity[0])


def registered(method: str):
    """The registry's class of a shown method name (of a variant's method: ``distillation(base=...)``), or None
    for a name the registry does not know (e.g. rows from elsewhere)."""
    try:
        from prunebench.methods.registry import get

        return get(method.partition("(")[0])
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def method_kind(method: str) -> str:
    """The registry's kind of a method; empty for a name the registry does not know."""
    return str(getattr(registered(method), "kind", ""))


def per_task(df: pd.DataFrame, curves: list[Curve] | None = None) -> pd.DataFrame:
    """The leaderboard metrics of every (model, task, regime, method) curve, before averaging over tasks."""
    curves = build_curves(df) if curves is None else curves
    retained = aggregate(df[df["method"] != DENSE], value="retained")
    retained = retained.set_index(["model", "task", "regime", "method", "target_sparsity"])["mean"]
    family = df.groupby(["model", "task", "regime"])["regime_family"].first().to_dict()
    rows = []
    for c in curves:
        r = np.array([retained[(c.model, c.task, c.regime, c.method, s)] for s in c.sparsity])
        safe = c.phases().safe_end
        row = {"model": c.model, "regime_family": family[(c.model, c.task, c.regime)], "task": c.task,
               "regime": c.regime, "method": c.method}
        for s in LEADERBOARD_SPARSITIES:
            hit = np.isclose(c.sparsity, s, atol=10**-SPARSITY_DECIMALS)
            row[retained_column(s)] = float(r[hit][0]) if hit.any() else math.nan
        row["max_safe_sparsity"] = 0.0 if math.isnan(safe) else safe
        row["auc"] = normalised_auc(c.sparsity, r)
        row["auc_from"], row["auc_to"] = float(c.sparsity[0]), float(c.sparsity[-1])
        rows.append(row)
    return pd.DataFrame(rows)


GRIDS = ("weights", "structured")  # the sparsity grids methods are compared on, in table order


def method_grid(kind: str) -> str:
    """Structured methods are swept over heads / neurons / layers, every other kind over weight shares."""
    return "structured" if kind == "structured" else "weights"


INTERVAL_METRICS = [*(retained_column(s) for s in LEADERBOARD_SPARSITIES), "auc"]  # the cells with a 95% interval
LEADERBOARD_COLUMNS = ["model", "model_label", "regime_family", "regime_label", "grid", "rank", "tied", "method", "kind",
                       "n_tasks", "tasks", "seeds", *[retained_column(s) for s in LEADERBOARD_SPARSITIES],
                       "max_safe_sparsity", "auc", "auc_from", "auc_to",
                       *[f"{m}_ci_{end}" for m in INTERVAL_METRICS for end in ("low", "high")],
                       "vs_baseline", "vs_baseline_auc_diff", "vs_baseline_auc_diff_ci_low", "vs_baseline_auc_diff_ci_high",
                       "vs_baseline_pairs", "complete", "comparable"]


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, regime family, task, method, seed): the AUC of that seed's own retained curve (only for a seed
    measured at every sparsity of the method's curve on the task, so every seed's AUC covers the same range) and
    its retained score at each leaderboard sparsity. The seed mean of these is the curve's value in ``per_task``."""
    pruned = df[df["method"] != DENSE]
    rows = []
    for (model, fam, task, method), g in pruned.groupby(["model", "regime_family", "task", "method"], sort=True):
        levels = np.sort(g["target_sparsity"].unique())
        for seed, s in g.groupby("seed", sort=True):
            r = s.groupby("target_sparsity")["retained"].mean()
            row = {"model": model, "regime_family": fam, "task": task, "method": method, "seed": int(seed),
                   "auc": normalised_auc(levels, r.reindex(levels).to_numpy()) if len(r) == len(levels) else math.nan}
            for p in LEADERBOARD_SPARSITIES:
                hit = r[np.isclose(r.index.to_numpy(dtype=float), p, atol=10**-SPARSITY_DECIMALS)]
                row[retained_column(p)] = float(hit.iloc[0]) if len(hit) else math.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=["model", "regime_family", "task", "method", "seed", *INTERVAL_METRICS])


def baseline_family(method: str) -> str:
    """The family a method is compared with a baseline in: where its pruning starts (``finetuned`` or
    ``pretrained``, the registry's ``starts_from``), or ``structured``; "" for a name the registry does not know."""
    cls = registered(method)
    if cls is None:
        return ""
    if cls.kind == "structured":
        return "structured"
    # a start that depends on the parameters (distillation: its base method's) is not known from the name
    return cls.starts_from if isinstance(cls.starts_from, str) else ""


def is_family_baseline(method: str) -> bool:
    """True for a method its class marks as its family's baseline (``family_baseline = True``)."""
    return bool(getattr(registered(method), "family_baseline", False))


def _with_uncertainty(board: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """Intervals, seed counts and the paired difference to the family's best baseline, per leaderboard row."""
    cells = {key: g for key, g in seeds.groupby(["model", "regime_family", "method"])}
    empty = seeds.iloc[0:0]

    def of(r) -> pd.DataFrame:
        g = cells.get((r.model, r.regime_family, r.method), empty)
        return g[g["task"].isin(r.tasks.split())]

    counts, intervals = [], {f"{m}_ci_{end}": [] for m in INTERVAL_METRICS for end in ("low", "high")}
    for r in board.itertuples():
        g = of(r)
        counts.append(min(int(g.loc[g["task"] == t, "auc"].notna().sum()) for t in r.tasks.split()))
        for m in INTERVAL_METRICS:
            _, low, high = stratified_interval({t: g.loc[g["task"] == t, m].tolist() for t in r.tasks.split()})
            intervals[f"{m}_ci_low"].append(low)
            intervals[f"{m}_ci_high"].append(high)
    board = board.assign(seeds=counts, **intervals)
    # each method's baseline: among its family's baselines with the same AUC range and a per-seed AUC on every one
    # of the method's tasks, the best mean AUC over those tasks (same tasks, so the comparison is like for like)
    board["start_family"] = board["method"].map(baseline_family)
    baselines = board["method"].map(is_family_baseline)  # registry look-ups once, not per pair of rows
    diffs = {k: [] for k in ("vs_baseline", "diff", "low", "high", "pairs")}

    def task_auc(method_cells: pd.DataFrame, tasks: list[str]) -> float:
        by_task = method_cells.groupby("task")["auc"].mean()
        return float(by_task.reindex(tasks).mean()) if by_task.reindex(tasks).notna().all() else math.nan

    for r in board.itertuples():
        tasks = r.tasks.split()
        peers = board[(board["model"] == r.model) & (board["regime_family"] == r.regime_family) & (board["grid"] == r.grid)
                      & (board["start_family"] == r.start_family) & (board["method"] != r.method)
                      & baselines & np.isclose(board["auc_from"], r.auc_from)
                      & np.isclose(board["auc_to"], r.auc_to)] if r.start_family else board.iloc[0:0]
        scored = {b: task_auc(cells.get((r.model, r.regime_family, b), empty), tasks) for b in sorted(peers["method"])}
        scored = {b: v for b, v in scored.items() if not math.isnan(v)}
        base = min(scored, key=lambda b: (-scored[b], b)) if scored else ""
        # a baseline is compared with a better baseline only: the best one has none
        if base and baselines[r.Index] and task_auc(of(r), tasks) >= scored[base]:
            base = ""
        result = {"diff": math.nan, "low": math.nan, "high": math.nan, "pairs": 0}
        if base:
            mine, theirs = of(r), cells.get((r.model, r.regime_family, base), empty)
            result = paired_difference({(t, s): v for t, s, v in zip(mine["task"], mine["seed"], mine["auc"])},
                                       {(t, s): v for t, s, v in zip(theirs["task"], theirs["seed"], theirs["auc"])})
        diffs["vs_baseline"].append(base)
        for k in ("diff", "low", "high", "pairs"):
            diffs[k].append(result[k])
    return board.drop(columns="start_family").assign(
        vs_baseline=diffs["vs_baseline"], vs_baseline_auc_diff=diffs["diff"], vs_baseline_auc_diff_ci_low=diffs["low"],
        vs_baseline_auc_diff_ci_high=diffs["high"], vs_baseline_pairs=diffs["pairs"])


def _target_range(df: pd.DataFrame) -> dict[tuple, tuple[float, float]]:
    """(model, regime family, task, method) -> (lowest, highest) target it was run at, as asked for (`target_units`
    of `results.load_results`: rows are placed at their measured weight sparsity, `target_sparsity`)."""
    pruned = df[df["method"] != DENSE]
    keys = ["model", "regime_family", "task", "method"]
    column = "target_units" if "target_units" in df else "target_sparsity"
    return {k: (round(v.min(), SPARSITY_DECIMALS), round(v.max(), SPARSITY_DECIMALS)) for k, v in pruned.groupby(keys)[column]}


def leaderboard(df: pd.DataFrame, curves: list[Curve] | None = None) -> pd.DataFrame:
    """One row per (model, regime family, method); complete methods ranked within their (model, family, grid)."""
    tasks, left_out = _ratio_defined_tasks(df, per_task(df, curves))
    if tasks.empty:
        board = pd.DataFrame(columns=LEADERBOARD_COLUMNS)
        board.attrs["left_out"] = left_out
        return board
    tasks["kind"] = tasks["method"].map(method_kind)
    tasks["grid"] = tasks["kind"].map(method_grid)
    metrics = [retained_column(s) for s in LEADERBOARD_SPARSITIES] + ["max_safe_sparsity", "auc"]
    group = ["model", "regime_family", "grid"]
    grid_tasks = tasks.groupby(group)["task"].nunique().to_dict()
    targets = _target_range(df)
    tasks["targets"] = [targets.get((r.model, r.regime_family, r.task, r.method)) for r in tasks.itertuples()]
    grid_targets = {k: (min(t[0] for t in g), max(t[1] for t in g)) for k, g in tasks.groupby(group)["targets"]}
    rows = []
    for (model, fam, grid, method), g in tasks.groupby([*group, "method"], sort=True):
        row = {"model": model, "model_label": model_label(model), "regime_family": fam,
               "regime_label": family_label(fam), "grid": grid, "method": method, "kind": g["kind"].iloc[0],
               "n_tasks": len(g), "tasks": " ".join(sorted(g["task"]))}
        for m in metrics:
            values = g[m].dropna()
            row[m] = float(values.mean()) if len(values) else math.nan
        row["auc_from"], row["auc_to"] = float(g["auc_from"].min()), float(g["auc_to"].max())
        key = (model, fam, grid)
        row["complete"] = bool(g["task"].nunique() == grid_tasks[key] and all(t == grid_targets[key] for t in g["targets"]))
        rows.append(row)
    board = _with_uncertainty(pd.DataFrame(rows), per_seed(defined_rows(df)))  # intervals over the same tasks
    one_range = {key: len(g[["auc_from", "auc_to"]].round(SPARSITY_DECIMALS).drop_duplicates()) == 1
                 for key, g in board[board["complete"]].groupby(group)}
    board["comparable"] = [bool(r.complete and one_range[(r.model, r.regime_family, r.grid)]) for r in board.itertuples()]
    board["grid_order"] = board["grid"].map(GRIDS.index)
    # ranked methods first, then complete ones short of seeds, then partial ones: an unranked method listed above
    # rank 1 (a campaign in progress, one cell short of its third seed) reads as the leader
    board["rankable"] = board["comparable"] & (board["seeds"] >= MIN_SEEDS)
    last = retained_column(LEADERBOARD_SPARSITIES[-1])
    board = board.sort_values(["model", "regime_family", "grid_order", "rankable", "complete", "auc", last, "method"],
                              ascending=[True, True, True, False, False, False, False, True], na_position="last")
    # ranked: comparable and with MIN_SEEDS seeds on every task; methods tied with the leader share rank 1
    board["rank"], board["tied"] = pd.Series(pd.NA, index=board.index, dtype="Int64"), False
    for _, g in board[board["rankable"]].groupby(group, sort=False):
        ranks, tied = tie_ranks(g["auc"], g["auc_ci_low"], g["auc_ci_high"])
        board.loc[g.index, "rank"], board.loc[g.index, "tied"] = ranks, tied & (tied.sum() > 1)  # a lone leader ties no one
    board = board[LEADERBOARD_COLUMNS].reset_index(drop=True)
    board.attrs["left_out"] = left_out  # read by leaderboard_tables for the notes
    return board


def _ratio_defined_tasks(df: pd.DataFrame, tasks: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The per-task rows whose retained score is defined (`analysis/retained.py`), and what was left out:
    (model, regime family) -> {(task, metric, lowest dense score)}. A left-out task leaves every metric, for
    every method, so the methods are still compared over the same tasks."""
    bad = undefined_groups(df)
    if not bad:
        return tasks, {}
    left_out: dict[tuple[str, str], set] = {}
    for model, task, regime in sorted(bad):
        rows = df[(df["model"] == model) & (df["task"] == task) & (df["regime"] == regime)]
        dense = pd.concat([rows["dense_score"], rows.loc[rows["method"] == DENSE, "score"]])
        left_out.setdefault((model, rows["regime_family"].iloc[0]), set()).add((task, rows["metric"].iloc[0], float(dense.min())))
    keep = [(r.model, r.task, r.regime) not in bad for r in tasks.itertuples()] if len(tasks) else []
    return tasks[np.array(keep, dtype=bool)], left_out


def _coverage(r) -> str:
    if not r.complete:
        return "partial"
    if not r.comparable:
        return "complete, own range"
    return "complete" if r.seeds >= MIN_SEEDS else f"complete, {r.seeds} seed{'s' if r.seeds != 1 else ''}"


def leaderboard_tables(board: pd.DataFrame) -> list:
    """One ``tables.Table`` per (model, regime family, grid)."""
    from .labels import model_slug
    from .tables import MISSING, Table, number

    def share(value: float) -> str:
        return MISSING if math.isnan(value) else f"{100 * value:.1f}%"

    def interval(r, metric: str, text, low_high=None) -> str:
        low, high = (low_high or (getattr(r, f"{metric}_ci_low"), getattr(r, f"{metric}_ci_high")))[:2]
        cell = text(getattr(r, metric) if low_high is None else low_high[2])
        return cell if cell == MISSING or math.isnan(low) else f"{cell} [{text(low)}, {text(high)}]"

    def baseline(r) -> str:
        if not r.vs_baseline or math.isnan(r.vs_baseline_auc_diff):
            return MISSING
        values = (r.vs_baseline_auc_diff_ci_low, r.vs_baseline_auc_diff_ci_high, r.vs_baseline_auc_diff)
        return interval(r, "", lambda v: f"{v:+.3f}", values) + f" vs {r.vs_baseline}"

    tables = []
    headers = ["Rank", "Method", "Kind", "Tasks", *[f"Retained @{percent(s)}%" for s in LEADERBOARD_SPARSITIES],
               "Max safe sparsity", "AUC", "AUC range", "ΔAUC vs family baseline", "Coverage"]
    for (model, fam, grid), g in board.groupby(["model", "regime_family", "grid"], sort=False):
        rows = []
        for r in g.itertuples(index=False):
            rank = MISSING if pd.isna(r.rank) else f"{r.rank} (tied)" if r.tied else str(r.rank)
            rows.append([rank, r.method, r.kind or MISSING, f"{r.n_tasks} ({r.tasks})",
                         *[interval(r, retained_column(s), share) for s in LEADERBOARD_SPARSITIES],
                         f"{percent(r.max_safe_sparsity)}%", interval(r, "auc", lambda v: number(v, 3)),
                         f"{percent(r.auc_from)}–{percent(r.auc_to)}%", baseline(r), _coverage(r)])
        what = ("structured methods (heads, FFN neurons or layers removed, on their own grid)" if grid == "structured"
                else "weight-pruning methods")
        caption = (f"Leaderboard of {model_label(model)}, {family_label(fam)}, {what}. Complete methods ranked by "
                   f"normalised AUC of the retained score; metrics averaged over the tasks listed.")
        notes = ["Retained = score / dense score of the same seed, seed mean. Max safe sparsity: largest sparsity "
                 "within 1 point of dense (0% if none). AUC: trapezoid over measured sparsities / covered range. "
                 "Partial: not run on every task over the whole target-sparsity range of this family and grid; partial "
                 "methods are listed, not ranked. Complete, own range: run everywhere, but its AUC covers another "
                 "weight-sparsity range than other complete methods', so no AUC ranks it against them. "
                 f"{MISSING} = not measured.",
                 f"[low, high]: 95% interval, a bootstrap over seeds stratified by task (training randomness only: no "
                 f"per-example predictions are stored, so the dev set's sampling error is not included). Ranked: complete "
                 f"methods with at least {MIN_SEEDS} seeds on every task ('complete, n seeds' otherwise); (tied): its AUC "
                 f"interval overlaps the leader's, so it shares rank 1. ΔAUC: AUC minus that of the best baseline of its "
                 f"family (same start, fine-tuned or pre-trained weights) on the same tasks and seeds, with its interval."]
        left_out = left_out_note(board.attrs.get("left_out", {}).get((model, fam), ()))
        notes = [f"{notes[0]} {left_out}".rstrip(), *notes[1:]]
        label = f"tab:leaderboard-{model_slug(model)}-{fam}" + ("-structured" if grid == "structured" else "")
        tables.append(Table(headers, rows, caption, label, notes))
    return tables

"""The paper's tables, each made to fit the text width without scaling: the main table, the compact
leaderboard, the phase table, the efficiency summary, and the appendix's per-task tables.

- ``main_table``: one row per method, one column per sparsity that most methods of a grid were run at; each
  cell is the retained score (score / dense score of the same seed, seed mean per task) averaged over the
  full-data tasks the method ran on, with its 95% interval: a bootstrap over seeds stratified by task
  (``intervals.stratified_interval``, the leaderboard's; none where a task has one seed). ``Tasks`` says over how
  many tasks.
- ``leaderboard_table``: ``ranking.leaderboard`` with the columns a reader quotes, its AUC interval
  (``auc_ci_low``/``auc_ci_high``) and ties (``tied``: "=" after the rank) where the ranking provides them.
- ``phase_table``: one row per method, one column per task: where the safe zone ends, the knee, and where
  over-pruning starts (``phases``), in percent of weight sparsity.
- ``efficiency_summary``: measured whole-model speedup of each pruned variant, speed path and execution at
  batch 1, 32 and 128 (``results/v1/efficiency.csv``), next to its FLOP speedup; the CPU runtimes (onnxruntime,
  OpenVINO, DeepSparse) are in ``runtimes.runtime_table`` instead.
- ``appendix_tables``: ``comparison.comparison_table`` for every (model, task, regime) with a pruned row,
  its sparsity columns split into chunks of at most ``APPENDIX_LEVELS`` so a row of "88.12 ± 0.31" cells fits
  the page; the pending cells of each table are counted in one sentence, and listed in full elsewhere.
- ``hub_table``: seed 003's reported DistilBERT numbers, once, beside "pending: needs the Hub".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .comparison import comparison_table, of_table, table_keys, task_order
from .families import FAMILIES, method_family
from .grid import expected_cells, grid_of
from .labels import model_label, percent, task_label
from .ranking import LEADERBOARD_SPARSITIES, retained_column
from .reference import REFERENCE_LABEL, REFERENCE_REGIME
from .regimes import family_label, from_key
from .intervals import MIN_SEEDS, stratified_interval
from .results import DENSE, aggregate
from .tables import MISSING, Table

APPENDIX_LEVELS = 4
HUB = "pending: needs the Hub"


def short(method: str) -> str:
    """A variant's name as tables print it: ``distillation(base=magnitude-global)`` -> ``distillation(magnitude-global)``."""
    return method.replace("(base=", "(")


def _share(value: float) -> str:
    return MISSING if value is None or math.isnan(value) else f"{100 * value:.1f}"


def _order(method: str) -> tuple:
    family = method_family(method)
    return (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), method)


def main_levels(cells: pd.DataFrame, grid: str) -> list[float]:
    """The sparsities of `grid` at which at least half of the grid's methods were measured, so the table shows
    the columns most rows fill (the appendix has every one)."""
    mine = cells[cells["method"].map(grid_of) == grid]
    if mine.empty:
        return []
    count = mine.groupby("target_sparsity")["method"].nunique()
    return sorted(float(s) for s, n in count.items() if s > 0 and n >= mine["method"].nunique() / 2)


def main_table(df: pd.DataFrame, family: str = "full") -> list[Table]:
    """Retained score per method and sparsity, averaged over the tasks of one regime family (see module)."""
    rows = df[(df["regime_family"] == family) & (df["method"] != DENSE)]
    if rows.empty:
        return []
    per_task = aggregate(rows, value="retained", by=["model", "task", "method", "target_sparsity"])
    tables = []
    for model, g in per_task.groupby("model", sort=True):
        for grid in ("weights", "structured"):
            mine = g[g["method"].map(grid_of) == grid]
            levels = main_levels(mine, grid) if grid == "weights" else []
            structured = rows[(rows["model"] == model) & rows["method"].isin(mine["method"])]
            targets = sorted(structured["target_units"].unique()) if grid == "structured" else []
            if mine.empty:
                continue
            body = []
            for method in sorted(mine["method"].unique(), key=_order):
                m = mine[mine["method"] == method]
                cells = []
                units = rows[(rows["method"] == method) & (rows["model"] == model)]
                column = "target_sparsity" if grid == "weights" else "target_units"
                for level in (levels if grid == "weights" else targets):
                    u = units[np.isclose(units[column], level)]
                    cells.append(_interval({t: list(v) for t, v in u.groupby("task")["retained"]}))
                body.append([short(method), str(m["task"].nunique()), *cells])
            if grid == "weights":
                columns = ["Method", "Tasks", *[f"{percent(s)}%" for s in levels]]
            else:
                columns = ["Method", "Tasks", *[f"target {percent(t)}%" for t in targets]]
            what = "weight sparsity" if grid == "weights" else "target share of heads, FFN neurons or layers"
            caption = (f"Retained score (%) of {model_label(model)} by method and {what}, averaged over the "
                       f"{family_label(family).lower()} tasks each method ran on: mean [95% interval].")
            notes = ["Retained = score / dense score of the same seed; mean over tasks of each task's seed mean. Interval: "
                     "95% bootstrap over seeds stratified by task (training randomness only); none where a task has one "
                     "seed. Every cell of every task is in the appendix."]
            label = f"tab:main-{grid}"
            tables.append(Table(columns, body, caption, label, notes, align="l" + "r" * (len(columns) - 1)))
    return tables


def _interval(by_task: dict[str, list[float]]) -> str:
    """"mean [low,high]" in percent: the mean over tasks of each task's seed mean, and its stratified seed bootstrap
    interval (``intervals.stratified_interval``; none where a task has one seed)."""
    if not by_task:
        return MISSING
    estimate, low, high = stratified_interval(by_task)
    if math.isnan(low):
        return _share(estimate)
    return f"{_share(estimate)} [{_share(low)},{_share(high)}]"


def leaderboard_table(board: pd.DataFrame) -> list[Table]:
    """The leaderboard, one table per (model, regime family), both grids one after the other."""
    tables = []
    if board.empty:
        return tables
    for (model, fam), g in board.groupby(["model", "regime_family"], sort=False):
        body = []
        for r in g.itertuples(index=False):
            rank = MISSING if pd.isna(r.rank) else str(r.rank) + ("=" if bool(getattr(r, "tied", False)) else "")
            auc = f"{r.auc:.3f}"
            if not pd.isna(getattr(r, "auc_ci_low", math.nan)):
                auc += f" [{r.auc_ci_low:.3f},{r.auc_ci_high:.3f}]"
            seeds = getattr(r, "seeds", None)
            coverage = ("partial" if not r.complete else f"own range {percent(r.auc_from)}–{percent(r.auc_to)}"
                        if not r.comparable
                        else f"{int(seeds)} seed{'s' if seeds != 1 else ''}" if seeds is not None and seeds < MIN_SEEDS
                        else "complete")
            body.append([rank, short(r.method), str(r.n_tasks),
                         *[_share(getattr(r, retained_column(s))) for s in LEADERBOARD_SPARSITIES],
                         f"{percent(r.max_safe_sparsity)}", auc, coverage])
        columns = ["Rank", "Method", "Tasks", *[f"R@{percent(s)}" for s in LEADERBOARD_SPARSITIES], "Safe",
                   "AUC", "Coverage"]
        caption = (f"Leaderboard of {model_label(model)}, {family_label(fam)}: complete methods ranked by the normalised "
                   f"area under the retained-score curve (AUC), within their sparsity grid.")
        notes = ["R@p: retained score (%) at p% sparsity, mean over tasks. Safe: largest sparsity (%) within 1 point of "
                 "dense. Partial: not run on every task over the grid's whole range, listed unranked; own range: complete, "
                 "but its AUC covers another weight-sparsity range (given, in %); n seeds: complete, "
                 f"but ranked only with at least {MIN_SEEDS} seeds on every task. [low,high]: 95% interval, a bootstrap "
                 "over seeds stratified by task. = after a rank: its AUC interval overlaps the leader's (tied). "
                 "Weight-pruning methods first, then structured ones, each grid ranked on its own."]
        tables.append(Table(columns, body, caption, f"tab:leaderboard-{fam}", notes))
    return tables


def phase_table(phases: pd.DataFrame) -> list[Table]:
    """Safe-zone end / knee / over-pruning start (% sparsity) per method (rows) and task (columns), per model."""
    tables = []
    for model, g in phases.groupby("model", sort=True):
        keys = sorted({(t, r) for t, r in zip(g["task"], g["regime"])}, key=lambda k: (task_order(k[0]), k[1]))
        body = []
        for method in sorted(g["method"].unique(), key=_order):
            cells = []
            for task, regime in keys:
                hit = g[(g["method"] == method) & (g["task"] == task) & (g["regime"] == regime)]
                if hit.empty:
                    cells.append("")
                    continue
                r = hit.iloc[0]
                cells.append("/".join(MISSING if math.isnan(v) else percent(v) for v in (r.safe_end, r.knee, r.over_start)))
            body.append([short(method), *cells])
        columns = ["Method", *[task_label(t, from_key(r).qqp_subset) for t, r in keys]]
        caption = (f"Three phases of {model_label(model)}'s curves: safe zone ends / knee / over-pruning starts, in % "
                   "weight sparsity (measured points only).")
        notes = [f"{MISSING}: not reached within the measured range; empty: not run. Rules in Section 5; structured "
                 "methods at the weight sparsity their targets removed."]
        tables.append(Table(columns, body, caption, f"tab:phases-{model}", notes, align="l" + "c" * len(keys)))
    return tables


SUMMARY_BATCHES = (1, 32, 128)


def efficiency_summary(efficiency: pd.DataFrame | None, model: str) -> Table | None:
    """Measured whole-model speedup over dense at batch 1/32/128 for every pruned variant of `model`."""
    if efficiency is None or efficiency.empty:
        return None
    from .runtimes import REPEAT, runtime_paths

    rows = efficiency[(efficiency["scope"] == "model") & (efficiency["model"] == model)  # CPU runtimes: runtimes.py's table
                      & ~efficiency["variant"].isin([DENSE, REPEAT]) & ~efficiency["path"].isin(runtime_paths())]
    if rows.empty:
        return None
    body = []
    for (device, variant, path, execution), g in rows.groupby(["device", "variant", "path", "execution"], sort=True):
        by_batch = {int(b): v for b, v in zip(g["batch"], g["speedup_vs_dense"])}
        cells = [MISSING if pd.isna(by_batch.get(b, np.nan)) else f"{by_batch[b]:.2f}" for b in SUMMARY_BATCHES]
        body.append([device.split(" (")[0].replace("cuda: NVIDIA ", "").replace(" 80GB HBM3", ""), variant, path,
                     str(execution), f"{g['theoretical_speedup'].iloc[0]:.2f}", *cells])
    columns = ["Device", "Variant", "Path", "Execution", "FLOPs", *[f"b={b}" for b in SUMMARY_BATCHES]]
    threads = sorted({d for d in rows["device"] if d.startswith("cpu")})
    caption = (f"Measured speedup (×) of {model_label(model)}'s whole model over dense on the same device, path "
               f"reference and execution, at batch 1, 32 and 128 (sequence length 128); FLOPs: dense FLOPs / non-zero "
               f"FLOPs.")
    notes = [f"CPU: {', '.join(threads)}. {MISSING}: not measured at that batch. CPU runtimes (onnxruntime, OpenVINO, "
             "DeepSparse): their own table. Every row and batch, and the encoder linears alone: "
             "results/v1/tables/speedup.md."]
    return Table(columns, body, caption, f"tab:efficiency-{model}", notes, align="llllrrrr")


def appendix_tables(df: pd.DataFrame, reported: pd.DataFrame, design: pd.DataFrame | None,
                    pending: pd.DataFrame) -> list[Table]:
    """Every cell of every (model, task, regime) with at least one pruned row, in tables that fit the page."""
    cells = aggregate(df)
    expected = expected_cells(df, design)
    measured = {tuple(k) for k in df.loc[df["method"] != DENSE, ["model", "task", "regime"]].itertuples(index=False)}
    tables = []
    for model, task, regime in table_keys(expected):
        if (model, task, regime) not in measured:
            continue  # no pruned row: the Hub's models (hub_table) and tasks with a dense row only (counted in the text)
        here = of_table(expected, model, task, regime)
        for grid in ("weights", "structured"):
            if grid == "structured" and not (here["grid"] == grid).any():
                continue
            mine = of_table(cells, model, task, regime)
            # only sparsities with a row here: a column of dashes says nothing the pending sentence does not
            levels = sorted(s for s in set(mine.loc[(mine["method"].map(grid_of) == grid) & (mine["method"] != DENSE),
                                                    "target_sparsity"]) if s > 0)
            unmeasured = sorted(s for s in set(here.loc[here["grid"] == grid, "target_sparsity"]) if s > 0 and s not in levels)
            chunks = [levels[i:i + APPENDIX_LEVELS] for i in range(0, len(levels), APPENDIX_LEVELS)] or [[]]
            for i, chunk in enumerate(chunks):
                t = comparison_table(df, cells, expected, pending, reported, model, task, regime, grid, levels=chunk)
                if i:
                    t.rows = [r for r in t.rows if r[0] != DENSE]
                    t.columns = [c for j, c in enumerate(t.columns) if j != 1]
                    t.rows = [[r[0], *r[2:]] for r in t.rows]
                    t.label += f"-{i + 1}"
                    t.caption = "(continued) " + t.caption
                mine_pending = of_table(pending, model, task, regime)
                mine_pending = mine_pending[mine_pending["method"].map(grid_of) == grid]
                mine_pending = mine_pending[mine_pending["target_sparsity"].isin(chunk) | (mine_pending["method"] == DENSE)]
                t.notes = [n for n in t.notes if not n.startswith("Pending:")]
                t.rows = [[short(r[0]), *r[1:]] for r in t.rows]
                if len(mine_pending):
                    t.notes.append(f"{len(mine_pending)} cell{'s' if len(mine_pending) != 1 else ''} of this table "
                                   "pending (listed in the pending-runs appendix).")
                if i == 0 and unmeasured:
                    t.notes.append(f"No row yet at {', '.join(percent(s) for s in unmeasured)}% (the grid's other "
                                   "sparsities; pending, listed in the pending-runs appendix).")
                tables.append(t)
    return tables


def hub_table(reported: pd.DataFrame, hub_models: list[str]) -> Table | None:
    """Seed 003's reported numbers beside our cell for the same model, task and sparsity: pending, since the
    models (`hub_models`, those of the paper config with no row) need the Hugging Face Hub."""
    if reported.empty:
        return None
    body = []
    for r in reported.sort_values(["model", "task", "method", "sparsity"], key=lambda c: c.map(
            lambda v: task_order(v) if c.name == "task" else v)).itertuples(index=False):
        body.append([model_label(r.model), task_label(r.task), r.method, f"{percent(r.sparsity)}%", f"{r.accuracy:.2f}", HUB])
    models = ", ".join(model_label(m) for m in hub_models) or "none"
    caption = (f"{REFERENCE_LABEL}: accuracy printed by seed 003, and our cell for the same run. Models of the paper "
               f"grid with no row yet ({models}) need the Hugging Face Hub, which this machine cannot reach.")
    notes = [f"Cited numbers ({REFERENCE_REGIME} data), not our measurements; source tables in "
             "analysis/reference/seed003.csv."]
    return Table(["Model", "Task", "Method", "Sparsity", "Reported", "PruneBench"], body, caption, "tab:hub", notes)


def pending_counts(pending: pd.DataFrame, df: pd.DataFrame) -> dict[str, int]:
    """How many expected cells are pending, by reason: models without rows (the Hub), tasks with a dense row
    only, and cells of the grid measured elsewhere."""
    models = set(df["model"])
    pruned = {tuple(k) for k in df.loc[df["method"] != DENSE, ["model", "task", "regime"]].itertuples(index=False)}
    hub = pending[~pending["model"].isin(models)]
    rest = pending[pending["model"].isin(models)]
    keys = [tuple(k) for k in rest[["model", "task", "regime"]].itertuples(index=False)]
    dense_only = rest[[k not in pruned for k in keys]]
    return {"hub": len(hub), "dense-only": len(dense_only), "grid": len(rest) - len(dense_only), "all": len(pending)}

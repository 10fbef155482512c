"""Comparison tables: for one (model, task, regime), the score of every method at every sparsity.

Rows are methods in name order (the dense model first), so global and layer-wise magnitude pruning sit one
above the other; columns are sparsities, so a row reads as a method's curve. Weight-pruning and structured
methods get separate tables, since a structured method's column is the share of weights its target (heads,
neurons or layers) removed, which differs from method to method. Where seed 003 ran the same model and task,
its reported numbers get one more row, ``reference.REFERENCE_LABEL``, after all of ours, only in the
full-data regime's weight-pruning table. A cell with no measured row prints "—"; the table's notes and the "Pending runs" text say
which runs would fill it (``grid``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prunebench.benchmarks.tasks import TASKS

from .grid import expected_cells, grid_of, pending_lines
from .labels import VARIANT_NOTES, compression, model_label, model_slug, percent, task_label
from .reference import REFERENCE_LABEL, REFERENCE_REGIME
from .regimes import from_key
from .results import CELL, DENSE, aggregate
from .tables import MISSING, Table, mean_std, number

DIGITS = 2


def task_order(task: str) -> tuple[int, str]:
    """GLUE order of `benchmarks.tasks.TASKS`, unknown tasks after it by name."""
    names = list(TASKS)
    return (names.index(task), task) if task in names else (len(names), task)


def table_keys(expected: pd.DataFrame) -> list[tuple[str, str, str]]:
    keys = {tuple(k) for k in expected[["model", "task", "regime"]].itertuples(index=False, name=None)}
    return sorted(keys, key=lambda k: (model_slug(k[0]), task_order(k[1]), k[2]))


def table_label(model: str, task: str, regime: str) -> str:
    return f"tab:comparison-{model_slug(model)}-{task}-{regime}"


def metric_name(df: pd.DataFrame, task: str) -> str:
    """The `metric` column of a task's rows (e.g. "f1+accuracy"); the registry's primary metrics if it has none."""
    rows = df[df["task"] == task]
    if len(rows):
        return str(rows["metric"].iloc[0])
    return "+".join(TASKS[task].primary) if task in TASKS else "score"


def of_table(frame: pd.DataFrame, model: str, task: str, regime: str) -> pd.DataFrame:
    """The rows of `frame` that belong to one (model, task, regime) table."""
    return frame[(frame["model"] == model) & (frame["task"] == task) & (frame["regime"] == regime)]


GRID_TITLES = {"weights": "weight-pruning methods",
               "structured": "structured methods (heads, FFN neurons or layers removed)"}


def comparison_table(df: pd.DataFrame, cells: pd.DataFrame, expected: pd.DataFrame, pending: pd.DataFrame,
                     reported: pd.DataFrame, model: str, task: str, regime: str, grid: str = "weights",
                     levels: list[float] | None = None) -> Table:
    """The table of one (model, task, regime) and sparsity grid; `cells` is ``results.aggregate(df)``.

    One row per method (the dense model first, seed 003's reported numbers last), one column per sparsity:
    twenty methods fit down a page, not across it. The dense score sits in the 0% column of its own row; a
    method's 0% cell is empty, since every method starts from that same dense model. `levels` limits the columns
    to those sparsities (the paper splits a wide grid into tables that fit the page)."""
    exp = of_table(expected, model, task, regime).query("grid == @grid")
    mine = of_table(cells, model, task, regime)
    mine_grid = mine[mine["method"].map(grid_of) == grid]
    methods = sorted((set(exp["method"]) | set(mine_grid["method"])) - {DENSE})
    if levels is None:
        levels = sorted(s for s in set(exp["target_sparsity"]) | set(mine_grid["target_sparsity"]) if s > 0)
    r = from_key(regime)
    ref = reported[(reported["model"] == model) & (reported["task"] == task)]
    if regime != REFERENCE_REGIME or grid != "weights":
        ref = ref.iloc[0:0]  # seed 003 trained on full data and pruned weights: its numbers sit beside those only
    counted = mine[mine["method"].isin([DENSE, *methods])]
    max_n = int(counted["n"].max()) if len(counted) else 0
    value = {(c.method, c.target_sparsity): c for c in mine.itertuples(index=False)}

    def cell(method: str, s: float) -> str:
        c = value.get((method, s))
        if c is None:
            return MISSING
        text = mean_std(c.mean, c.std, DIGITS)
        return text + (f" (n={c.n})" if c.n < max_n else "")

    def reference(s: float) -> str:
        hit = ref[np.isclose(ref["sparsity"], s)]
        return number(float(hit["accuracy"].iloc[0]), DIGITS) if len(hit) else MISSING

    columns = ["Method", *[f"{percent(s)}% ({compression(s)})" for s in [0.0, *levels]]]
    rows = [[DENSE, cell(DENSE, 0.0), *[""] * len(levels)]]
    rows += [[m, "", *[cell(m, s) for s in levels]] for m in methods]
    if len(ref):
        rows.append([REFERENCE_LABEL, *[reference(s) for s in [0.0, *levels]]])

    metric = metric_name(df, task)
    seeds = sorted({int(x) for s in counted["seeds"] for x in s.split(",")}) if len(counted) else []
    seed_text = (f"seed mean ± std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1
                 else f"seed {seeds[0]}" if seeds else "no measured rows yet")
    columns_are = ("sparsity of the encoder linear weights (compression)" if grid == "weights" else
                   "share of the encoder linear weights removed, measured (a target of 25/50/75% of the heads, "
                   "neurons or layers removes a different share for each method)")
    caption = (f"{model_label(model)} on {task_label(task, r.variant)} ({r.label}), {GRID_TITLES[grid]}. "
               f"Score ({metric}, ×100) by method and {columns_are}; {seed_text}; {MISSING} = no measured row.")
    notes = []
    if len(counted) and max_n > int(counted["n"].min()):
        notes.append(f"(n=k): a cell with fewer seeds than the others ({max_n}).")
    if r.variant in VARIANT_NOTES:
        notes.append(VARIANT_NOTES[r.variant])
    if len(ref):
        sources = "; ".join(sorted(set(ref["source"])))
        notes.append(f"{REFERENCE_LABEL}: DistilBERT, layer-wise magnitude pruning, accuracy as printed in seed 003 "
                     f"({sources}); cited, not measured by us.")
        if tuple(TASKS[task].primary) != ("accuracy",):
            notes.append(f"Seed 003 reports plain accuracy; our {task_label(task)} score is the {metric} mean, so the "
                         f"two rows are different metrics.")
    mine_pending = of_table(pending, model, task, regime)
    mine_pending = mine_pending[mine_pending["method"].map(lambda m: m == DENSE or grid_of(m) == grid)]
    if grid != "weights":
        mine_pending = mine_pending[mine_pending["method"] != DENSE]  # said once, under the weight-pruning table
    if len(mine_pending):
        notes.append("Pending: " + pending_lines(mine_pending)[0].split(": ", 1)[1])
    label = table_label(model, task, regime) + ("" if grid == "weights" else "-structured")
    return Table(columns, rows, caption, label, notes)


def comparison_tables(df: pd.DataFrame, reported: pd.DataFrame, design: pd.DataFrame | None,
                      pending: pd.DataFrame) -> list[Table]:
    """Every comparison table: one per (model, task, regime) with rows or expected by seed 003's design."""
    cells = aggregate(df) if len(df) else pd.DataFrame(columns=[*CELL, "mean", "std", "n", "ci_low", "ci_high", "seeds"])
    expected = expected_cells(df, design)
    tables = []
    for model, task, regime in table_keys(expected):
        here = of_table(expected, model, task, regime)
        for grid in ("weights", "structured"):
            if grid == "weights" or (here["grid"] == grid).any():  # every key has a weight table: dense lives there
                tables.append(comparison_table(df, cells, expected, pending, reported, model, task, regime, grid))
    return tables


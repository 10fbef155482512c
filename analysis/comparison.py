"""Comparison tables: for one (model, task, regime), the score of every method at every sparsity.

Rows are target sparsities (the dense model first), columns are methods in name order, so global and
layer-wise magnitude pruning sit side by side as in seed 003. Where seed 003 ran the same model and task,
its reported numbers get one more column, ``reference.REFERENCE_LABEL``, after all of ours and only in the
full-data regime. A cell with no measured row prints "—"; the table's notes and the "Pending runs" text say
which runs would fill it (``grid``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.tasks import TASKS

from .grid import expected_cells, pending_lines
from .labels import compression, model_label, model_slug, percent, task_label
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


def comparison_table(df: pd.DataFrame, cells: pd.DataFrame, expected: pd.DataFrame, pending: pd.DataFrame,
                     reported: pd.DataFrame, model: str, task: str, regime: str) -> Table:
    """The table of one (model, task, regime); `cells` is ``results.aggregate(df)`` (seed summaries)."""
    exp = expected[(expected["model"] == model) & (expected["task"] == task) & (expected["regime"] == regime)]
    mine = cells[(cells["model"] == model) & (cells["task"] == task) & (cells["regime"] == regime)]
    methods = sorted((set(exp["method"]) | set(mine["method"])) - {DENSE})
    levels = sorted(s for s in set(exp["target_sparsity"]) | set(mine["target_sparsity"]) if s > 0)
    r = from_key(regime)
    ref = reported[(reported["model"] == model) & (reported["task"] == task)]
    if regime != REFERENCE_REGIME:
        ref = ref.iloc[0:0]  # seed 003 trained on full data: its numbers sit beside that regime only
    max_n = int(mine["n"].max()) if len(mine) else 0
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

    columns = ["Sparsity", "Compression", *methods] + ([REFERENCE_LABEL] if len(ref) else [])
    dense = cell(DENSE, 0.0)
    rows = [["0% (dense)", compression(0.0), *[dense] * len(methods)] + ([reference(0.0)] if len(ref) else [])]
    for s in levels:
        rows.append([f"{percent(s)}%", compression(s), *[cell(m, s) for m in methods]]
                    + ([reference(s)] if len(ref) else []))

    metric = metric_name(df, task)
    seeds = sorted({int(x) for s in mine["seeds"] for x in s.split(",")}) if len(mine) else []
    seed_text = (f"seed mean ± std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1
                 else f"seed {seeds[0]}" if seeds else "no measured rows yet")
    caption = (f"{model_label(model)} on {task_label(task, r.qqp_subset)} ({r.label}). "
               f"Score ({metric}, ×100) by target sparsity and method; {seed_text}; {MISSING} = no measured row.")
    notes = []
    if len(mine) and max_n > int(mine["n"].min()):
        notes.append(f"(n=k): a cell with fewer seeds than the others ({max_n}).")
    if r.qqp_subset:
        notes.append("QQP subset: trained and evaluated on the 23,497-row QQP training-set sample (a held-out part of it "
                     "as evaluation split); not comparable with full-QQP results, published or ours.")
    if len(ref):
        sources = "; ".join(sorted(set(ref["source"])))
        notes.append(f"{REFERENCE_LABEL}: DistilBERT, layer-wise magnitude pruning, accuracy as printed in seed 003 "
                     f"({sources}); cited, not measured by us.")
        if tuple(TASKS[task].primary) != ("accuracy",):
            notes.append(f"Seed 003 reports plain accuracy; our {task_label(task)} score is the {metric} mean, so the "
                         f"two columns are different metrics.")
    mine_pending = pending[(pending["model"] == model) & (pending["task"] == task) & (pending["regime"] == regime)]
    if len(mine_pending):
        notes.append("Pending: " + pending_lines(mine_pending)[0].split(": ", 1)[1])
    return Table(columns, rows, caption, table_label(model, task, regime), notes)


def comparison_tables(df: pd.DataFrame, reported: pd.DataFrame, design: pd.DataFrame | None,
                      pending: pd.DataFrame) -> list[Table]:
    """Every comparison table: one per (model, task, regime) with rows or expected by seed 003's design."""
    cells = aggregate(df) if len(df) else pd.DataFrame(columns=[*CELL, "mean", "std", "n", "ci_low", "ci_high", "seeds"])
    expected = expected_cells(df, design)
    return [comparison_table(df, cells, expected, pending, reported, *key) for key in table_keys(expected)]


"""Which runs the tables expect, and which of them are still pending.

A table cell with no measured row prints "—"; the report must then say which runs would fill it. The
expected grid is derived, never typed:

- from the CSV itself, per regime family: every model x every task x every method x every pruning sparsity of
  the method's sparsity grid in that family (the dense method at 0 only), with the family's seeds. A
  weight-pruning method's grid is every sparsity any weight-pruning method was run at; a structured method's
  is the weight sparsities it reached itself on some task (its targets are shares of heads, neurons or layers,
  which remove a different share of weights for each method, so another method's 8% or 67% is no cell of its
  own); a method that runs at fixed sparsities only (2:4: 50%) expects just those. So every "—" a comparison
  table prints is listed, whether the run failed, is not merged yet, or was never asked for;
- from seed 003's design (``analysis/reference/seed003_design.csv``): the DistilBERT runs that reproduce
  seed 003 in the full-data regime, expected even when no DistilBERT row exists (the Hub was unreachable).
"""

from __future__ import annotations

import pandas as pd

from .labels import model_label, percent, task_label
from .ranking import method_grid, method_kind, registered
from .regimes import from_key
from .results import DENSE

CELL = ["model", "task", "regime", "method", "target_sparsity"]


def fixed_sparsities(method: str) -> tuple[float, ...] | None:
    """The only targets a registered method can run at (2:4 is exactly 50%), or None for any target."""
    return getattr(registered(method), "valid_sparsities", None)


def grid_of(method: str) -> str:
    """"weights" or "structured": which sparsity grid a method's cells lie on (`ranking.method_grid`)."""
    return "weights" if method == DENSE else method_grid(method_kind(method))


def expected_cells(df: pd.DataFrame, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per expected cell, with the seeds it should have (empty for "at least one"), its origin and
    the method's grid."""
    rows = []
    for family, sub in df.groupby("regime_family", sort=True):
        models = sorted(sub["model"].unique())
        task_regimes = {t: sorted(g["regime"].unique()) for t, g in sub.groupby("task", sort=True)}
        grids = {m: grid_of(m) for m in sub["method"].unique()}

        def levels(rows: pd.DataFrame) -> list[float]:
            return sorted(s for s in rows["target_sparsity"].unique() if s > 0)

        weight_levels = levels(sub[sub["method"].map(grids) == "weights"])
        sparsities = {}
        for m in sorted(grids):
            fixed = fixed_sparsities(m)
            if m == DENSE:
                sparsities[m] = [0.0]
            elif grids[m] == "weights":
                sparsities[m] = [s for s in weight_levels if fixed is None or s in fixed]
            else:
                sparsities[m] = levels(sub[sub["method"] == m])
        seeds = ",".join(str(s) for s in sorted(sub["seed"].unique()))
        for model in models:
            for task, regimes in task_regimes.items():
                for regime in regimes:
                    for method, method_levels in sparsities.items():
                        for s in method_levels:
                            rows.append((model, task, regime, method, s, seeds, "grid", grids[method]))
    if design is not None:
        for r in design.itertuples(index=False):
            rows.append((r.model, r.task, "full", r.method, r.target_sparsity, "", "seed 003 design", grid_of(r.method)))
    out = pd.DataFrame(rows, columns=[*CELL, "seeds", "origin", "grid"])
    # a cell expected by both origins keeps the grid's seed list ("grid" sorts before "seed 003 design")
    return out.sort_values([*CELL, "origin"]).drop_duplicates(CELL, keep="first").reset_index(drop=True)


def pending_cells(df: pd.DataFrame, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """Expected cells with no row, or with fewer seeds than expected (`missing_seeds` lists them)."""
    expected = expected_cells(df, design)
    measured = df.groupby(CELL)["seed"].apply(lambda s: {int(x) for x in s}).to_dict()
    rows = []
    for r in expected.itertuples(index=False):
        key = (r.model, r.task, r.regime, r.method, r.target_sparsity)
        have = measured.get(key, set())
        want = {int(s) for s in r.seeds.split(",")} if r.seeds else set()
        missing = sorted(want - have)
        if not have or missing:
            rows.append((*key, ",".join(map(str, missing)) if have else "all", r.origin))
    return pd.DataFrame(rows, columns=[*CELL, "missing_seeds", "origin"])


def pending_lines(pending: pd.DataFrame) -> list[str]:
    """One sentence per (model, task, regime): which methods at which sparsities have no (or too few) rows."""
    lines = []
    for (model, task, regime), group in pending.groupby(["model", "task", "regime"], sort=True):
        r = from_key(regime)
        parts = []
        for method, g in group.groupby("method", sort=True):
            levels = ", ".join(percent(s) for s in sorted(g["target_sparsity"]))
            what = method if method == DENSE else f"{method} at {levels}%"
            partial = sorted({m for m in g["missing_seeds"] if m != "all"})
            if partial:
                what += f" (seeds {'; '.join(partial)} missing)"
            parts.append(what)
        origins = sorted(set(group["origin"]))
        lines.append(f"{model_label(model)} · {task_label(task, r.variant)} ({r.label}): {'; '.join(parts)}"
                     f" [{', '.join(origins)}]")
    return lines

"""Which runs the tables expect, and which of them are still pending.

A table cell with no measured row prints "—"; the report must then say which runs would fill it. The
expected grid is derived, never typed:

- from the CSV itself, per regime family: every model x every task x every method x every pruning sparsity
  that any method was run at in that family (the dense method at 0 only), with the family's seeds. So every
  "—" a comparison table prints is listed, whether the run failed, is not merged yet, or was never asked for;
- from seed 003's design (``analysis/reference/seed003_design.csv``): the DistilBERT runs that reproduce
  seed 003 in the full-data regime, expected even when no DistilBERT row exists (the Hub was unreachable).
"""

from __future__ import annotations

import pandas as pd

from .labels import model_label, percent, task_label
from .regimes import from_key
from .results import DENSE

CELL = ["model", "task", "regime", "method", "target_sparsity"]


def expected_cells(df: pd.DataFrame, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per expected cell, with the seeds it should have (empty for "at least one") and its origin."""
    rows = []
    for family, sub in df.groupby("regime_family", sort=True):
        models = sorted(sub["model"].unique())
        task_regimes = {t: sorted(g["regime"].unique()) for t, g in sub.groupby("task", sort=True)}
        levels = sorted(s for s in sub["target_sparsity"].unique() if s > 0)
        sparsities = {m: [0.0] if m == DENSE else levels for m in sorted(sub["method"].unique())}
        seeds = ",".join(str(s) for s in sorted(sub["seed"].unique()))
        for model in models:
            for task, regimes in task_regimes.items():
                for regime in regimes:
                    for method, method_levels in sparsities.items():
                        for s in method_levels:
                            rows.append((model, task, regime, method, s, seeds, "grid"))
    if design is not None:
        for r in design.itertuples(index=False):
            rows.append((r.model, r.task, "full", r.method, r.target_sparsity, "", "seed 003 design"))
    out = pd.DataFrame(rows, columns=[*CELL, "seeds", "origin"])
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
        lines.append(f"{model_label(model)} · {task_label(task, r.qqp_subset)} ({r.label}): {'; '.join(parts)}"
                     f" [{', '.join(origins)}]")
    return lines

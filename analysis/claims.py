"""Does method A score above method B, cell by cell? The check behind claims such as seed 003's "global pruning
consistently outperforms layer-wise pruning" and issue 23's "prune-at-start methods against magnitude-pretrained".

A cell is (model, task, regime, sparsity). Rows of one seed are paired, and what is compared is each row's gap to
the dense checkpoint it started from (``score - dense_score``, score points): two rows of one seed made in
different device calls start from re-made checkpoints that may differ by a point on a small task, and the gap
takes that difference out (rows without ``dense_score`` are compared on their score). The difference A - B is
taken seed by seed; its 95% interval is ``results.bootstrap_ci`` over the seeds (with three seeds the range of
the seeds' differences, see ``gaps``). A is above B when the interval lies above zero, below when it lies under
zero, and the cell is undecided ("~") otherwise. Cells with fewer than ``MIN_SEEDS`` paired seeds are left out.
"""

from __future__ import annotations

import pandas as pd

from .intervals import MIN_SEEDS, seed_ordering
from .versions import CELL, ORDER_COLUMNS  # the same cell and ordering columns as v1-against-v2's pairs


def _gaps(rows: pd.DataFrame) -> pd.Series:
    """Seed -> mean gap to its own dense checkpoint (or score, where the row does not name one)."""
    dense = rows["dense_score"].fillna(0.0) if "dense_score" in rows else 0.0
    return (rows["score"] - dense).groupby(rows["seed"]).mean()


def paired_claim(df: pd.DataFrame, a: str, b: str, min_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """One row per cell where methods `a` and `b` (``method`` column values) both have `min_seeds` paired seeds.

    `df` is ``results.load_results`` output. Columns: the cell, a, b, n (paired seeds), diff (mean over seeds of
    a's gap to dense minus b's, score points), low and high (its 95% interval), verdict ">" (a above b), "<"
    (below) or "~" (undecided). Raises ValueError naming a method that has no row at all, with the methods that do."""
    present = sorted(df["method"].unique())
    missing = [m for m in (a, b) if m not in present]
    if missing:
        raise ValueError(f"no rows of {', '.join(missing)}; methods present: {', '.join(present)}")
    rows = []
    pair = df[df["method"].isin([a, b])]
    for cell, group in pair.groupby(CELL, sort=True):
        gaps = {m: _gaps(g) for m, g in group.groupby("method")}
        ordering = seed_ordering(gaps[a], gaps[b], min_seeds) if len(gaps) == 2 else None
        if ordering is not None:
            rows.append(dict(zip(CELL, cell)) | {"a": a, "b": b} | ordering)
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def tally(claim: pd.DataFrame) -> dict[str, int]:
    """How many cells say a above b (">"), below ("<") and undecided ("~")."""
    counts = claim["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in (">", "<", "~")}

"""Which orderings of two methods a later results version reverses: the check behind "every v1 conclusion that v2
reverses" (issue 23).

A conclusion here is the ordering of two methods on one cell (model, task, regime, sparsity): A scores above B
when the 95% interval of their paired difference lies above zero. Rows of one seed are paired (within a version
they start from that seed's dense checkpoint), the difference A - B is taken seed by seed, and its interval is
``results.bootstrap_ci`` over those seeds (with three seeds, the range of the seeds' differences: see
``gaps``). Comparing two versions, each pair of methods measured in both on the same cell, with at least
``MIN_SEEDS`` paired seeds in each, is

- ``kept``: resolved the same way in both;
- ``reversed``: resolved in both, opposite ways;
- ``lost``: resolved in the earlier version only;
- ``new``: resolved in the later version only;
- ``open``: in neither.

Methods are compared by name: a later version may run a method with other parameters (v2 tunes each method's
recipe on the validation split), so a reversal is a change of conclusion to read with both versions' recipes.
"""

from __future__ import annotations

import itertools

import pandas as pd

from .intervals import MIN_SEEDS, seed_ordering
from .results import DENSE

CELL = ["model", "task", "regime", "target_sparsity"]
STATUSES = ["reversed", "lost", "new", "kept", "open"]  # every status a pair can have, in the order tables give them
ORDER_COLUMNS = [*CELL, "a", "b", "n", "diff", "low", "high", "verdict"]


def paired_orderings(df: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """One row per cell and pair of pruning methods (a before b alphabetically) with `min_seeds` paired seeds.

    `df` is ``results.load_results`` output. Columns: the cell, a, b, n (paired seeds), diff (mean of a - b over
    them, score points), low and high (its 95% interval), verdict: ">" (a above b: the interval lies above 0),
    "<" (below 0) or "~" (it contains 0)."""
    rows = []
    pruned = df[df["method"] != DENSE]
    for cell, group in pruned.groupby(CELL, sort=True):
        by_method = {m: g.groupby("seed")["score"].mean() for m, g in group.groupby("method")}
        for a, b in itertools.combinations(sorted(by_method), 2):
            ordering = seed_ordering(by_method[a], by_method[b], min_seeds)
            if ordering is not None:
                rows.append(dict(zip(CELL, cell)) | {"a": a, "b": b} | ordering)
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def compare_versions(old: pd.DataFrame, new: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """Every pair ordered in both versions on the same cell, with its status (module docstring).

    Columns: the cell, a, b, then diff, low, high and verdict of each version (suffixes ``_old``, ``_new``) and
    status: kept, reversed, lost, new or open."""
    keys = [*CELL, "a", "b"]
    both = paired_orderings(old, min_seeds).merge(paired_orderings(new, min_seeds), on=keys, suffixes=("_old", "_new"))

    def status(row) -> str:
        was, now = row["verdict_old"], row["verdict_new"]
        if was != "~" and now != "~":
            return "kept" if was == now else "reversed"
        return "lost" if was != "~" else "new" if now != "~" else "open"

    both["status"] = both.apply(status, axis=1) if len(both) else pd.Series(dtype=str)
    return both

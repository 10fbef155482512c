"""Gap to dense: a method's score at one sparsity next to the dense model it was pruned from, seed by seed.

Every pruned row records the score of the dense checkpoint it started from (`dense_score`: same task, seed and
recipe), so ``score - dense_score`` is a paired difference by construction: the seed's luck (a good head, an easy
data order) cancels, and the gap's interval is narrower than the difference of two unpaired intervals. Intervals
are ``results.bootstrap_ci`` (95% percentile bootstrap over seeds, fixed generator seed); with three seeds they are
coarse, and they cover training randomness only, not the finite dev set (``intervals`` module docstring).

Used for the questions the issues ask per task: how far is each method from dense at 80% and 90% sparsity, is it
within the goal (1 point at 80%, 3 at 90%: issues 21 and 23), and which method is best there.
"""

from __future__ import annotations

import math

import pandas as pd

from .labels import percent, task_label
from .regimes import from_key
from .results import DENSE, bootstrap_ci
from .tables import MISSING, Table, number

GOALS = {0.8: 1.0, 0.9: 3.0}  # sparsity -> largest gap to dense (points) the issues set as a goal, not a gate
KEY = ["model", "task", "regime"]


def cell_gaps(df: pd.DataFrame, methods: list[str], sparsities: list[float]) -> pd.DataFrame:
    """One row per (model, task, regime, method, sparsity) of `methods` at `sparsities` that has rows: the seed
    mean of the score and of the gap to dense (``score - dense_score``, points), each with its 95% interval.

    `df` is ``results.load_results`` output (target_sparsity is the measured share, rounded to 2 decimals).
    Columns: model, task, regime, method, sparsity, n, seeds, score, score_low, score_high, gap, gap_low,
    gap_high, dense (seed mean of the dense scores these rows started from)."""
    rows = []
    picked = df[df["method"].isin(methods)]
    for s in sparsities:
        at = picked[(picked["target_sparsity"] - s).abs() < 1e-9]
        for (model, task, regime, method), group in at.groupby([*KEY, "method"], sort=True):
            gap = (group["score"] - group["dense_score"]).to_numpy()
            score_low, score_high = bootstrap_ci(group["score"].to_numpy())
            gap_low, gap_high = bootstrap_ci(gap)
            rows.append({"model": model, "task": task, "regime": regime, "method": method, "sparsity": s,
                         "n": len(group), "seeds": ",".join(map(str, sorted(group["seed"]))),
                         "score": group["score"].mean(), "score_low": score_low, "score_high": score_high,
                         "gap": gap.mean(), "gap_low": gap_low, "gap_high": gap_high,
                         "dense": group["dense_score"].mean()})
    return pd.DataFrame(rows, columns=[*KEY, "method", "sparsity", "n", "seeds", "score", "score_low", "score_high",
                                       "gap", "gap_low", "gap_high", "dense"])


def with_interval(value: float, low: float, high: float, digits: int = 2, signed: bool = False) -> str:
    """"88.42 [87.9, 88.9]"; the value alone where there is no interval (one seed)."""
    if value is None or math.isnan(value):
        return MISSING
    text = f"{value:+.{digits}f}" if signed else number(value, digits)
    return text if math.isnan(low) else f"{text} [{low:.1f}, {high:.1f}]"


def gap_table(gaps: pd.DataFrame, dense: pd.DataFrame, model: str, task: str, regime: str, methods: list[str],
              sparsities: list[float]) -> Table:
    """Methods down, sparsities across; each cell the seed-mean score [95% interval] and, below it, the gap to
    dense; a cell with fewer seeds than the table's most says so, a cell without rows says "not run".

    `dense` holds the dense rows (method "dense") of `df`, for the caption's dense score."""
    mine = gaps[(gaps["model"] == model) & (gaps["task"] == task) & (gaps["regime"] == regime)]
    most = int(mine["n"].max()) if len(mine) else 0
    cell = {(c.method, c.sparsity): c for c in mine.itertuples(index=False)}

    def text(method: str, s: float) -> str:
        c = cell.get((method, s))
        if c is None:
            return "not run"
        seeds = f" (n={c.n})" if c.n < most else ""
        return (f"{with_interval(c.score, c.score_low, c.score_high)}{seeds}; "
                f"gap {with_interval(c.gap, c.gap_low, c.gap_high, signed=True)}")

    d = dense[(dense["model"] == model) & (dense["task"] == task) & (dense["regime"] == regime)]["score"]
    d_low, d_high = bootstrap_ci(d.to_numpy())
    dense_text = with_interval(d.mean(), d_low, d_high) if len(d) else "not run"
    r = from_key(regime)
    caption = (f"{task_label(task, r.variant)}: score [95% interval over seeds] and gap to dense (score minus the "
               f"score of the dense checkpoint each row started from, paired by seed, points). Dense: {dense_text} "
               f"(seeds {', '.join(map(str, sorted(dense.loc[d.index, 'seed'])))}).")
    columns = ["Method", *[f"{percent(s)}%" for s in sparsities]]
    rows = [[m, *[text(m, s) for s in sparsities]] for m in methods]
    notes = [f"(n=k): fewer seeds than the table's other cells ({most})."] if any(c.n < most for c in cell.values()) else []
    return Table(columns, rows, caption, f"gap-{task}-{regime}", notes)


def checkpoint_drift(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, task, regime, seed): how many distinct dense checkpoints the pruned rows started from (their
    `dense_score` values) and the largest distance, in points, between those and the dense row's own score.

    A checkpoint is re-made wherever its run happens (each GPU call starts on a fresh machine); where the GPU
    kernels are not bitwise reproducible the re-made model differs, which is why a gap is paired with the row's
    own `dense_score` and not with the dense row. Columns: model, task, regime, seed, checkpoints, drift."""
    dense = df[df["method"] == DENSE].set_index([*KEY, "seed"])["score"]
    rows = []
    for key, group in df[df["method"] != DENSE].groupby([*KEY, "seed"], sort=True):
        own = dense.get(key, math.nan)
        rows.append({**dict(zip([*KEY, "seed"], key)), "checkpoints": group["dense_score"].round(6).nunique(),
                     "drift": float((group["dense_score"] - own).abs().max())})
    return pd.DataFrame(rows, columns=[*KEY, "seed", "checkpoints", "drift"])


def best_at(gaps: pd.DataFrame, sparsity: float, min_seeds: int = 3) -> pd.DataFrame:
    """Per (model, task, regime), the method of highest seed-mean score at `sparsity` among cells with at least
    `min_seeds` seeds, with every method whose score interval overlaps the leader's listed as tied (the data
    cannot order them), how many methods were ranked and which (`ranked`, `ranked_methods`: a best of 3 methods is
    not a best of 18), and
    whether the leader's mean gap meets ``GOALS`` (NaN where the sparsity has no goal)."""
    out = []
    at = gaps[(gaps["sparsity"] == sparsity) & (gaps["n"] >= min_seeds) & (gaps["method"] != DENSE)]
    for key, group in at.groupby(KEY, sort=True):
        lead = group.sort_values(["score", "method"], ascending=[False, True]).iloc[0]
        tied = group[(group["method"] != lead["method"]) & (group["score_high"] >= lead["score_low"])]
        goal = GOALS.get(sparsity, math.nan)
        out.append({**dict(zip(KEY, key)), "method": lead["method"], "score": lead["score"], "gap": lead["gap"],
                    "gap_low": lead["gap_low"], "gap_high": lead["gap_high"], "tied": ", ".join(sorted(tied["method"])),
                    "ranked": int(group["method"].nunique()), "ranked_methods": tuple(sorted(group["method"].unique())),
                    "goal": goal, "meets_goal": (lead["gap"] >= -goal) if not math.isnan(goal) else math.nan})
    return pd.DataFrame(out, columns=[*KEY, "method", "score", "gap", "gap_low", "gap_high", "tied", "ranked",
                                      "ranked_methods", "goal", "meets_goal"])

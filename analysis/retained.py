"""Retained score = pruned score / dense score, and the one rule for where that ratio is undefined.

Every ratio the analysis shows (the leaderboard's retained score at 50/70/90%, its AUC, the paper's quoted
retained scores) divides by the dense model's score. GLUE's correlation metrics (MCC for CoLA, the
Pearson/Spearman mean for STS-B) are 0 for a model no better than chance and negative for a worse one, and a
dense fine-tune can collapse there (an unlucky seed, a too-small sample). Dividing by such a score gives
``inf``, a sign flip (a worse pruned model "retains" more) or a huge ratio from noise. So:

**Rule.** The ratio is defined only where the dense score is above ``MIN_DENSE_SCORE`` points (0-100 scale).
If any seed of a (model, task, regime) has a dense score at or below it (in a dense row's ``score`` or in a
pruned row's ``dense_score``), the retained score of *every* row of that (model, task, regime) is NaN, for
every method alike, and the leaderboard leaves the task out of all its metrics for that model and regime
(so methods stay compared over the same tasks) and names it in the table's notes (``left_out_note``).
``prunebench validate`` warns about such rows (``undefined_rows``). Absolute scores, score differences and
the figures of score against sparsity are unaffected: they are defined for any dense score.

Why 5 points: for a correlation metric it is r = 0.05, indistinguishable from no correlation on a GLUE dev
set (CoLA's 1,043 examples give a standard error of about 0.03 for r near 0), and no accuracy-type score of a
trained model comes near it (chance is 50 for the binary tasks), so the floor only ever catches collapsed runs.
"""

from __future__ import annotations

import math
from typing import Iterable

MIN_DENSE_SCORE = 5.0  # points (0-100): at or below it, score / dense score is undefined (see the rule above)
GROUP = ("model", "task", "regime")  # one dense baseline; the ratio is defined for all its rows or for none
RULE = (f"Retained is left undefined where a dense score of the task (any seed) is at or below {MIN_DENSE_SCORE:g} "
        "points (a collapsed or chance-level dense model: the ratio would be infinite, flip sign or amplify noise); "
        "such tasks are left out of every metric and named in the notes (`analysis/retained.py`).")


def ratio_defined(dense_score: float) -> bool:
    """True when ``score / dense_score`` is a meaningful retained score (dense above the floor, finite)."""
    return isinstance(dense_score, (int, float)) and math.isfinite(dense_score) and dense_score > MIN_DENSE_SCORE


def _dense_scores(df):
    """Every dense score a row of `df` brings: its `dense_score`, and a dense row's own `score`."""
    import pandas as pd

    dense = df["dense_score"].astype(float)
    if "method" in df:
        dense = dense.where(df["method"] != "dense", pd.concat([dense, df["score"].astype(float)], axis=1).min(axis=1))
    return dense


def undefined_groups(df) -> set[tuple]:
    """The (model, task, regime) keys of `df` whose ratio is undefined: some dense score at or below the floor."""
    dense = _dense_scores(df)
    bad = df.loc[~dense.map(ratio_defined), list(GROUP)]
    return set(bad.itertuples(index=False, name=None))


def defined_rows(df):
    """`df` without the rows of (model, task, regime) groups whose ratio is undefined: what every ratio metric,
    its intervals included, is computed from."""
    bad = undefined_groups(df)
    if not bad:
        return df
    keys = list(df[list(GROUP)].itertuples(index=False, name=None))
    return df[[k not in bad for k in keys]]


def retained(df):
    """score / dense_score per row of `df` (columns ``model, task, regime, score, dense_score``; ``method`` if
    present), NaN for every row of a (model, task, regime) in `undefined_groups`. Returns a float Series aligned
    with `df`."""
    ratio = df["score"].astype(float) / df["dense_score"].astype(float)
    bad = undefined_groups(df)
    if not bad:
        return ratio
    keys = list(df[list(GROUP)].itertuples(index=False, name=None))
    return ratio.mask([k in bad for k in keys])


def left_out_note(groups: Iterable[tuple[str, str, float]]) -> str:
    """The table note naming the tasks left out: `groups` holds (task, metric, lowest dense score)."""
    parts = [f"{task} (dense {metric} {low:.1f})" for task, metric, low in sorted(groups)]
    if not parts:
        return ""
    return (f"Tasks left out of every metric here: {', '.join(parts)}; a dense score at or below {MIN_DENSE_SCORE:g} "
            "points makes retained = score / dense score undefined (`analysis/retained.py`).")


def undefined_rows(rows: Iterable[dict[str, str]]) -> dict[tuple[str, str], tuple[int, float]]:
    """For `prunebench validate`: (model, task) -> (rows, lowest dense score) of raw CSV rows whose dense score
    (a pruned row's ``dense_score``, a dense row's ``score``) is at or below the floor. Unparsable cells are
    skipped: validation reports those as errors itself."""
    out: dict[tuple[str, str], tuple[int, float]] = {}
    for row in rows:
        cells = [row.get("dense_score", "")] + ([row.get("score", "")] if row.get("method") == "dense" else [])
        try:
            values = [float(c) for c in cells]
        except ValueError:
            continue
        low = min(values)
        if math.isnan(low) or ratio_defined(low):
            continue
        key = (row.get("model", ""), row.get("task", ""))
        n, seen = out.get(key, (0, math.inf))
        out[key] = (n + 1, min(seen, low))
    return out

"""Cells at chance level: which (task, method, sparsity) cells score like a constant prediction, and whether they are one.

Issue 23 checks every device call's rows for scores at chance level that nothing explains: a collapse must be a
finding, not a bug. A seed mean at most ``phases.MARGIN`` points above the task's chance level (`chance.chance_score`; or below it)
can mean two different things, and two facts per cell tell them apart without per-example predictions:

- ``constant``: how many of the cell's seeds score exactly what a constant prediction scores (any class,
  `chance.constant_scores`, within ``EXACT`` points): that network predicts one class, or for MCC and
  correlations a constant; a collapse, to be diagnosed;
- ``room``: dense minus chance, the points the task leaves between a constant and the dense model. Where it is
  small (on MiniLM-L6 in results/v2: MRPC 6.8-7.5 points, RTE 6.7), a method that loses a few points is "near
  chance" without having collapsed.
"""

from __future__ import annotations

import math

import pandas as pd

from .chance import constant_scores
from .phases import MARGIN
from .results import DENSE

EXACT = 0.005  # points: a score this close to a constant's is that constant (scores are stored to 4 decimals)
KEY = ["model", "task", "regime", "method", "target_sparsity"]
COLUMNS = [*KEY, "n", "score", "score_min", "score_max", "chance", "dense", "room", "constant"]


def near_chance_cells(df: pd.DataFrame, margin: float = MARGIN) -> pd.DataFrame:
    """One row per pruned cell whose seed mean is at most `margin` points above chance.

    `df` is ``results.load_results`` output. Columns: model, task, regime, method, target_sparsity, n (seeds),
    score (seed mean), score_min, score_max, chance, dense (seed mean of the dense scores the rows started from),
    room (dense - chance, points), constant (seeds scoring exactly a constant prediction). Tasks without label
    counts (no chance level) are left out. Sorted by the key."""
    rows = []
    for key, group in df[df["method"] != DENSE].groupby(KEY, sort=True):
        task, subset = key[1], bool(group["qqp_subset"].iloc[0]) if "qqp_subset" in group else False
        constants = constant_scores(task, qqp_subset=subset)
        chance = max(constants, default=math.nan)  # chance.chance_score: the best constant
        if math.isnan(chance) or group["score"].mean() > chance + margin:
            continue
        constant = sum(any(abs(s - c) < EXACT for c in constants) for s in group["score"])
        dense = group["dense_score"].mean()
        rows.append(dict(zip(KEY, key)) | {"n": len(group), "score": group["score"].mean(),
                                            "score_min": group["score"].min(), "score_max": group["score"].max(),
                                            "chance": chance, "dense": dense, "room": dense - chance,
                                            "constant": constant})
    return pd.DataFrame(rows, columns=COLUMNS)

"""Curves: the seed-mean score of one method against sparsity, for one (model, task, regime).

Figures, the phase table and the leaderboard all start from these, so they agree on what a curve is:
only measured target sparsities (no interpolation), seeds summarised by ``results.summarise``, and the
dense baseline of the same (model, task, regime) (``results.dense_baselines``). Rows of different
regimes never share a curve: the regime is part of the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import params
from .chance import chance_score
from .phases import detect
from .reference import REFERENCE_LABEL, REFERENCE_REGIME
from .results import CURVE, DENSE, aggregate, dense_baselines


@dataclass(frozen=True)
class Curve:
    model: str
    task: str
    regime: str
    method: str
    sparsity: np.ndarray  # measured target sparsities, ascending, > 0
    mean: np.ndarray
    std: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    dense: float  # seed-mean dense score (NaN if unknown)
    chance: float  # chance level of the task's score (NaN if unknown)
    knee_rule: str = "kneedle"  # phases.KNEE_RULES: every table and figure of one report reads the same knees

    def phases(self):
        return detect(self.sparsity, self.mean, self.dense, self.chance, knee_rule=self.knee_rule)


def build_curves(df: pd.DataFrame, knee_rule: str | None = None) -> list[Curve]:
    """One curve per (model, task, regime, pruning method), sorted by that key. `knee_rule` None: the notebook's
    parameter (``params.knee_rule``), so every notebook of a report detects knees alike."""
    knee_rule = knee_rule or params.knee_rule()
    cells = aggregate(df[df["method"] != DENSE])
    dense = dense_baselines(df).set_index(CURVE)["mean"].to_dict()
    subset = df.groupby(CURVE)["qqp_subset"].first().to_dict()
    curves = []
    for (model, task, regime, method), g in cells.groupby(["model", "task", "regime", "method"], sort=True):
        g = g[g["target_sparsity"] > 0].sort_values("target_sparsity")
        if g.empty:
            continue
        key = (model, task, regime)
        curves.append(Curve(model, task, regime, method, g["target_sparsity"].to_numpy(), g["mean"].to_numpy(),
                            g["std"].to_numpy(), g["ci_low"].to_numpy(), g["ci_high"].to_numpy(), g["n"].to_numpy(),
                            dense.get(key, math.nan), chance_score(task, qqp_subset=bool(subset[key])), knee_rule))
    return curves


PHASE_COLUMNS = ["model", "task", "regime", "method", "points", "sparsity_min", "sparsity_max", "dense", "chance",
                 "safe_end", "knee", "over_start", "over_rule"]


def phase_table(curves: list[Curve]) -> pd.DataFrame:
    """The three boundaries of every curve (``results/v1/phases.csv``)."""
    rows = []
    for c in curves:
        p = c.phases()
        rows.append([c.model, c.task, c.regime, c.method, len(c.sparsity), float(c.sparsity[0]), float(c.sparsity[-1]),
                     c.dense, c.chance, p.safe_end, p.knee, p.over_start, p.over_rule])
    return pd.DataFrame(rows, columns=PHASE_COLUMNS)


def reference_curves(reported: pd.DataFrame, knee_rule: str | None = None) -> list[Curve]:
    """Seed 003's reported curves, scored against accuracy's chance level (seed 003 reports accuracy), their knees
    by the same rule as ours (`knee_rule` as in ``build_curves``)."""
    knee_rule = knee_rule or params.knee_rule()
    curves = []
    for (model, task), g in reported.groupby(["model", "task"], sort=True):
        dense_rows = g[g["sparsity"] == 0]
        dense = float(dense_rows["accuracy"].iloc[0]) if len(dense_rows) else math.nan
        for method, m in g[g["sparsity"] > 0].groupby("method", sort=True):
            m = m.sort_values("sparsity")
            y = m["accuracy"].to_numpy(dtype=float)
            nan = np.full(y.shape, np.nan)
            curves.append(Curve(model, task, REFERENCE_REGIME, f"{method} [{REFERENCE_LABEL}]", m["sparsity"].to_numpy(),
                                y, nan, nan, nan, np.ones_like(y, dtype=int), dense, chance_score(task, ("accuracy",)),
                                knee_rule))
    return curves

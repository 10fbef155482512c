"""Three-phase detection: where a score-vs-sparsity curve stops being safe, bends, and collapses.

Seed 003 describes magnitude pruning of DistilBERT as three phases: a safe zone (little loss), a knee
(the loss turns steep) and over-pruning (the model is wrecked). It read them off plots by eye. Here each
boundary is a rule applied to the measured points of one curve (one model, task, regime and method, seed
means), so the claim can be checked on any method and any model:

safe-zone end
    The largest measured sparsity whose score, *and the score at every smaller measured sparsity*, is
    within ``tolerance`` (default 1 point) of the dense score. NaN when the first pruned point already
    loses more than that.
knee
    Kneedle (Satopää et al., 2011) for a concave, decreasing curve: normalise the curve, anchored at the
    dense model (sparsity 0), to the unit square; the knee is the measured point that lies furthest *above*
    the straight line from the first to the last point. It is the last point before the loss accelerates.
    NaN when the curve never drops by more than ``tolerance``, has fewer than three points, or bulges above
    its chord by less than ``min_bulge`` (default 0.05 of the unit square: a straight or convex decline,
    which has no knee). Under the rule ``kneedle`` (results v1) every interior point is a candidate, so a
    shallow bend can put the knee inside the safe zone; under ``kneedle-past-safe-zone`` (config
    ``knee_rule``, results v2) only points at or past the safe-zone end are: a curve still within
    ``tolerance`` of dense has not bent yet, and the three phases come in their order: nor are points at or past
    a collapse to chance (below), where the loss has already happened (RTE, v2: dense 7 points above chance, its
    50% point at chance, and plain Kneedle's knee at 55%).
over-pruning start
    The first measured sparsity past the safe zone where the model has collapsed, by either of two rules
    (``over_rule`` says which fired):
    ``chance``: the score is within ``margin`` (default 5 points) of the task's chance level
    (``chance.chance_score``: a constant predictor). Not applied when the dense model itself is within the
    margin of chance (``over_rule`` = "dense at chance"): a model that never learned the task cannot
    collapse, and calling its first pruned point over-pruned would be an artefact;
    ``floor``: past the knee and outside the safe zone, the curve has flattened: this and every later
    measured point lie within ``flat_tolerance`` (default 1 point) of each other, with at least one later
    point. Further pruning no longer changes anything: what fine-tuning added is gone.
    NaN when neither happens within the measured range.

All boundaries are measured sparsities (never interpolated between points), and a boundary that the curve
does not reach is NaN: "no knee within 0.5-0.9" is a finding, not a missing value to fill.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

TOLERANCE = 1.0  # score points: "within 1 point of dense" is the safe zone
MIN_BULGE = 0.05  # Kneedle: minimum height above the chord, in unit-square units, for a knee to count
MARGIN = 5.0  # score points above chance that still count as collapsed
FLAT_TOLERANCE = 1.0  # score points: a floor varies by at most this much
KNEE_RULES = ("kneedle", "kneedle-past-safe-zone")  # see the module docstring, "knee"


@dataclass(frozen=True)
class Phases:
    safe_end: float  # largest safe sparsity, NaN if none
    knee: float  # sparsity of the knee, NaN if none
    over_start: float  # first over-pruned sparsity, NaN if none
    over_rule: str  # "chance", "floor", "dense at chance" (chance rule not applicable) or "" (not reached)

    def as_dict(self) -> dict:
        return asdict(self)


def safe_zone_end(sparsity: np.ndarray, score: np.ndarray, dense: float, tolerance: float = TOLERANCE) -> float:
    """Largest s such that every measured point at or below s is within `tolerance` of `dense`."""
    end = math.nan
    for s, y in zip(sparsity, score):
        if y < dense - tolerance:
            break
        end = float(s)
    return end


def knee(sparsity: np.ndarray, score: np.ndarray, dense: float, tolerance: float = TOLERANCE,
         min_bulge: float = MIN_BULGE, start: float = -math.inf, stop: float = math.inf) -> float:
    """Kneedle knee of the curve (0, dense), (s1, y1), ...: the point furthest above the end-to-end chord, among
    the interior points at sparsity `start` or more and below `stop`."""
    x = np.concatenate([[0.0], sparsity])
    y = np.concatenate([[dense], score])
    if x.size < 3 or dense - score.min() <= tolerance:
        return math.nan
    span_x, span_y = x[-1] - x[0], y.max() - y.min()
    xn = (x - x[0]) / span_x
    yn = (y - y.min()) / span_y
    chord = yn[0] + (yn[-1] - yn[0]) * xn
    height = yn - chord
    height[0] = height[-1] = -math.inf  # interior points only: the end points lie on the chord
    height[(x < start) | (x >= stop)] = -math.inf
    i = int(np.argmax(height))
    return float(x[i]) if height[i] >= min_bulge else math.nan


def over_pruning_start(sparsity: np.ndarray, score: np.ndarray, dense: float, chance: float, knee_at: float,
                       safe_end: float, margin: float = MARGIN, flat_tolerance: float = FLAT_TOLERANCE,
                       tolerance: float = TOLERANCE) -> tuple[float, str]:
    """First collapsed sparsity and the rule that found it (see the module docstring)."""
    dense_at_chance = not math.isnan(chance) and dense <= chance + margin
    for i, (s, y) in enumerate(zip(sparsity, score)):
        unsafe = y < dense - tolerance and (math.isnan(safe_end) or s > safe_end)
        if not unsafe:
            continue
        if not math.isnan(chance) and not dense_at_chance and y <= chance + margin:
            return float(s), "chance"
        later = score[i:]
        past_knee = not math.isnan(knee_at) and s > knee_at
        if past_knee and later.size >= 2 and np.all(np.abs(later - y) <= flat_tolerance):
            return float(s), "floor"
    return math.nan, "dense at chance" if dense_at_chance else ""


def detect(sparsity, score, dense: float, chance: float = math.nan, tolerance: float = TOLERANCE,
           min_bulge: float = MIN_BULGE, margin: float = MARGIN, flat_tolerance: float = FLAT_TOLERANCE,
           knee_rule: str = "kneedle") -> Phases:
    """The three boundaries of one curve: pruned points (any order; sparsity 0 excluded) and the dense score.
    `knee_rule` is one of ``KNEE_RULES``; ValueError otherwise."""
    if knee_rule not in KNEE_RULES:
        raise ValueError(f"knee rule {knee_rule!r}: choose {' or '.join(KNEE_RULES)}")
    s = np.asarray(sparsity, dtype=float)
    y = np.asarray(score, dtype=float)
    keep = s > 0
    s, y = s[keep], y[keep]
    order = np.argsort(s)
    s, y = s[order], y[order]
    if s.size == 0 or math.isnan(dense):
        return Phases(math.nan, math.nan, math.nan, "")
    safe = safe_zone_end(s, y, dense, tolerance)
    ordered = knee_rule == "kneedle-past-safe-zone"
    start = safe if ordered and not math.isnan(safe) else -math.inf
    stop = math.inf
    if ordered:  # the chance rule needs no knee, so it can bound the knee's candidates: a knee cannot follow the collapse
        collapse, by = over_pruning_start(s, y, dense, chance, math.nan, safe, margin, flat_tolerance, tolerance)
        stop = collapse if by == "chance" else math.inf
    k = knee(s, y, dense, tolerance, min_bulge, start=start, stop=stop)
    over, rule = over_pruning_start(s, y, dense, chance, k, safe, margin, flat_tolerance, tolerance)
    return Phases(safe, k, over, rule)

"""Uncertainty of leaderboard numbers: 95% intervals over seeds, ties with the leader, paired differences.

A leaderboard number is a mean over tasks of a mean over seeds (the AUC of the retained-score curve, or the
retained score at one sparsity). Its interval is a *stratified* percentile bootstrap: the seeds of each task are
resampled with replacement, independently per task, and the statistic (the mean over tasks of each task's seed
mean) is recomputed, ``RESAMPLES`` times from a generator seeded with ``SEED``, so the same rows always give the
same interval (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13, percentile intervals; the
strata keep every task in every resample, as the point estimate does). ``scipy.stats.bootstrap`` does the
resampling: one sample per task, resampled independently.

Only seeds are resampled. The rows hold one score per run, not per-example predictions, so the evaluation
examples' share of the uncertainty (the finite dev set) is not in these intervals; they are intervals over
training randomness (initial head, data order, dropout) for a fixed dev set.

- ``MIN_SEEDS``: a method is ranked only with at least 3 seeds on every task of its table (fewer give no
  usable spread: two seeds resample to three distinct means).
- ``tie_ranks``: the leader is the method of highest estimate; every method whose interval overlaps the
  leader's shares rank 1 and is marked tied, because the data cannot tell them apart. The others are ranked
  after them in estimate order (competition ranking: with three at rank 1, the next is 4).
- ``paired_difference``: a method minus a baseline on the same (task, seed) cells, so the seed-to-seed
  variation both share (a hard data order, a lucky head) cancels; the interval resamples those paired
  differences per task.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import bootstrap

from .results import BOOTSTRAP_RESAMPLES as RESAMPLES
from .results import BOOTSTRAP_SEED as SEED
from .results import CONFIDENCE

MIN_SEEDS = 3  # seeds needed on every task of a table before a method is ranked


def _mean_of_means(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean([np.mean(x, axis=axis) for x in samples], axis=0)


def stratified_interval(by_task: Mapping[str, Sequence[float]], level: float = CONFIDENCE, resamples: int = RESAMPLES,
                        seed: int = SEED) -> tuple[float, float, float]:
    """(estimate, low, high) of the mean over tasks of each task's seed mean; `by_task` maps a task to its per-seed
    values (NaNs dropped). The interval is NaN when a task has fewer than two values (nothing to resample) or
    there is no task; the estimate is NaN only without any value."""
    samples = [np.asarray([v for v in values if not math.isnan(v)], dtype=float) for values in by_task.values()]
    samples = [x for x in samples if x.size]
    if not samples:
        return (math.nan, math.nan, math.nan)
    estimate = float(_mean_of_means(*samples))
    if min(x.size for x in samples) < 2:
        return (estimate, math.nan, math.nan)
    if all(np.ptp(x) == 0 for x in samples):  # no spread anywhere: every resample gives the estimate
        return (estimate, estimate, estimate)
    result = bootstrap(tuple(samples), _mean_of_means, n_resamples=resamples, confidence_level=level,
                       method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return (estimate, float(result.confidence_interval.low), float(result.confidence_interval.high))


def tied_with_leader(estimate: Sequence[float], low: Sequence[float], high: Sequence[float]) -> np.ndarray:
    """True for the leader (highest estimate) and every method whose [low, high] overlaps the leader's. A method
    without an interval (NaN) is tied only if it is the leader; a leader without one ties with nobody."""
    est, lo, hi = (np.asarray(x, dtype=float) for x in (estimate, low, high))
    tied = np.zeros(est.size, dtype=bool)
    if est.size == 0 or np.isnan(est).all():
        return tied
    leader = int(np.nanargmax(est))
    tied[leader] = True
    if math.isnan(lo[leader]) or math.isnan(hi[leader]):
        return tied
    overlaps = ~np.isnan(lo) & ~np.isnan(hi) & (hi >= lo[leader]) & (lo <= hi[leader])
    return tied | overlaps


def tie_ranks(estimate: Sequence[float], low: Sequence[float], high: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(rank, tied) per method: rank 1 for the leader and every method tied with it, then competition ranks in
    order of estimate (ties of the estimate itself keep the input order, so callers pass their tie-break order)."""
    est = np.asarray(estimate, dtype=float)
    tied = tied_with_leader(est, low, high)
    order = sorted(range(est.size), key=lambda i: (not tied[i], -est[i] if not math.isnan(est[i]) else math.inf, i))
    ranks = np.zeros(est.size, dtype=int)
    for position, i in enumerate(order, start=1):
        ranks[i] = 1 if tied[i] else position
    return ranks, tied


def paired_difference(method: Mapping[tuple[str, int], float], baseline: Mapping[tuple[str, int], float],
                      level: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, float]:
    """Method minus baseline over the (task, seed) cells both have, as the mean over tasks of each task's mean
    paired difference, with its stratified bootstrap interval (``stratified_interval``).

    Every task of `method` must have at least one paired seed, or the difference would be over other tasks than
    the method's own numbers: then every value is NaN. Returns ``diff``, ``low``, ``high`` and ``pairs`` (the
    number of paired cells)."""
    tasks = sorted({task for task, _ in method})
    by_task: dict[str, list[float]] = {t: [] for t in tasks}
    for (task, s), value in sorted(method.items()):
        other = baseline.get((task, s))
        if other is not None and not (math.isnan(value) or math.isnan(other)):
            by_task[task].append(value - other)
    pairs = sum(len(v) for v in by_task.values())
    if not tasks or any(not v for v in by_task.values()):
        return {"diff": math.nan, "low": math.nan, "high": math.nan, "pairs": pairs}
    diff, low, high = stratified_interval(by_task, level, resamples, seed)
    return {"diff": diff, "low": low, "high": high, "pairs": pairs}


def seed_ordering(a, b, min_seeds: int = MIN_SEEDS) -> dict | None:
    """Which of two methods scores higher on one cell: `a` and `b` map seed -> value (pandas Series indexed by
    seed); the difference a - b is taken seed by seed over the seeds both have, its interval is
    ``results.bootstrap_ci`` over them (with three seeds, the range of the differences).

    Returns None with fewer than `min_seeds` paired seeds, else ``n``, ``diff`` (mean difference), ``low``,
    ``high`` and ``verdict``: ">" (a above b: the interval lies above 0), "<" (below) or "~" (it contains 0)."""
    from .results import bootstrap_ci

    seeds = a.index.intersection(b.index)
    if len(seeds) < min_seeds:
        return None
    d = (a[seeds] - b[seeds]).to_numpy()
    low, high = bootstrap_ci(d)
    return {"n": len(seeds), "diff": float(np.mean(d)), "low": low, "high": high,
            "verdict": ">" if low > 0 else "<" if high < 0 else "~"}

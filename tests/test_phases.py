"""Three-phase detection on synthetic curves whose boundaries are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest


from prunebench.analysis.chance import chance_score  # noqa: E402
from prunebench.analysis.phases import detect, knee, safe_zone_end  # noqa: E402
from prunebench.analysis.reference import load_reported  # noqa: E402

S = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


def test_plateau_then_cliff_then_chance():
    # within 1 point up to 40%, knee at the last plateau point, collapse to binary chance (50) at 80%
    scores = [90.0, 89.6, 89.4, 89.1, 86.0, 78.0, 64.0, 52.0, 50.5]
    p = detect(S, scores, dense=90.0, chance=50.0)
    assert p.safe_end == 0.4
    assert p.knee == 0.5  # furthest above the chord: the last point before the drop accelerates
    assert (p.over_start, p.over_rule) == (0.8, "chance")  # 52 <= 50 + 5; 64 is not


def test_the_safe_zone_ends_at_the_first_failure_even_if_the_curve_recovers():
    scores = [90.0, 88.5, 89.8, 89.9, 80.0]  # 20% loses 1.5 points: 30% and 40% no longer count
    assert detect(S[:5], scores, dense=90.0).safe_end == 0.1


def test_no_safe_zone_when_the_first_pruned_point_already_loses_more_than_the_tolerance():
    p = detect([0.5, 0.7, 0.9], [85.0, 80.0, 60.0], dense=90.0, chance=50.0)
    assert nan(p.safe_end)


def test_a_curve_that_stays_within_tolerance_is_safe_throughout_with_no_knee_and_no_collapse():
    p = detect(S, [90.0, 89.9, 89.8, 89.7, 89.6, 89.5, 89.4, 89.3, 89.2], dense=90.0, chance=50.0)
    assert p.safe_end == 0.9 and nan(p.knee) and nan(p.over_start) and p.over_rule == ""


def test_a_straight_decline_has_no_knee():
    s = np.array(S)
    assert nan(knee(s, 90.0 - 40.0 * s, dense=90.0))


def test_a_convex_decline_has_no_knee():
    s = np.array(S)
    assert nan(knee(s, 50.0 + 40.0 * (1.0 - s) ** 3, dense=90.0))  # drops fastest first: no bend into a cliff


def test_a_floor_after_the_knee_is_over_pruning_when_chance_is_far_below():
    # STS-B-like: chance is 0, the curve settles on a floor at 40 after its knee
    scores = [88.0, 87.9, 87.5, 70.0, 41.0, 40.5, 40.2, 40.0]
    p = detect([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], scores, dense=88.0, chance=0.0)
    assert p.knee == 0.4
    assert (p.over_start, p.over_rule) == (0.6, "floor")


def test_a_flat_stretch_inside_the_safe_zone_is_not_a_floor():
    p = detect([0.5, 0.6, 0.7], [90.0, 90.0, 90.0], dense=90.0, chance=0.0)
    assert nan(p.over_start)


def test_a_dense_model_at_chance_cannot_be_over_pruned():
    # RTE on a small sample: the dense model is barely above the majority class (52.7)
    p = detect([0.5, 0.7, 0.9], [52.7, 52.7, 52.7], dense=53.1, chance=52.7)
    assert p.safe_end == 0.9 and nan(p.over_start) and p.over_rule == "dense at chance"


def test_over_pruning_never_starts_inside_the_safe_zone():
    p = detect([0.5, 0.7], [55.5, 50.0], dense=56.0, chance=49.0)  # dense 56 > chance + 5, 55.5 is safe
    assert p.safe_end == 0.5 and (p.over_start, p.over_rule) == (0.7, "chance")


def test_order_and_dense_points_do_not_matter():
    scores = [90.0, 89.6, 89.4, 89.1, 86.0, 78.0, 64.0, 52.0, 50.5]
    ordered = detect(S, scores, dense=90.0, chance=50.0)
    shuffled = detect([0.0, *S[::-1]], [90.0, *scores[::-1]], dense=90.0, chance=50.0)
    assert ordered == shuffled


def test_safe_zone_end_counts_the_tolerance_inclusively():
    assert safe_zone_end(np.array([0.5, 0.6]), np.array([89.0, 88.9]), dense=90.0, tolerance=1.0) == 0.5


def test_no_points_or_no_dense_gives_no_phases():
    for p in (detect([], [], dense=90.0), detect([0.5], [80.0], dense=math.nan)):
        assert nan(p.safe_end) and nan(p.knee) and nan(p.over_start)


@pytest.mark.parametrize("task, expected", [("sst2", (math.nan, 0.5, math.nan)), ("qqp", (math.nan, 0.5, 0.7)),
                                            ("mnli", (math.nan, 0.5, 0.7))])
def test_seed_003_reported_curves(task, expected):
    """Seed 003's printed layer-wise numbers: none within 1 point of dense, knee at 50%, QQP and MNLI collapse at 70%."""
    rows = load_reported()
    rows = rows[rows["task"] == task]
    dense = float(rows.loc[rows["sparsity"] == 0, "accuracy"].iloc[0])
    pruned = rows[rows["sparsity"] > 0]
    p = detect(pruned["sparsity"], pruned["accuracy"], dense=dense, chance=chance_score(task, ("accuracy",)))
    for got, want in zip((p.safe_end, p.knee, p.over_start), expected):
        assert (nan(got) and nan(want)) or got == want


def test_past_the_safe_zone_the_knee_cannot_come_before_the_safe_zone_ends():
    # v2's SST-2 layer-wise magnitude curve (seed means): within 1 point of dense up to 65%, the largest bulge
    # above the chord at 60%
    sparsity = [0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9]
    score = [89.30, 89.87, 89.79, 89.11, 88.19, 83.98, 81.96]
    plain = detect(sparsity, score, dense=89.79)
    ordered = detect(sparsity, score, dense=89.79, knee_rule="kneedle-past-safe-zone")
    assert (plain.safe_end, plain.knee) == (0.65, 0.6)
    assert (ordered.safe_end, ordered.knee) == (0.65, 0.65)


def test_a_curve_without_a_safe_zone_keeps_its_kneedle_knee_under_either_rule():
    sparsity, score = [0.5, 0.6, 0.7, 0.8, 0.9], [87.0, 86.5, 86.0, 80.0, 70.0]
    assert detect(sparsity, score, 90.0).knee == detect(sparsity, score, 90.0, knee_rule="kneedle-past-safe-zone").knee


def test_past_the_safe_zone_the_knee_cannot_follow_a_collapse_to_chance():
    # v2's RTE layer-wise magnitude curve (seed means): dense 59.69, chance 52.71, so every point is within 5 points
    # of chance; plain Kneedle puts the knee at 55%, after the collapse at 50%
    sparsity = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]
    score = [55.48, 56.56, 52.83, 52.11, 51.87, 52.11, 53.55, 53.19, 53.67]
    plain = detect(sparsity, score, dense=59.69, chance=52.71)
    ordered = detect(sparsity, score, dense=59.69, chance=52.71, knee_rule="kneedle-past-safe-zone")
    assert (plain.knee, plain.over_start, plain.over_rule) == (0.55, 0.5, "chance")
    assert nan(ordered.knee) and (ordered.over_start, ordered.over_rule) == (0.5, "chance")


def test_a_knee_before_the_collapse_stays_where_it_is():
    sparsity, score = [0.5, 0.6, 0.7, 0.8, 0.9], [89.5, 89.0, 86.0, 60.0, 51.0]
    ordered = detect(sparsity, score, dense=90.0, chance=50.0, knee_rule="kneedle-past-safe-zone")
    assert (ordered.knee, ordered.over_start) == (detect(sparsity, score, dense=90.0, chance=50.0).knee, 0.9)
    assert ordered.knee < ordered.over_start


def test_an_unknown_knee_rule_is_refused():
    with pytest.raises(ValueError, match="choose kneedle or kneedle-past-safe-zone"):
        detect([0.5, 0.7, 0.9], [89.0, 85.0, 70.0], 90.0, knee_rule="elbow")

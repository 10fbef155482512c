"""Leaderboard uncertainty on hand-made numbers: stratified seed bootstrap, ties with the leader, paired differences."""

import math

import pandas as pd
import pytest

from prunebench.analysis.intervals import MIN_SEEDS, paired_difference, stratified_interval, tie_ranks, tied_with_leader


def test_one_task_of_three_seeds_gives_the_whole_range_of_resampled_means():
    # 27 equally likely resamples of (1, 2, 3); the mean is 1 or 3 with probability 1/27 = 3.7% each, more than
    # the 2.5% tails, so the 95% percentile interval is exactly (1, 3)
    assert stratified_interval({"sst2": [1.0, 2.0, 3.0]}) == (2.0, 1.0, 3.0)


def test_tasks_are_strata_a_task_without_spread_only_shifts_and_halves_the_interval():
    # estimate (1 + 3) / 2; only rte varies, its (2, 4) interval enters the mean over two tasks at half width
    assert stratified_interval({"sst2": [1.0, 1.0, 1.0], "rte": [2.0, 3.0, 4.0]}) == (2.0, 1.5, 2.5)


def test_no_spread_gives_a_point_and_too_few_seeds_no_interval():
    assert stratified_interval({"sst2": [0.9, 0.9, 0.9]}) == (0.9, 0.9, 0.9)
    estimate, low, high = stratified_interval({"sst2": [0.9, 0.8, 0.7], "rte": [0.5]})
    assert estimate == pytest.approx((0.8 + 0.5) / 2) and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in stratified_interval({}))
    assert MIN_SEEDS == 3


def test_the_interval_is_reproducible_and_moves_only_with_its_own_values():
    values = {"sst2": [0.91, 0.88, 0.95, 0.90], "rte": [0.70, 0.75, 0.62]}
    first = stratified_interval(values)
    assert stratified_interval(values) == first
    assert first[1] < first[0] < first[2]


def test_methods_overlapping_the_leader_share_rank_one_and_the_rest_follow():
    estimate = [0.80, 0.90, 0.89, 0.70]
    low = [0.78, 0.88, 0.87, 0.69]
    high = [0.82, 0.92, 0.91, 0.71]
    ranks, tied = tie_ranks(estimate, low, high)
    assert tied.tolist() == [False, True, True, False]
    assert ranks.tolist() == [3, 1, 1, 4]  # two share rank 1, so the next is 3 (competition ranking)


def test_a_method_without_an_interval_never_ties_and_a_leader_without_one_ties_with_nobody():
    assert tied_with_leader([0.9, 0.89], [0.85, math.nan], [0.95, math.nan]).tolist() == [True, False]
    assert tied_with_leader([0.9, 0.89], [math.nan, 0.8], [math.nan, 0.95]).tolist() == [True, False]


def test_a_paired_difference_cancels_what_the_seeds_share():
    # seeds differ a lot (a hard data order hurts both), but the method is always exactly 0.02 above the baseline
    baseline = {("sst2", 0): 0.70, ("sst2", 1): 0.90, ("sst2", 2): 0.80, ("rte", 0): 0.60, ("rte", 1): 0.66, ("rte", 2): 0.63}
    method = {k: v + 0.02 for k, v in baseline.items()}
    result = paired_difference(method, baseline)
    assert result["pairs"] == 6
    assert result["diff"] == pytest.approx(0.02) and result["low"] == pytest.approx(0.02) and result["high"] == pytest.approx(0.02)
    # unpaired, the two methods' own intervals overlap: they would be called tied
    own = [stratified_interval({t: [v for (task, _), v in m.items() if task == t] for t in ("sst2", "rte")})
           for m in (method, baseline)]
    assert tied_with_leader([o[0] for o in own], [o[1] for o in own], [o[2] for o in own]).all()


def test_a_paired_difference_needs_a_paired_seed_on_every_task_of_the_method():
    method = {("sst2", 0): 0.9, ("sst2", 1): 0.8, ("rte", 0): 0.7}
    baseline = {("sst2", 0): 0.85, ("sst2", 1): 0.85, ("rte", 1): 0.6}  # rte: no common seed
    result = paired_difference(method, baseline)
    assert math.isnan(result["diff"]) and result["pairs"] == 2
    # over the common seeds only: sst2's differences are +0.05 and -0.05
    result = paired_difference({k: v for k, v in method.items() if k[0] == "sst2"}, baseline)
    assert result["diff"] == pytest.approx(0.0) and result["pairs"] == 2


# --- the leaderboard's use of them (analysis/ranking.py), on the analysis fixture's hand-made rows -------------

def _board(tmp_path, rename=None, drop=None):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from analysis_fixture import fixture_records

    from prunebench.analysis.ranking import leaderboard
    from prunebench.analysis.results import load_results
    from prunebench.benchmarks.records import to_csv_text

    records = fixture_records()
    for r in records:
        r.method = (rename or {}).get(r.method, r.method)
    records = [r for r in records if not (drop and drop(r))]
    (tmp_path / "results.csv").write_text(to_csv_text(records))
    return leaderboard(load_results(tmp_path / "results.csv"))


def test_the_leaderboard_gives_every_cell_its_interval_and_ranks_only_three_seed_methods(tmp_path):
    board = _board(tmp_path)
    full = board[board["regime_family"] == "n1000"].set_index("method")
    low, high = full.loc["magnitude-global", ["auc_ci_low", "auc_ci_high"]]
    assert low < full.loc["magnitude-global", "auc"] < high and full.loc["magnitude-global", "seeds"] == 3
    assert full.loc["magnitude-global", "retained_50_ci_low"] < full.loc["magnitude-global", "retained_50"]
    # one seed of QQP: complete and comparable, but not ranked, and no interval
    (qqp,) = board[board["regime_family"] == "qqp-subset"].itertuples()
    assert qqp.complete and qqp.seeds == 1 and pd.isna(qqp.rank) and math.isnan(qqp.auc_ci_low)


def test_a_missing_seed_on_one_task_unranks_a_method(tmp_path):
    board = _board(tmp_path, drop=lambda r: r.method == "user-method" and r.task == "rte" and r.seed == 2)
    user = board[(board["regime_family"] == "n1000") & (board["method"] == "user-method")].iloc[0]
    assert user.seeds == 2 and pd.isna(user["rank"])
    # listed after every ranked method of its table, whatever its AUC: above rank 1 it would read as the leader
    table = board[(board["regime_family"] == "n1000") & (board["grid"] == user.grid)]
    ranked = list(table.loc[table["rank"].notna(), "method"])
    assert ranked and list(table["method"])[:len(ranked)] == ranked


def test_each_method_is_compared_with_its_family_best_baseline_on_the_same_seeds(tmp_path):
    # the fixture's user-method as a registered method that starts from the fine-tuned model
    board = _board(tmp_path, rename={"user-method": "gradual-magnitude-global"})
    full = board[board["regime_family"] == "n1000"].set_index("method")
    gradual = full.loc["gradual-magnitude-global"]
    assert gradual.vs_baseline == "magnitude-global" and gradual.vs_baseline_pairs == 6  # 2 tasks x 3 seeds
    # same cells: the mean paired difference is the difference of the means
    assert gradual.vs_baseline_auc_diff == pytest.approx(gradual.auc - full.loc["magnitude-global", "auc"])
    assert gradual.vs_baseline_auc_diff_ci_low < gradual.vs_baseline_auc_diff < gradual.vs_baseline_auc_diff_ci_high
    # the best baseline itself has none; layer-wise covers 50-70% only, and an AUC over 50-70% is not comparable
    # with one over 50-90%, so it has no baseline of its range either
    assert full.loc["magnitude-global", "vs_baseline"] == ""
    assert full.loc["magnitude-layerwise", "vs_baseline"] == ""
    assert math.isnan(full.loc["magnitude-layerwise", "vs_baseline_auc_diff"])


def test_a_weaker_baseline_is_compared_with_the_best_one_over_its_own_tasks(tmp_path):
    # random (a baseline) on the fixture's user-method rows: magnitude-global beats it on the same two tasks
    board = _board(tmp_path, rename={"user-method": "random"})
    full = board[board["regime_family"] == "n1000"].set_index("method")
    assert full.loc["random", "vs_baseline"] == "magnitude-global" and full.loc["random", "vs_baseline_pairs"] == 6
    assert full.loc["magnitude-global", "vs_baseline"] == ""

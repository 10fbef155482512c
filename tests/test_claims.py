"""Method A against method B, cell by cell (analysis/claims.py, scripts/pair_claims.py): the difference of their gaps
to dense, paired by seed, with an interval that decides the ordering."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from prunebench.analysis.claims import paired_claim, tally

ROOT = Path(__file__).resolve().parent.parent


def rows(method, sparsity, scores, dense_scores, task="sst2"):
    return [dict(model="minilm-l6", task=task, regime="full", target_sparsity=sparsity, method=method, seed=seed,
                 score=score, dense_score=dense) for seed, (score, dense) in enumerate(zip(scores, dense_scores))]


def test_each_row_is_measured_from_its_own_checkpoint():
    # B's seed-0 row started from a re-made checkpoint 1 point lower: its raw score is 1 lower, its gap the same
    df = pd.DataFrame(rows("global", 0.8, [88, 87, 86], [90, 90, 90])
                      + rows("layerwise", 0.8, [85, 86, 84], [89, 90, 90]))
    claim = paired_claim(df, "global", "layerwise").iloc[0]
    # gaps: global -2, -3, -4; layerwise -4, -4, -6; differences 2, 1, 2 (raw scores would say 3, 1, 2)
    assert claim["n"] == 3 and claim["diff"] == pytest.approx(5 / 3)
    assert (claim["low"], claim["high"], claim["verdict"]) == (1.0, 2.0, ">")


def test_an_interval_above_zero_orders_the_pair_and_the_tally_counts_it():
    df = pd.DataFrame(rows("global", 0.5, [89, 88, 89], [90] * 3) + rows("layerwise", 0.5, [87, 86, 88], [90] * 3)
                      + rows("global", 0.9, [80, 80, 81], [90] * 3) + rows("layerwise", 0.9, [83, 82, 84], [90] * 3))
    claim = paired_claim(df, "global", "layerwise")
    assert claim["verdict"].tolist() == [">", "<"]
    assert tally(claim) == {">": 1, "<": 1, "~": 0}
    assert paired_claim(df, "layerwise", "global")["verdict"].tolist() == ["<", ">"]


def test_a_cell_short_of_three_paired_seeds_is_left_out():
    df = pd.DataFrame(rows("global", 0.5, [89, 88, 89], [90] * 3) + rows("layerwise", 0.5, [87, 86], [90] * 2))
    assert paired_claim(df, "global", "layerwise").empty


def test_a_method_without_rows_is_named_with_those_present():
    df = pd.DataFrame(rows("global", 0.5, [89, 88, 89], [90] * 3))
    with pytest.raises(ValueError, match="no rows of snip; methods present: global"):
        paired_claim(df, "snip", "global")


def test_script_refuses_a_pair_not_written_a_colon_b():
    proc = subprocess.run([sys.executable, "scripts/pair_claims.py", "results/v2/results.csv", "--pairs", "snip"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "write each pair as A:B" in proc.stderr and proc.stdout == ""


def test_committed_claims_table_matches_the_csv(tmp_path):
    from _generated import rerun

    now, committed = rerun("results/v2/tables/claims.md", tmp_path / "claims.md")
    assert now == committed

"""Orderings of two methods across results versions: kept, reversed, lost, new or open."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from prunebench.analysis.versions import compare_versions, paired_orderings

ROOT = Path(__file__).resolve().parent.parent


def cell(method, scores, task="sst2", sparsity=0.8):
    return [{"model": "minilm-l6", "task": task, "regime": "full", "target_sparsity": sparsity, "method": method,
             "seed": seed, "score": s} for seed, s in enumerate(scores)]


def test_a_pair_is_ordered_only_when_its_paired_interval_excludes_zero():
    df = pd.DataFrame(cell("a", [85, 86, 87]) + cell("b", [84, 85, 86]) + cell("c", [86, 84, 88]))
    got = paired_orderings(df).set_index(["a", "b"])["verdict"].to_dict()
    # a - b is +1 on every seed: ordered, although the two cells' own ranges overlap; a - c is -1, +2, -1 and
    # b - c is -2, +1, -2: their intervals hold zero, open
    assert got == {("a", "b"): ">", ("a", "c"): "~", ("b", "c"): "~"}


def test_two_seeds_are_too_few_to_order_anything():
    df = pd.DataFrame(cell("a", [85, 86]) + cell("b", [80, 81]))
    assert paired_orderings(df).empty


def test_each_status_between_two_versions():
    old = pd.DataFrame(cell("a", [85, 86, 87]) + cell("b", [84, 85, 86])                 # a > b
                       + cell("a", [80, 81, 82], task="rte") + cell("b", [79, 80, 81], task="rte")  # a > b
                       + cell("a", [70, 71, 72], task="cola") + cell("b", [71, 69, 73], task="cola"))  # open
    new = pd.DataFrame(cell("a", [85, 86, 87]) + cell("b", [86, 87, 88])                 # b > a: reversed
                       + cell("a", [80, 81, 82], task="rte") + cell("b", [81, 79, 82], task="rte")  # open: lost
                       + cell("a", [70, 71, 72], task="cola") + cell("b", [68, 69, 70], task="cola"))  # a > b: new
    status = compare_versions(old, new).set_index("task")["status"].to_dict()
    assert status == {"sst2": "reversed", "rte": "lost", "cola": "new"}


def test_the_committed_comparison_is_what_its_command_writes(tmp_path):
    from _generated import rerun

    again, committed = rerun("results/v2/tables/v1-vs-v2.md", tmp_path / "again.md")
    assert again == committed


def test_a_missing_csv_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/compare_versions.py", "results/v1/results.csv",
                           str(tmp_path / "none.csv")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "none.csv" in proc.stderr

"""Cells at chance level: a collapse to one class is told apart from a task that leaves little room."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from prunebench.analysis.chance import chance_score, constant_scores
from prunebench.analysis.near_chance import near_chance_cells

ROOT = Path(__file__).resolve().parent.parent


def rows(task, method, sparsity, scores, dense=82.0):
    return [{"model": "minilm-l6", "task": task, "regime": "full", "method": method, "target_sparsity": sparsity,
             "seed": seed, "score": score, "dense_score": dense, "qqp_subset": False} for seed, score in enumerate(scores)]


def test_a_seed_that_predicts_one_class_is_counted_and_a_merely_low_cell_is_not():
    majority = max(constant_scores("mrpc"))  # all "paraphrase": F1 and accuracy of the positive constant
    df = pd.DataFrame(rows("mrpc", "random", 0.9, [majority, majority + 1.5, majority + 2.0])
                      + rows("mrpc", "obert", 0.9, [81.0, 81.5, 80.9])        # far above chance: not listed
                      + rows("cola", "random", 0.9, [0.0, 0.0, 0.0], dense=30.8)  # MCC of a constant
                      + rows("mrpc", "dense", 0.0, [82.0, 82.0, 82.0]))
    cells = near_chance_cells(df).set_index(["task", "method"])
    assert list(cells.index) == [("cola", "random"), ("mrpc", "random")]
    assert cells.loc[("mrpc", "random"), "constant"] == 1
    assert cells.loc[("cola", "random"), "constant"] == 3
    assert cells.loc[("mrpc", "random"), "room"] == 82.0 - chance_score("mrpc")


def test_the_margin_decides_what_is_near():
    df = pd.DataFrame(rows("rte", "random", 0.5, [56.0, 56.0, 56.0], dense=59.5))
    assert len(near_chance_cells(df, margin=5.0)) == 1  # 3.3 points above RTE's majority class
    assert len(near_chance_cells(df, margin=2.0)) == 0


def test_the_committed_audit_is_what_its_command_writes(tmp_path):
    from _generated import rerun

    again, committed = rerun("results/v2/tables/near-chance.md", tmp_path / "again.md")
    assert again == committed


@pytest.mark.parametrize("content", [None, "", "a,b\n1,2,3\n", b"\xd0\xcf\x11"], ids=["missing", "empty", "not-csv", "binary"])
def test_bad_input_is_one_line_and_exit_2_and_nothing_written(tmp_path, content):
    given, out = tmp_path / "results.csv", tmp_path / "audit.md"
    if isinstance(content, bytes):
        given.write_bytes(content)
    elif content is not None:
        given.write_text(content)
    proc = subprocess.run([sys.executable, "scripts/chance_audit.py", str(given), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "results.csv" in proc.stderr
    assert not out.exists()

"""Same config and seed, two separate processes on CPU, each with a cold cache: identical rows, byte for byte,
except the columns that time the machine (`TIMING_COLUMNS`). GPU runs are not bitwise reproducible;
README "Reliability" states the tolerance and the flags.
"""

from __future__ import annotations

import pytest

from _figures import count
from _proc import TIMING_COLUMNS, read_row, run_argv, start
from prunebench.benchmarks.records import COLUMNS

pytestmark = pytest.mark.reliability


def test_two_processes_give_byte_identical_rows(tmp_path, tiny_bert_dir):
    # a method that trains from the dense checkpoint with masks, so fine-tuning, pruning and recovery all count
    outs = [tmp_path / name / "row.csv" for name in ("a", "b")]
    procs = [start(run_argv(tiny_bert_dir, out, method="magnitude-global", sparsity=0.7, seed=3), out.parent / "cache")
             for out in outs]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    a, b = (read_row(out) for out in outs)
    assert list(a) == list(COLUMNS)
    differing = {c: (a[c], b[c]) for c in COLUMNS if c not in TIMING_COLUMNS and a[c] != b[c]}
    assert differing == {}
    assert a["seed"] == "3" and float(a["achieved_sparsity"]) == pytest.approx(0.7, abs=0.01)
    count("rows", 2)

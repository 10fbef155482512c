"""Distillation goes on top of each task's best two weight-pruning methods at 80 and 90%, once the grid has them."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from select_distillation_bases import candidates, choose, unmet  # noqa: E402

CONFIG = {"tasks": ["rte"], "seeds": [0, 1], "methods": {
    "dense": {"sparsities": [0.0]}, "random": {"sparsities": [0.8, 0.9]}, "magnitude-global": {"sparsities": [0.8, 0.9]},
    "obert": {"sparsities": [0.8, 0.9]}, "snip": {"sparsities": [0.8, 0.9]}, "head-pruning": {"sparsities": [0.5]},
    "distillation@obert": {"sparsities": [0.8, 0.9], "params": {"base": "obert"}}}}


def rows(scores: dict[str, tuple[float, float]], seeds=(0, 1)) -> pd.DataFrame:
    """One row per (method, sparsity, seed): the method's 80% and 90% scores, the same for every seed."""
    return pd.DataFrame([{"task": "rte", "method": m, "target_sparsity": s, "seed": seed, "score": v}
                         for m, pair in scores.items() for s, v in zip((0.8, 0.9), pair) for seed in seeds])


def test_the_candidates_are_the_unstructured_methods_but_the_random_floor():
    assert candidates(CONFIG) == ["magnitude-global", "obert", "snip"]


def test_the_two_best_by_their_mean_over_80_and_90_percent_are_chosen():
    (choice,) = choose(rows({"magnitude-global": (60.0, 50.0), "obert": (62.0, 58.0), "snip": (61.0, 57.0)}), CONFIG)
    assert choice.best(2) == ["obert", "snip"]  # 60.0 and 59.0, ahead of magnitude's 55.0
    assert unmet([choice], CONFIG, 2) == ["rte: distillation on snip at 80%", "rte: distillation on snip at 90%"]


def test_a_task_with_a_missing_seed_is_not_decided():
    df = rows({"magnitude-global": (60.0, 50.0), "obert": (62.0, 58.0)})
    df = pd.concat([df, rows({"snip": (61.0, 57.0)}, seeds=(0,))])
    (choice,) = choose(df, CONFIG)
    assert choice.best(2) == [] and choice.missing == ["snip at 80%: 1 of 2 seeds", "snip at 90%: 1 of 2 seeds"]
    assert unmet([choice], CONFIG, 2) == []  # nothing is asked of the config before the choice is made


def test_the_committed_config_has_the_entries_its_rows_choose():
    proc = subprocess.run([sys.executable, "scripts/select_distillation_bases.py", "results/v2/results.csv",
                           "config/v2-minilm.yaml", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "sst2: " in proc.stdout and "mnli: " in proc.stdout

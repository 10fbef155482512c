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
    """One row per (method, sparsity, seed): the method's 80% and 90% scores, seed 0 two points above, seed 1 two
    below (so a cell's mean is the given score, and one seed alone is not)."""
    return pd.DataFrame([{"task": "rte", "method": m, "target_sparsity": s, "seed": seed, "score": v + (2 if seed == 0 else -2)}
                         for m, pair in scores.items() for s, v in zip((0.8, 0.9), pair) for seed in seeds])


def test_the_candidates_are_the_unstructured_methods_but_the_random_floor():
    assert candidates(CONFIG) == ["magnitude-global", "obert", "snip"]


def test_the_two_best_by_their_mean_over_80_and_90_percent_are_chosen():
    (choice,) = choose(rows({"magnitude-global": (60.0, 50.0), "obert": (62.0, 58.0), "snip": (61.0, 57.0)}), CONFIG)
    assert choice.best(2) == ["obert", "snip"]  # 60.0 and 59.0, ahead of magnitude's 55.0
    assert unmet([choice], CONFIG, 2) == ["rte: distillation on snip at 80%", "rte: distillation on snip at 90%"]


def test_a_repeated_row_or_a_seed_outside_the_config_does_not_move_the_figure():
    df = rows({"magnitude-global": (60.0, 50.0), "obert": (62.0, 58.0), "snip": (61.0, 57.0)})
    extra = df[(df["method"] == "snip") & (df["seed"] == 1)]
    df = pd.concat([df, extra, extra.assign(seed=7, score=0.0)])  # seed 1 twice, and a seed the config does not run
    (choice,) = choose(df, CONFIG)
    assert dict(choice.ranked)["snip"] == 59.0


def test_a_task_with_a_missing_seed_is_not_decided():
    df = rows({"magnitude-global": (60.0, 50.0), "obert": (62.0, 58.0)})
    df = pd.concat([df, rows({"snip": (61.0, 57.0)}, seeds=(0,))])
    (choice,) = choose(df, CONFIG)
    assert choice.best(2) == [] and choice.missing == ["snip at 80%: 1 of 2 seeds", "snip at 90%: 1 of 2 seeds"]
    assert unmet([choice], CONFIG, 2) == []  # nothing is asked of the config before the choice is made


def test_check_fails_naming_the_entry_a_decided_task_lacks(tmp_path):
    """SST-2's rows of three methods are complete at 80 and 90%: the task is decided, and --check holds the config
    to it (a config with the two entries passes)."""
    base = ("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0, 1, 2]\ndata_source: glue_dir\nresults_version: v9\n"
            "train: {epochs: 1}\nmethods:\n  dense: {sparsities: [0.0]}\n  magnitude-global: {sparsities: [0.8, 0.9]}\n"
            "  obert: {sparsities: [0.8, 0.9]}\n  sparsegpt: {sparsities: [0.8, 0.9]}\n")
    config = tmp_path / "grid.yaml"

    def check(text):
        config.write_text(text)
        return subprocess.run([sys.executable, "scripts/select_distillation_bases.py", str(config),
                               "results/v2/results.csv", "--check"], cwd=ROOT, capture_output=True, text=True)

    lacking = check(base)
    assert lacking.returncode == 1 and "lacks sst2: distillation on " in lacking.stderr
    chosen = lacking.stdout.split("sst2: ")[1].split(" (")[0].split(" + ")
    entries = "".join(f"  distillation@{m}: {{sparsities: [0.8, 0.9], params: {{base: {m}}}}}\n" for m in chosen)
    assert check(base + entries).returncode == 0


def test_the_committed_config_has_the_entries_its_rows_choose():
    proc = subprocess.run([sys.executable, "scripts/select_distillation_bases.py", "config/v2-minilm.yaml",
                           "results/v2/results.csv", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "sst2: " in proc.stdout and "mnli: " in proc.stdout

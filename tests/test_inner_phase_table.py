"""An inner training that never leaves the loss of a constant predictor is told apart from one that learns."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from inner_phase_table import constant_predictor_loss, left_plateau_at  # noqa: E402


def test_the_constant_predictors_loss_is_the_label_entropy_or_variance():
    # CoLA's training labels are ~70% acceptable: a model that ignores its input does no better than 0.61 nats
    assert constant_predictor_loss([1] * 7 + [0] * 3, regression=False) == pytest.approx(
        -(0.7 * math.log(0.7) + 0.3 * math.log(0.3)))
    assert constant_predictor_loss([1, 1, 1], regression=False) == 0.0
    assert constant_predictor_loss([0.0, 2.0, 4.0], regression=True) == pytest.approx(8 / 3)  # MSE of predicting the mean
    with pytest.raises(ValueError):
        constant_predictor_loss([], regression=False)


def test_a_curve_leaves_the_plateau_only_where_it_stays_below_it():
    curve = [(50, 0.66), (100, 0.50), (150, 0.62), (200, 0.40), (250, 0.30)]
    assert left_plateau_at(curve, 0.55) == 200  # the dip at 100 came back up
    assert left_plateau_at([(50, 0.66), (100, 0.61), (150, 0.60)], 0.55) is None


def write_row(folder: Path, sparsity: float, seed: int, score: float, curve) -> None:
    row = folder / "rte" / "lora-prune" / f"s{sparsity:.2f}-seed{seed}.csv"  # a row and its sidecar, as run_grid names them
    row.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"task": "rte", "seed": seed, "target_sparsity": sparsity, "score": score}]).to_csv(row, index=False)
    row.with_suffix(".json").write_text(json.dumps({"inner_train_loss": [{"desc": "lora", "epochs": 1.0, "loss": curve}]}))


def test_the_table_names_the_seed_that_stayed_on_the_plateau(tmp_path):
    stuck = [[50, 0.70], [100, 0.69], [150, 0.69]]
    learned = [[50, 0.70], [100, 0.40], [150, 0.20]]
    write_row(tmp_path, 0.5, 0, 51.0, stuck)
    write_row(tmp_path, 0.9, 0, 50.5, stuck)
    write_row(tmp_path, 0.5, 1, 60.0, learned)
    out = tmp_path / "inner.md"
    proc = subprocess.run([sys.executable, "scripts/inner_phase_table.py", str(tmp_path), "--method", "lora-prune",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split("|")[2].strip(): line for line in out.read_text().splitlines() if line.startswith("| RTE")}
    assert "| never |" in lines["0"] and "50%: 51.00, 90%: 50.50" in lines["0"]  # one line per seed, all its sparsities
    assert "| 100 |" in lines["1"]


def test_a_folder_without_such_sidecars_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/inner_phase_table.py", str(tmp_path), "--method", "lora-prune",
                           "--out", str(tmp_path / "x.md")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.md").exists()

"""What reaches published tables, and what a leaderboard submission must hold.

Rows of sample-size and embedded-data runs never reach a merged results file by accident, whatever their
folder or tag; the leaderboard grid is the v1 campaign's own cells; `prunebench leaderboard-check` names a
missing row, a row made by another recipe, and a re-run outside the GPU tolerance.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from prunebench.benchmarks.cli import main
from prunebench.benchmarks.data import default_glue_dir
from prunebench.benchmarks.grid import runs
from prunebench.benchmarks.merge import merge, run_files_under, why_not_published
from prunebench.benchmarks.records import COLUMNS, read_rows
from prunebench.benchmarks.workflow_config import check_config, load_yaml

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results/v1/runs/v1-minilm/minilm-l6/sst2/random/s0.50-seed0.csv"
QQP_SUBSET = ROOT / "results/v1/runs/v1-minilm/minilm-l6/qqp/magnitude-global/s0.50-seed0.csv"  # glue_dir:qqp-subset


def copy_row(folder: Path, name: str, source: Path = PUBLISHED, **changes) -> Path:
    """A copy of a published row (and its sidecar) under `folder`, with some cells changed."""
    (row,) = read_rows(source)
    row.update({k: str(v) for k, v in changes.items()})
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
    shutil.copy(source.with_suffix(".json"), path.with_suffix(".json"))
    return path


def test_a_published_row_is_publishable():
    (row,) = read_rows(PUBLISHED)
    assert why_not_published(row, PUBLISHED) is None


@pytest.mark.parametrize("changes, sidecar, reason", [
    ({"data_source": "embedded"}, None, "embedded-data run (the package's small GLUE sample)"),
    ({"train_examples": 1000}, None, "sample-size run (1000 of 67349 training examples)"),
    ({}, {"max_eval_samples": 500}, "sample-size run (max_eval_samples=500)"),
    ({"source": QQP_SUBSET, "train_examples": 64}, {"max_train_samples": 64},
     "sample-size run (max_train_samples=64)"),
])
def test_sample_rows_stay_out_of_a_merge_whatever_their_tag(tmp_path, changes, sidecar, reason):
    runs_dir = tmp_path / "runs"
    copy_row(runs_dir, "v1-minilm/m/sst2/random/s0.50-seed0.csv")  # a published row, kept
    sample = copy_row(runs_dir, "paper/m/sst2/random/s0.50-seed0.csv", run_id="f" * 16, config_hash="f" * 64, **changes)  # not tag smoke
    if sidecar:
        info = json.loads(sample.with_suffix(".json").read_text())
        info["config"]["train"].update(sidecar)
        sample.with_suffix(".json").write_text(json.dumps(info))
    left_out: list = []
    assert merge(run_files_under(runs_dir), tmp_path / "results.csv", left_out=left_out) == 1
    assert left_out == [(sample, reason)]
    assert merge(run_files_under(runs_dir), tmp_path / "check.csv", keep_samples=True) == 2


def test_the_merge_command_says_what_it_left_out(tmp_path, capsys):
    copy_row(tmp_path / "runs", "t/a.csv", data_source="embedded")
    assert main(["merge", str(tmp_path / "runs"), "--out", str(tmp_path / "r.csv")]) == 0
    captured = capsys.readouterr()
    assert "0 rows from 1 files" in captured.out
    assert "left out 1 row(s) that are not GLUE results" in captured.err and "--keep-samples merges them" in captured.err
    assert main(["merge", str(tmp_path / "runs"), "--out", str(tmp_path / "r.csv"), "--keep-samples"]) == 0
    assert "1 rows from 1 files" in capsys.readouterr().out


def test_the_merge_of_a_runs_folder_says_it_skipped_the_check_grids(tmp_path, capsys):
    copy_row(tmp_path / "runs", "v1-minilm/m/sst2/random/s0.50-seed0.csv")
    copy_row(tmp_path / "runs", "cli/m/sst2/random/s0.50-seed0-x.csv", run_id="e" * 16, config_hash="e" * 64)  # a `prunebench run` row
    assert main(["merge", str(tmp_path / "runs"), "--out", str(tmp_path / "r.csv")]) == 0
    out, err = capsys.readouterr()
    assert "1 rows from 1 files" in out and "skipped the check grids cli/ (merge such a folder by its own path" in err
    assert main(["merge", str(tmp_path / "runs" / "cli"), "--out", str(tmp_path / "c.csv"), "--keep-samples"]) == 0
    assert "1 rows from 1 files" in capsys.readouterr().out


def test_no_committed_config_merges_sample_rows():
    """merge_sample_rows is for check grids in scratch folders (the workflow tests); a committed config that set it
    would publish sample rows into README, LEADERBOARD.md and the paper."""
    for path in sorted((ROOT / "config").glob("*.yaml")):
        assert not (yaml.safe_load(path.read_text()) or {}).get("merge_sample_rows"), path.name


def test_the_leaderboard_grid_is_the_campaigns_own_cells():
    """Every cell the leaderboard asks of a method the v1 campaign ran is the campaign's cell (same path, recipe
    and parameters), so a submission's rows sit beside the published ones and share their dense rows."""
    board = runs(check_config(load_yaml(ROOT / "config/leaderboard.yaml")))
    campaign = {r.path: r for r in runs(check_config(load_yaml(ROOT / "config/v1-minilm.yaml")))}
    shared = [r for r in board if r.path in campaign]
    assert {r.method for r in shared} >= {"dense", "random", "soft-movement", "head-pruning", "magnitude-2of4"}
    assert all((r.train, r.params) == (campaign[r.path].train, campaign[r.path].params) for r in shared)


needs_glue = pytest.mark.skipif(default_glue_dir() is None or not (default_glue_dir() / "sst2").is_dir(),
                                reason="the leaderboard's cells read GLUE_DIR")


def one_cell_config(tmp_path: Path, **train) -> Path:
    """The leaderboard grid cut to SST-2, seed 0 and `random` (published rows exist for all of it)."""
    config = load_yaml(ROOT / "config/leaderboard.yaml")
    config.update(tasks=["sst2"], seeds=[0], methods={"dense": {"sparsities": [0.0]}, "random": {"sparsities": [0.5, 0.9]}})
    config.pop("all_methods")
    config["task_train"] = {"sst2": config["task_train"]["sst2"]}
    config["train"].update(train)
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@needs_glue
def test_published_rows_pass_the_leaderboard_check_and_a_gap_is_named(tmp_path, capsys):
    config = one_cell_config(tmp_path)
    assert main(["leaderboard-check", "random", "--config", str(config), "--root", str(ROOT)]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 grid row(s) of random present and consistent")
    root = tmp_path / "root"
    copy_row(root, "results/v1/runs/v1-minilm/minilm-l6/sst2/random/s0.50-seed0.csv")
    assert main(["leaderboard-check", "random", "--config", str(config), "--root", str(root)]) == 2
    assert "random/s0.90-seed0.csv: missing" in capsys.readouterr().err
    other_recipe = one_cell_config(tmp_path, recovery_epochs=2)
    assert main(["leaderboard-check", "random", "--config", str(other_recipe), "--root", str(root)]) == 2
    assert '"recovery_epochs": 3' in capsys.readouterr().err  # the part of the identity that differs is shown


def test_a_rerun_is_held_to_the_gpu_tolerance(tmp_path, capsys):
    config = one_cell_config(tmp_path)
    relative = "results/v1/runs/v1-minilm/minilm-l6/sst2/random/s0.50-seed0.csv"
    (row,) = read_rows(PUBLISHED)
    copy_row(tmp_path / "near", relative, score=float(row["score"]) + 0.4)
    copy_row(tmp_path / "far", relative, score=float(row["score"]) + 0.6)
    assert main(["leaderboard-check", "random", "--config", str(config), "--root", str(ROOT), "--rerun", str(tmp_path / "near")]) == 0
    assert main(["leaderboard-check", "random", "--config", str(config), "--root", str(ROOT), "--rerun", str(tmp_path / "far")]) == 2
    assert "apart, tolerance 0.5" in capsys.readouterr().err


def test_the_gpu_tolerance_is_four_dev_examples_worth_on_small_dev_sets_and_half_a_point_on_large_ones():
    from prunebench.benchmarks.leaderboard_check import tolerance

    assert tolerance("sst2")["score"] == 0.5  # 872 examples: four are 0.46 points, under the floor
    assert tolerance("mrpc")["score"] == pytest.approx(100 * 4 / 408)  # 0.98: v1's repeat differed by 0.75
    assert tolerance("rte")["metrics"] == pytest.approx(4 / 277)
    assert tolerance("stsb") == {"score": 0.5, "dense_score": 0.5, "metrics": 0.005, "achieved_sparsity": 0.001}


def test_four_flipped_dev_examples_are_within_the_tolerance_whatever_the_float_rounding(tmp_path):
    """MRPC: accuracies x/408 and (x-4)/408 are four examples apart, the tolerance's own measure; the float
    difference of the two is sometimes a hair over 4/408 (x = 7, 9, 14, ...), which must not fail a re-run."""
    from prunebench.benchmarks.leaderboard_check import compare_rows

    source = ROOT / "results/v1/runs/v1-minilm/minilm-l6/mrpc/random/s0.50-seed0.csv"
    (row,) = read_rows(source)
    metrics = json.loads(row["metrics"])
    for x in (7, 9, 14, 200):
        first = copy_row(tmp_path / f"a{x}", "row.csv", source, metrics=json.dumps({**metrics, "accuracy": x / 408}))
        second = copy_row(tmp_path / f"b{x}", "row.csv", source, metrics=json.dumps({**metrics, "accuracy": (x - 4) / 408}))
        assert compare_rows(first, second) == []
    five = copy_row(tmp_path / "c", "row.csv", source, metrics=json.dumps({**metrics, "accuracy": 195 / 408}))
    assert compare_rows(first, five) == [f"metrics.accuracy {200 / 408} vs {195 / 408}: beyond {4 / 408:.4g}"]

"""Per-method sweeps: a method's own parameter settings as rows, the choice over tasks, and `--check` of a config."""

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from prunebench.analysis.recipes import (choose, choose_params, collapsed_tasks, config_mismatches, load_sweep, params_markdown,
                                        swept_params, tuning_effect, tuning_markdown)
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.grid import MAX_METHOD_SETTINGS, runs
from prunebench.benchmarks.records import COLUMNS, write_atomic
from prunebench.benchmarks.workflow_config import check_config, load_yaml

ROOT = Path(__file__).resolve().parent.parent


def config(methods, **extra):
    base = {"tag": "sweep-t", "models": ["minilm-l6"], "tasks": ["sst2", "mrpc"], "seeds": [0], "data_source": "embedded",
            "methods": methods, "train": {"epochs": 3}}
    base.update(extra)
    return check_config(base)


def test_each_setting_of_a_method_sweep_is_one_row_per_task_in_its_own_folder():
    grid = runs(config({"snip": {"sparsities": [0.8], "params": {"scope": "layer"}, "sweep": [{"batches": 1}, {"batches": 16}]},
                        "magnitude-global": {"sparsities": [0.8]}}))
    snip = [r for r in grid if r.method == "snip"]
    assert sorted((r.task, r.recipe) for r in snip) == [("mrpc", "batches1"), ("mrpc", "batches16"),
                                                         ("sst2", "batches1"), ("sst2", "batches16")]
    assert all(r.params == {"scope": "layer", "batches": int(r.recipe.removeprefix("batches"))} for r in snip)
    assert snip[0].path == "results/v1/sweeps/sweep-t/batches1/minilm-l6/sst2/snip/s0.80-seed0.csv"
    # a sweep config's other rows are never results: they go to sweeps/<tag>/base/, not runs/
    other = [r for r in grid if r.method == "magnitude-global"]
    assert {r.path.split("/")[4] for r in other} == {"base"} and all("/runs/" not in r.path for r in other)


@pytest.mark.parametrize("sweep, message", [
    ([{"batchez": 1}], r"methods.snip.sweep.0: .*unknown key 'batchez'"),
    ([{"batches": 4}, {"batches": 0}], r"methods.snip.sweep.1: method 'snip': batches must be >= 1"),
    ([{"batches": b} for b in range(1, MAX_METHOD_SETTINGS + 2)], r"methods.snip.sweep: .* is too long"),
])
def test_settings_are_checked_like_params_and_limited_to_the_budget(sweep, message):
    with pytest.raises(UsageError, match=message):
        config({"snip": {"sparsities": [0.8], "sweep": sweep}})


@pytest.mark.parametrize("path", ["config/sweep-methods.yaml", "config/sweep-dense-v2.yaml"])
def test_the_committed_sweep_configs_are_valid_and_within_budget(path):
    cfg = check_config(load_yaml(ROOT / path))
    assert all(len(spec.get("sweep", [])) <= MAX_METHOD_SETTINGS for spec in cfg["methods"].values())
    assert cfg["tag"].startswith("sweep-")  # the recipes table rule of workflow/rules/merge.smk


def _row(folder, recipe, method, task, score, params, seed=0):
    row = {c: "" for c in COLUMNS}
    row.update(schema_version="1", run_id=f"{method}-{recipe}-{task}-{seed}", method=method, model="m", task=task,
               seed=str(seed), target_sparsity="0.8", score=str(score),
               method_params=json.dumps({**params, "_info": {"scored_examples": 32}}, sort_keys=True))
    path = folder / recipe / "m" / task / method / f"s0.80-seed{seed}.csv"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([COLUMNS, [row[c] for c in COLUMNS]])
    write_atomic(path, text.getvalue())
    # each task trains at its own dense recipe: not a swept field
    lr = {"sst2": 2e-5, "mrpc": 1e-4}[task]
    write_atomic(path.with_suffix(".json"), json.dumps({"config": {"train": {"lr": lr, "recovery_lr": 1e-4}}}))


@pytest.fixture
def sweep(tmp_path):
    """Hand-made rows: movement with three score rates on two tasks; the best mean (not the best on SST-2) wins."""
    for lr, sst2, mrpc in [(1e-3, 80.0, 80.0), (1e-2, 84.0, 78.0), (1e-1, 82.0, 85.0)]:
        label = f"score_lr{lr}"
        _row(tmp_path, label, "movement", "sst2", sst2, {"score_lr": lr, "scope": "layer"})
        _row(tmp_path, label, "movement", "mrpc", mrpc, {"score_lr": lr, "scope": "layer"})
    _row(tmp_path, "score_lr1.0", "movement", "sst2", 99.0, {"score_lr": 1.0, "scope": "layer"})  # never ran on MRPC
    _row(tmp_path, "score_lr0.001", "movement", "sst2", 95.0, {"score_lr": 1e-3, "scope": "layer"}, seed=1)  # seed 1
    for steps, sst2, mrpc in [(1, 50.9, 70.0), (16, 51.0, 68.3)]:  # at chance everywhere (SST-2 majority 50.9%)
        _row(tmp_path, f"batches{steps}", "snip", "sst2", sst2, {"batches": steps})
        _row(tmp_path, f"batches{steps}", "snip", "mrpc", mrpc, {"batches": steps})
    return tmp_path


def test_the_best_mean_over_the_tasks_is_chosen_among_settings_run_on_all_of_them(sweep):
    df, swept = load_sweep(sweep)
    assert swept == []  # lr differs between tasks, never within one
    assert swept_params(df) == {"movement": ["score_lr"], "snip": ["batches"]}
    chosen = choose_params(df, swept_params(df)).set_index("method")
    assert chosen.loc["movement", "params"] == {"score_lr": 0.1} and chosen.loc["movement", "recipe"] == "score_lr0.1"
    assert chosen.loc["movement", "score"] == pytest.approx((82.0 + 85.0) / 2)
    assert chosen.loc["movement", "settings"] == 4 and chosen.loc["movement", "tasks"] == "mrpc sst2"
    assert chosen.loc["snip", "params"] == {"batches": 1}  # 60.45 beats 59.65


def test_a_method_at_chance_under_every_setting_is_reported(sweep):
    df, _ = load_sweep(sweep)
    assert collapsed_tasks(df, "snip") == ["mrpc", "sst2"]  # MRPC's chance (F1/acc mean) is 74.8
    assert collapsed_tasks(df, "movement") == []


def test_the_near_chance_line_of_a_sparsity_judges_that_sparsity_s_rows_only(sweep):
    """A method swept at two sparsities: at chance everywhere at 80%, well above chance on SST-2 at 50% (its MRPC
    run at 50% left no row). The 80% line names both tasks; the 50% table has none (it used to raise KeyError)."""
    df, _ = load_sweep(sweep)
    half = df[(df["method"] == "snip") & (df["task"] == "sst2")].assign(target_sparsity=0.5, score=85.0)
    df = pd.concat([df, half], ignore_index=True)
    table = params_markdown(df, choose_params(df, swept_params(df)))
    assert "| snip | 0.80 | within 5 points of chance under every setting on: mrpc (chance 74.80), sst2 (chance 50.92) |" in table
    assert "| snip | 0.50 | within" not in table


def test_the_tuning_effect_compares_the_choice_with_the_methods_defaults_and_the_untuned_campaign(sweep):
    df, _ = load_sweep(sweep)
    chosen = choose_params(df, swept_params(df))
    untuned = pd.DataFrame([{"method": "movement", "task": "sst2", "seed": 0, "target_sparsity": 0.8, "score": 83.0}])
    effect = tuning_effect(df, chosen, untuned).set_index(["method", "task"])
    # movement's default score rate is the paper's 1e-2: chosen 1e-1 lost 2 points on SST-2 and gained 7 on MRPC
    assert effect.loc[("movement", "sst2"), "default"] == "score_lr0.01"
    assert effect.loc[("movement", "sst2"), "delta"] == pytest.approx(82.0 - 84.0)
    assert effect.loc[("movement", "mrpc"), "delta"] == pytest.approx(85.0 - 78.0)
    assert effect.loc[("movement", "sst2"), "delta_untuned"] == pytest.approx(82.0 - 83.0)
    assert math.isnan(effect.loc[("movement", "mrpc"), "untuned_score"])  # no untuned row: not invented
    table = tuning_markdown(effect.reset_index())
    assert "| movement | 0.80 | mrpc | score_lr0.01 | 78.00 | score_lr0.1 | 85.00 | +7.00 | — | — |" in table


def test_the_untuned_row_is_the_one_the_methods_defaults_made_whatever_the_csv_order(sweep):
    """v1's results.csv holds distillation three times per cell (its own base and two labelled variants): the
    untuned score is the row run with the defaults, not whichever comes first."""
    from prunebench.methods.registry import get

    df, _ = load_sweep(sweep)
    defaults = vars(get("movement").parse_params({}))
    rows = [(70.0, {**defaults, "score_lr": 0.5, "_info": {"x": 1}}), (83.0, {**defaults, "_info": {"x": 1}})]
    untuned = pd.DataFrame([{"method": "movement", "task": "sst2", "seed": 0, "target_sparsity": 0.8, "score": score,
                             "method_params": json.dumps(params)} for score, params in rows])
    effect = tuning_effect(df, choose_params(df, swept_params(df)), untuned).set_index(["method", "task"])
    assert effect.loc[("movement", "sst2"), "untuned_score"] == 83.0


def test_check_names_every_parameter_the_config_does_not_hold_as_chosen(sweep):
    df, swept = load_sweep(sweep)
    chosen_params = choose_params(df, swept_params(df))
    good = {"tasks": ["sst2", "mrpc"], "methods": {"movement": {"params": {"score_lr": 1.0e-1}}, "snip": {"params": {"batches": 1}}}}
    assert config_mismatches(good, choose(df, swept), swept, chosen_params) == []
    bad = {"tasks": ["sst2", "mrpc"], "methods": {"movement": {"params": {"score_lr": 1.0e-2}}, "snip": {}}}
    assert config_mismatches(bad, choose(df, swept), swept, chosen_params) == [
        "methods.movement.params.score_lr=0.01, the sweep chose 0.1 (score_lr0.1)",
        "methods.snip.params.batches=None, the sweep chose 1 (batches1)",
    ]
    # a method the config does not run is not its business
    assert config_mismatches({"tasks": ["sst2"], "methods": {"snip": {"params": {"batches": 1}}}},
                             choose(df, swept), swept, chosen_params) == []


def test_select_recipe_check_exits_1_on_a_drifted_config_and_0_on_the_chosen_one(sweep, tmp_path):
    drifted, right = tmp_path / "drifted.yaml", tmp_path / "right.yaml"
    drifted.write_text(yaml.safe_dump({"tasks": ["sst2"], "methods": {"movement": {"params": {"score_lr": 0.01}}}}))
    right.write_text(yaml.safe_dump({"tasks": ["sst2"], "methods": {"movement": {"params": {"score_lr": 0.1}}}}))
    check = lambda path: subprocess.run([sys.executable, "scripts/select_recipe.py", str(sweep), "--check", str(path)],  # noqa: E731
                                        cwd=ROOT, capture_output=True, text=True)
    proc = check(drifted)
    assert proc.returncode == 1 and "methods.movement.params.score_lr=0.01, the sweep chose 0.1" in proc.stderr
    assert check(right).returncode == 0


def test_a_missing_untuned_csv_is_refused_in_one_line_before_any_table_is_written(sweep, tmp_path):
    table = tmp_path / "recipes.md"
    proc = subprocess.run([sys.executable, "scripts/select_recipe.py", str(sweep), "--untuned", str(tmp_path / "no.csv"),
                           "--table", str(table)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith(f"--untuned {tmp_path / 'no.csv'}: no such file")
    assert "Traceback" not in proc.stderr and not table.exists()


def test_snakemake_refuses_a_method_sweep_config_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "config/sweep-methods.yaml"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "sweep configs choose recipes and run with scripts/run_grid.py" in proc.stderr

"""A config as the rows it asks for: per-method tasks, seeds and recipes, sweeps, and the recipe choice."""

import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest

from prunebench.analysis.recipes import choose, load_sweep
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.grid import recipe_label, runs
from prunebench.benchmarks.paths import frozen_warning
from prunebench.benchmarks.workflow_config import check_config, load_yaml

ROOT = Path(__file__).resolve().parent.parent


def config(**extra):
    base = {"tag": "t", "models": ["minilm-l6"], "tasks": ["sst2", "rte"], "seeds": [0, 1], "data_source": "embedded",
            "methods": {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5, 0.9]}},
            "train": {"epochs": 3}, "task_train": {"rte": {"epochs": 10}}}
    base.update(extra)
    return check_config(base)


def test_a_plain_config_is_the_full_product_with_dense_rows_first():
    grid = runs(config())
    assert len(grid) == 2 * 2 * (1 + 2)
    assert [r.method for r in grid[:4]] == ["dense"] * 4
    assert grid[-1].path == "results/v1/runs/t/minilm-l6/rte/magnitude-global/s0.90-seed1.csv"
    assert {r.train["epochs"] for r in grid if r.task == "rte"} == {10}


def test_a_method_can_run_on_some_tasks_and_seeds_with_its_own_training_fields():
    methods = {"dense": {"sparsities": [0.0]},
               "gradual-magnitude-global": {"sparsities": [0.5], "tasks": ["sst2"], "seeds": [1], "train": {"recovery_epochs": 5}}}
    grid = runs(config(methods=methods))
    gradual = [r for r in grid if r.method != "dense"]
    assert [(r.task, r.seed) for r in gradual] == [("sst2", 1)]
    assert gradual[0].train == {"epochs": 3, "recovery_epochs": 5}
    assert ["--set", "recovery_epochs=5"] == gradual[0].argv()[-2:]


@pytest.mark.parametrize("methods, message", [
    ({"magnitude-global": {"sparsities": [0.5], "tasks": ["cola"]}}, "methods.magnitude-global.tasks: 'cola' is not one of"),
    ({"magnitude-global": {"sparsities": [0.5], "seeds": [7]}}, "methods.magnitude-global.seeds: 7 is not one of"),
    ({"magnitude-global": {"sparsities": [0.5], "train": {"lr": 3}}}, "lr must be in (0, 1)"),
    ({"magnitude-global": {"sparsities": [0.5], "train": {"learning_rate": 3e-5}}}, "unknown key 'learning_rate'"),
])
def test_method_subsets_and_recipes_are_checked(methods, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config(methods=methods)


def test_a_sweep_runs_each_recipe_into_its_own_folder_under_sweeps():
    grid = runs(config(sweep={"lr": [2e-5, 1e-4], "epochs": [3, 10]}))
    labels = {r.recipe for r in grid}
    assert labels == {"epochs3-lr2e-05", "epochs3-lr0.0001", "epochs10-lr2e-05", "epochs10-lr0.0001"}
    assert all(r.path.startswith(f"results/v1/sweeps/t/{r.recipe}/") for r in grid)
    assert {(r.train["lr"], r.train["epochs"]) for r in grid if r.task == "rte"} == {(2e-5, 3), (1e-4, 3), (2e-5, 10), (1e-4, 10)}


def test_a_recovery_sweep_lists_its_shared_dense_row_once():
    grid = runs(config(sweep={"recovery_lr": [2e-5, 1e-4]}))
    assert len([r for r in grid if r.method == "dense"]) == 2 * 2  # (task, seed), not x recipes
    assert len([r for r in grid if r.method != "dense"]) == 2 * 2 * 2 * 2


@pytest.mark.parametrize("sweep, message", [({"lr": [2.0]}, r"sweep.lr: .*lr must be in \(0, 1\)"),
                                            ({"epoch": [3]}, "sweep: unknown key 'epoch'")])
def test_sweep_values_are_checked_like_training_fields(sweep, message):
    with pytest.raises(UsageError, match=message):
        config(sweep=sweep)


def test_recipe_labels_are_path_components():
    assert recipe_label({"lr": 3e-05, "epochs": 10}) == "epochs10-lr3e-05"


def test_snakemake_refuses_a_sweep_config_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "config/sweep-dense.yaml"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "sweep configs choose recipes and run with scripts/run_grid.py" in proc.stderr


def _sweep_row(folder, recipe, task, score, lr, epochs, seed=0):
    from prunebench.benchmarks.records import COLUMNS, write_atomic

    row = {c: "" for c in COLUMNS}
    row.update(schema_version="1", run_id=f"{recipe}-{task}-{seed}", method="dense", model="m", task=task, seed=str(seed),
               target_sparsity="0.0", score=str(score))
    path = folder / recipe / "m" / task / "dense" / f"s0.00-seed{seed}.csv"
    write_atomic(path, ",".join(COLUMNS) + "\n" + ",".join(row[c] for c in COLUMNS) + "\n")
    write_atomic(path.with_suffix(".json"), f'{{"config": {{"train": {{"lr": {lr}, "epochs": {epochs}, "batch_size": 32}}}}}}')


def test_the_best_seed0_score_wins_and_ties_go_to_the_cheaper_recipe(tmp_path):
    _sweep_row(tmp_path, "epochs3-lr2e-05", "rte", 60.0, 2e-5, 3)
    _sweep_row(tmp_path, "epochs10-lr2e-05", "rte", 61.0, 2e-5, 10)
    _sweep_row(tmp_path, "epochs10-lr0.0001", "rte", 70.0, 1e-4, 10, seed=1)  # other seeds never choose
    _sweep_row(tmp_path, "epochs3-lr2e-05", "sst2", 90.0, 2e-5, 3)
    _sweep_row(tmp_path, "epochs10-lr2e-05", "sst2", 90.0, 2e-5, 10)
    df, swept = load_sweep(tmp_path)
    assert sorted(swept) == ["epochs", "lr"]
    chosen = choose(df, swept).set_index("task")
    assert chosen.loc["rte", "recipe"] == "epochs10-lr2e-05"
    assert chosen.loc["sst2", "recipe"] == "epochs3-lr2e-05"


@pytest.mark.parametrize("sweep, config", [
    ("results/v1/sweeps/sweep-dense", "config/v1-minilm.yaml"),
    ("results/v1/sweeps/sweep-recovery", "config/v1-minilm.yaml"),
    ("results/v1/sweeps/sweep-recovery", "config/v2-minilm.yaml"),  # v2 keeps v1's recovery recipe
    ("results/v2/sweeps/sweep-dense-v2", "config/v2-minilm.yaml"),  # QQP (official dev) and MNLI low-resource
    ("results/v2/sweeps/sweep-methods", "config/v2-minilm.yaml"),  # every method's own parameters
])
def test_the_committed_campaign_configs_hold_the_recipes_their_committed_sweeps_chose(sweep, config):
    proc = subprocess.run([sys.executable, "scripts/select_recipe.py", sweep, "--check", config],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_config_names_the_results_version_its_rows_belong_to():
    v1 = runs(check_config(load_yaml(ROOT / "config/v1-minilm.yaml")))
    v2 = runs(check_config(load_yaml(ROOT / "config/v2-minilm.yaml")))
    assert {r.path.split("/")[1] for r in v1} == {"v1"}  # no results_version: the published campaign
    assert {r.path.split("/")[1] for r in v2} == {"v2"}
    assert v2[0].path == "results/v2/runs/v2-minilm/minilm-l6/sst2/dense/s0.00-seed0.csv"
    sweep = runs(check_config(load_yaml(ROOT / "config/sweep-methods.yaml")))
    assert all(r.path.startswith("results/v2/sweeps/sweep-methods/") for r in sweep)


def test_no_config_but_the_published_campaigns_writes_into_the_frozen_v1_folder():
    published = {"v1-minilm.yaml", "leaderboard.yaml", "paper.yaml", "smoke.yaml", "gpu-methods-sst2.yaml",
                 "sweep-dense.yaml", "sweep-recovery.yaml", "bench-throughput.yaml"}  # v1's own grids and checks
    for path in sorted((ROOT / "config").glob("*.yaml")):
        if path.name == "schema.yaml" or path.name in published:
            continue
        assert load_yaml(path).get("results_version", "v1") != "v1", f"{path.name} would add rows to results/v1"


def test_a_new_grid_on_the_published_version_is_warned_unless_its_rows_never_merge():
    grid = {"tag": "mine", "train": {"epochs": 1}}
    assert "results/v1/ is published and frozen, and tag 'mine'" in frozen_warning(grid, "v1")
    assert frozen_warning({**grid, "tag": "v1-minilm"}, "v1") is None and frozen_warning(grid, "v2") is None
    sample = {**grid, "train": {"max_train_samples": 400}}
    assert frozen_warning(sample, "v1") is None  # the merge leaves sample-size rows out: nothing would join v1
    assert frozen_warning({**sample, "merge_sample_rows": True}, "v1") is not None  # unless the config keeps them
    # a "sample" as large as a task's training split samples nothing there: RTE has 2,490 rows, all of them used
    whole = {**grid, "tasks": ["rte", "sst2"], "train": {"max_train_samples": 5000}}
    assert frozen_warning(whole, "v1") is not None
    # MNLI low-resource trains on 9,832 pairs, so 20,000 samples nothing there either; a task's own recipe counts
    assert frozen_warning({**grid, "tasks": ["mnli"], "train": {"max_train_samples": 20000}}, "v1") is not None
    assert frozen_warning({**sample, "tasks": ["rte"], "task_train": {"rte": {"max_train_samples": 0}}}, "v1") is not None


def test_a_bad_results_version_is_refused_in_one_line(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nresults_version: latest\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\n"
                   "methods: {dense: {sparsities: [0.0]}}\ntrain: {epochs: 1}\n")
    proc = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "validate", str(cfg)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "results_version" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_the_campaign_config_lists_its_grid():
    grid = runs(check_config(load_yaml(ROOT / "config/v1-minilm.yaml")))
    # dense, step 2, step 3 (9 methods x 4 sparsities, 3 structured x 3, 2:4 x 1; 5 tasks, 3 seeds), step 4
    assert len(grid) == 7 * 3 + 4 * 9 * 2 * 3 + (9 * 4 + 3 * 3 + 1) * 5 * 3 + 2 * 2 * 3
    assert not pd.Series([r.path for r in grid]).duplicated().any()


def test_run_grid_skips_present_rows_and_starts_nothing_after_its_deadline(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0, 1]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}, magnitude-global: {sparsities: [0.5]}}\ntrain: {epochs: 1}\n")
    present = tmp_path / "root" / "results/v1/runs/t/minilm-l6/rte/dense/s0.00-seed0.csv"
    present.parent.mkdir(parents=True)
    present.write_text("a row\n")
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(tmp_path / "root"), "--deadline", "0"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "4 rows in the grid, 1 present, 3 to run" in proc.stdout
    # the prepare step, seed 0's checkpoint (its dense row is present, its checkpoint may not be) and three runs
    assert "0 commands ok, 0 failed, 5 not started (deadline)" in proc.stdout
    assert re.search(r"skip +\S+/checkpoints/t/rte-minilm-l6-seed0-0\.csv \(deadline\)", proc.stdout)
    assert sorted(p.name for p in (tmp_path / "root").rglob("*.csv")) == ["s0.00-seed0.csv"]


def test_every_checkpoint_pruned_runs_need_is_made_once_before_them(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import checkpoint_runs

    methods = {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5, 0.9]},
               "gradual-magnitude-global": {"sparsities": [0.5], "train": {"recovery_epochs": 5}}}
    grid = runs(config(methods=methods, tasks=["sst2", "rte"], seeds=[0], task_train={}))
    todo = [r for r in grid if not (r.method == "dense" and r.task == "sst2")]  # sst2's dense row is committed
    (made,) = checkpoint_runs(todo)  # one for sst2 (rte's dense row runs anyway), whatever the recovery recipe
    assert (made.method, made.task, made.sparsity, made.params) == ("dense", "sst2", 0.0, {})
    assert not any(k.startswith("recovery_") for k in made.train)
    assert checkpoint_runs(grid) == []


def test_runs_from_pretrained_weights_are_costed_at_the_task_recipe_and_go_first(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import cost, starts_from

    methods = {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5]}, "movement": {"sparsities": [0.5]},
               "distillation@gradual": {"sparsities": [0.5], "params": {"base": "gradual-magnitude-global"}}}
    grid = {r.method: r for r in runs(config(methods=methods, tasks=["cola"], seeds=[0],
                                             task_train={"cola": {"epochs": 10}}))}
    assert [starts_from(grid[m]) for m in ("magnitude-global", "movement", "distillation@gradual")] == \
        ["finetuned", "pretrained", "finetuned"]
    # movement fine-tunes for CoLA's 10 epochs, eagerly; magnitude recovers for the 3 recovery epochs
    assert cost(grid["movement"], {"cola": 100}) == 100 * 10 * 3
    assert cost(grid["magnitude-global"], {"cola": 100}) == 100 * 3


def test_a_method_can_appear_twice_as_labelled_variants_with_their_own_params():
    methods = {"dense": {"sparsities": [0.0]},
               "distillation@gradual": {"sparsities": [0.8], "params": {"base": "gradual-magnitude-global"}},
               "distillation@oneshot": {"sparsities": [0.8], "params": {"base": "magnitude-global"}}}
    grid = [r for r in runs(config(methods=methods, tasks=["sst2"], seeds=[0], task_train={})) if r.method != "dense"]
    assert [r.path for r in grid] == ["results/v1/runs/t/minilm-l6/sst2/distillation@gradual/s0.80-seed0.csv",
                                      "results/v1/runs/t/minilm-l6/sst2/distillation@oneshot/s0.80-seed0.csv"]
    argv = grid[0].argv()
    assert argv[argv.index("--method") + 1] == "distillation" and argv[-2:] == ["--param", "base=gradual-magnitude-global"]


@pytest.mark.parametrize("key, message", [("distillation@Gradual", "variant label after '@'"),
                                          ("nonsense@x", "unknown method 'nonsense'")])
def test_variant_keys_name_a_registered_method_and_a_plain_label(key, message):
    with pytest.raises(UsageError, match=message):
        config(methods={key: {"sparsities": [0.5]}})


def test_snakemake_runs_a_variant_as_its_registered_method(tmp_path):
    cfg = tmp_path / "variants.yaml"
    cfg.write_text("tag: variants\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods:\n  dense: {sparsities: [0.0]}\n"
                   "  distillation@gradual: {sparsities: [0.8], params: {base: gradual-magnitude-global}}\n"
                   "train: {epochs: 1}\n")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--configfile", str(cfg), "--",
                           "results/v1/runs/variants/minilm-l6/rte/distillation@gradual/s0.80-seed0.csv"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "--method distillation --sparsity 0.80" in proc.stdout and "--param base=gradual-magnitude-global" in proc.stdout


def test_run_grid_takes_several_configs_in_one_queue_and_refuses_two_that_share_a_tag(tmp_path):
    def config(name, tag, task):
        path = tmp_path / name
        path.write_text(f"tag: {tag}\nmodels: [minilm-l6]\ntasks: [{task}]\nseeds: [0]\ndata_source: embedded\n"
                        "methods: {dense: {sparsities: [0.0]}, magnitude-global: {sparsities: [0.5]}}\ntrain: {epochs: 1}\n")
        return str(path)

    a, b, clash = config("a.yaml", "first", "rte"), config("b.yaml", "second", "mrpc"), config("c.yaml", "first", "sst2")
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", a, b, "--dry-run", "--root", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "4 rows in the grid, 0 present, 4 to run" in proc.stdout
    listed = [line.split()[:3] for line in proc.stdout.splitlines()[1:]]
    assert listed == [["first", "dense", "rte"], ["first", "magnitude-global", "rte"],
                      ["second", "dense", "mrpc"], ["second", "magnitude-global", "mrpc"]]
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", a, clash, "--dry-run"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "share a tag" in proc.stderr


def test_every_row_of_a_sweep_gets_its_own_log_even_where_only_the_recipe_differs():
    sys.path.insert(0, str(ROOT / "scripts"))
    from run_grid import log_name

    rows = [Path(f"/tmp/runs/results/v2/sweeps/sweep-methods/{setting}/minilm-l6/sst2/snip/s0.80-seed0.csv")
            for setting in ("batches1", "batches4")]
    assert [log_name(r) for r in rows] == ["sweep-methods-batches1-minilm-l6-sst2-snip-s0.80-seed0.log",
                                           "sweep-methods-batches4-minilm-l6-sst2-snip-s0.80-seed0.log"]
    assert log_name(Path("/tmp/c1/checkpoints/t/mrpc-minilm-l6-seed0-1.csv")) == "c1-checkpoints-t-mrpc-minilm-l6-seed0-1.log"


def test_a_run_starts_once_its_own_checkpoint_exists_and_not_when_it_failed(tmp_path, monkeypatch):
    """The queue has no waves: a pruned run waits for its own dense checkpoint only, never for another task's
    slow dense run; a run whose checkpoint failed is reported, not started."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Job, Slots, run_jobs

    def job(name, rank, seconds=0.0, code=0, provides=None, needs=None):
        script = f"import time, sys; time.sleep({seconds}); sys.exit({code})"
        return Job([sys.executable, "-c", script, str(tmp_path / f"{name}.csv")], rank, provides=provides, needs=needs)

    jobs = [job("slow-dense", 1, seconds=4, provides="a"), job("fast-dense", 1, provides="b"),
            job("pruned-b", 3, needs="b"), job("broken-dense", 1, code=1, provides="c"), job("pruned-c", 3, needs="c"),
            job("pruned-a", 3, needs="a")]
    results = run_jobs(jobs, Slots(workers=2, gpus=1, deadline=None), tmp_path / "logs", urgency=lambda j: j.rank)
    ended = [Path(out).stem for out, _, _ in results]
    assert ended.index("pruned-b") < ended.index("slow-dense")  # it did not wait for the other dense run
    assert ended.index("slow-dense") < ended.index("pruned-a")
    codes = {Path(out).stem: code for out, code, _ in results}
    assert codes == {"slow-dense": 0, "fast-dense": 0, "pruned-b": 0, "broken-dense": 1, "pruned-c": -2, "pruned-a": 0}


def test_run_grid_check_hands_its_config_to_leaderboard_check(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}, magnitude-global: {sparsities: [0.5]}}\ntrain: {epochs: 1}\n")
    (tmp_path / "root").mkdir()
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(tmp_path / "root"), "--deadline", "0",
                           "--only", "magnitude-global", "--check"], cwd=ROOT, capture_output=True, text=True)
    # nothing ran (deadline 0), so the check reads the config and finds the method's one row missing
    assert "no such file" not in proc.stderr, proc.stderr
    assert proc.returncode == 2  # leaderboard-check's code for problems with the rows
    assert "results/v1/runs/t/minilm-l6/rte/magnitude-global/s0.50-seed0.csv: missing" in proc.stderr


def test_a_run_killed_by_a_signal_or_that_cannot_start_is_a_failure_and_the_queue_goes_on(tmp_path, monkeypatch):
    """A run the OOM killer ends has a negative return code (-9): it is a failure (137, as a shell says), never
    'ok' nor mistaken for the queue's own not-started codes; a command that cannot even start fails the same way
    instead of stopping its worker thread, which would leave its dependents waiting for ever."""
    import threading

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Job, Slots, run_jobs

    killed = Job([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
                  str(tmp_path / "killed.csv")], 1, provides="a")
    missing = Job([str(tmp_path / "no-such-python"), str(tmp_path / "missing.csv")], 1, provides="b")
    after = [Job([sys.executable, "-c", "pass", str(tmp_path / f"after-{k}.csv")], 3, needs=k) for k in ("a", "b")]
    results = []
    thread = threading.Thread(target=lambda: results.extend(
        run_jobs([killed, missing, *after], Slots(workers=2, gpus=1, deadline=None), tmp_path / "logs", urgency=lambda j: j.rank)),
        daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the queue hung"
    codes = {Path(out).stem: code for out, code, _ in results}
    assert codes["killed"] == 128 + 9 and codes["missing"] > 0
    assert codes["after-a"] == codes["after-b"] == -2


def test_the_scheduler_costs_each_run_once_not_on_every_pick(monkeypatch):
    """Every pick ranks all ready runs (thousands in the v2 grid) and `cost` reads the method registry: it is
    computed once per run and task size, or the queue spends seconds per pick under its lock."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import run_grid

    calls = []
    monkeypatch.setattr(run_grid, "cost", lambda run, examples: calls.append(run.method) or float(examples.get(run.task, 1)))
    grid = [r for r in runs(config()) if r.method != "dense"]
    jobs = [run_grid.Job([r.path], 3, run=r) for r in grid]
    examples: dict[str, int] = {}
    urgency = run_grid.urgency_of(False, examples)
    for _ in range(5):
        ranked = sorted(jobs, key=urgency)
    assert len(calls) == len(jobs)
    examples.update(sst2=100, rte=10)  # the tokenising jobs ended: the sizes are known, each run costed once more
    ranked = sorted(jobs, key=urgency)
    assert len(calls) == 2 * len(jobs)
    assert [(r.run.seed, r.run.task) for r in ranked[:2]] == [(0, "sst2"), (0, "sst2")]  # seed 0 first, longest first


def test_longest_first_ranks_by_the_seconds_earlier_calls_measured(monkeypatch):
    """`cost` (examples x epochs) rates oBERT and distillation on oBERT alike on SST-2, but the second takes twice
    as long: with timings, the longer one starts first; a run nothing has timed is put at its cost times the
    timed runs' median seconds per unit of cost."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import run_grid

    monkeypatch.setattr(run_grid, "cost", lambda run, examples: 1.0)  # every run looks alike to the rough cost
    three = {m: {"sparsities": [0.5]} for m in ("magnitude-global", "magnitude-layerwise", "random")}
    a, b, c = [r for r in runs(config(tasks=["sst2"], seeds=[0], task_train={}, methods={"dense": {"sparsities": [0.0]}, **three}))
               if r.method != "dense"]
    durations = run_grid.Durations({(a.method, "sst2"): 200.0, (b.method, "sst2"): 440.0})
    jobs = [run_grid.Job([r.path], 3, run=r) for r in (a, b, c)]
    ranked = sorted(jobs, key=run_grid.urgency_of(True, {}, durations, jobs))
    assert [j.run for j in ranked] == [b, c, a]  # 440 s, then 320 s (the median rate: an estimate), then 200 s
    without = sorted(jobs, key=run_grid.urgency_of(True, {}))  # no timings: the rough cost (a tie) keeps the order
    assert [j.run for j in without] == [a, b, c]


def test_gpu_places_use_the_gpus_the_caller_left_visible(monkeypatch):
    """scripts/gpu_call.sh: 'set GPUS (with CUDA_VISIBLE_DEVICES) to use part of the machine'."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Slots, place_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    slots = Slots(workers=2, gpus=2, deadline=None)
    assert sorted(slots.free.get()["CUDA_VISIBLE_DEVICES"] for _ in range(slots.size)) == ["2", "2", "3", "3"]
    with pytest.raises(UsageError, match="leaves 2 visible"):
        place_gpus(4)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert place_gpus(2) == ["0", "1"]


def test_near_the_calls_end_only_runs_that_can_finish_start(tmp_path, monkeypatch):
    """A run killed at the call's hard end wastes its place for its whole length: `fits` keeps it from starting,
    and the estimate comes from the runs of the same method and task that ended in this call, scaled by their cost."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Durations, Job, Slots, run_jobs

    durations = Durations()
    assert durations.predict(("snip", "mrpc"), 100.0) is None  # nothing seen yet: no reason to hold a run back
    durations.observe(("snip", "mrpc"), 100.0, 20.0)
    durations.observe(("snip", "mrpc"), 50.0, 30.0)
    durations.observe(("snip", "mrpc"), 10.0, 0.0)  # a run that reported no time says nothing
    assert durations.predict(("snip", "mrpc"), 10.0) == pytest.approx(10 * (0.2 + 0.6) / 2)  # median of 0.2 and 0.6 s per unit
    assert durations.predict(("grasp", "mrpc"), 10.0) is None
    assert durations.predict(("snip", "sst2"), 10.0) is None  # another task's runs do not say how long this one takes

    def job(name):
        return Job([sys.executable, "-c", "pass", str(tmp_path / f"{name}.csv")], 3)

    results = run_jobs([job("long"), job("short")], Slots(workers=1, gpus=1, deadline=None), tmp_path / "logs",
                       urgency=lambda j: j.cmd[-1], fits=lambda j: "short" in j.cmd[-1])
    codes = {Path(out).stem: code for out, code, _ in results}
    assert codes == {"long": -1, "short": 0}  # not started, counted with the deadline's


def test_after_the_deadline_only_runs_predicted_to_end_in_time_start(tmp_path, monkeypatch):
    """The deadline guards against runs of unknown length; a run whose length is known and fits before --limit
    still uses the place (calls 17-18 idled 16 places for ~90 s with timed runs queued)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Job, Slots, run_jobs

    def job(name):
        return Job([sys.executable, "-c", "pass", str(tmp_path / f"{name}.csv")], 3)

    verdicts = {"fits": True, "too-long": False, "unknown": None}
    results = run_jobs([job(n) for n in verdicts], Slots(workers=1, gpus=1, deadline=0.0), tmp_path / "logs",
                       urgency=lambda j: j.cmd[-1], fits=lambda j: verdicts[Path(j.cmd[-1]).stem])
    codes = {Path(out).stem: code for out, code, _ in results}
    assert codes == {"fits": 0, "too-long": -1, "unknown": -1}


def test_what_the_longest_run_waits_for_is_made_first(monkeypatch):
    """Tokenising and checkpoints rank as the most urgent run waiting for them: SST-2's checkpoint, which a
    440 s run needs, before RTE's, which only a 50 s run needs, whatever their own cost."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import run_grid

    monkeypatch.setattr(run_grid, "cost", lambda run, examples: 1.0)
    grid = runs(config(tasks=["sst2", "rte"], seeds=[0], task_train={},
                       methods={"dense": {"sparsities": [0.0]}, "random": {"sparsities": [0.5]}}))
    by = {(r.task, r.method): r for r in grid}
    jobs = []
    for task in ("rte", "sst2"):
        jobs += [run_grid.Job([f"prepare-{task}"], 0, provides=("prepare", task)),
                 run_grid.Job([f"checkpoint-{task}"], 1, provides=("dense", task), needs=("prepare", task),
                              run=by[(task, "dense")]),
                 run_grid.Job([f"random-{task}"], 3, needs=("dense", task), run=by[(task, "random")])]
    durations = run_grid.Durations({("random", "sst2"): 440.0, ("random", "rte"): 50.0})
    ranked = sorted(jobs, key=run_grid.urgency_of(True, {}, durations, jobs))
    assert [j.cmd[0] for j in ranked] == ["prepare-sst2", "prepare-rte", "checkpoint-sst2", "checkpoint-rte",
                                         "random-sst2", "random-rte"]


def test_a_short_ready_run_leaves_its_place_to_a_longer_one_whose_checkpoint_is_being_made(tmp_path, monkeypatch):
    """A run from the pre-trained model needs no checkpoint: on two places it would start beside the checkpoint and
    hold the place the long run wants once the checkpoint exists. With `reserve` it starts only once the
    checkpoint has ended (with the long run); without, it runs alongside the checkpoint."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Job, Slots, run_jobs

    ended = tmp_path / "checkpoint-ended"
    checkpoint = Job([sys.executable, "-c", "import time; time.sleep(1)", str(tmp_path / "checkpoint.csv")], 1,
                     provides=("dense",))
    long = Job([sys.executable, "-c", "pass", str(tmp_path / "long.csv")], 3, needs=("dense",))
    # exits 0 only if it starts after the checkpoint's job has ended
    short = Job([sys.executable, "-c", f"import os, sys; sys.exit(0 if os.path.exists({str(ended)!r}) else 1)",
                 str(tmp_path / "short.csv")], 3)
    order = {"checkpoint": 0, "long": 1, "short": 2}  # urgency: the long run before the short one

    def on_done(job, code, seconds):
        if job.provides is not None:
            ended.touch()

    for reserve, short_code in ((True, 0), (False, 1)):
        ended.unlink(missing_ok=True)
        results = run_jobs([checkpoint, long, short], Slots(workers=2, gpus=1, deadline=None),
                           tmp_path / f"logs-{reserve}", urgency=lambda j: order[Path(j.cmd[-1]).stem],
                           on_done=on_done, reserve=reserve)
        assert {Path(out).stem: code for out, code, _ in results} == {"checkpoint": 0, "long": 0, "short": short_code}


def test_each_ended_run_says_when_it_started_and_the_history_still_reads_it(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Durations, Job, Slots, run_jobs

    out = tmp_path / "results/v2/runs/t/minilm-l6/rte/snip/s0.50-seed0.csv"
    run_jobs([Job([sys.executable, "-c", "pass", str(out)], 3)], Slots(workers=1, gpus=1, deadline=None),
             tmp_path / "logs", urgency=lambda j: 0)
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"ok\s+\d+s {re.escape(str(out))}  \(from \d+ s\)", line)
    (tmp_path / "call1-phase.log").write_text(line + "\n")
    assert set(Durations.read_history([tmp_path / "call1-phase.log"])) == {("snip", "rte")}


def test_earlier_calls_logs_predict_a_run_before_one_has_ended_in_this_call(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Durations, history_logs

    (tmp_path / "call1-phase.log").write_text(
        "ok     193s /tmp/c2/results/v2/sweeps/sweep-methods/steps7/minilm-l6/sst2/obert/s0.80-seed0.csv\n"
        "ok     220s /tmp/c2/results/v2/runs/v2-minilm/minilm-l6/sst2/obert/s0.80-seed1.csv\n"
        "ok      60s /tmp/c2/checkpoints/v2-minilm/sst2-minilm-l6-seed1-1.csv\n"
        "FAIL    418s /tmp/c1/results/v2/runs/v2-minilm/minilm-l6/sst2/distillation@obert/s0.80-seed2.csv  (log: x)\n")
    (tmp_path / "call2-phase.log").write_text(
        "ok     440s /tmp/c6/results/v2/runs/v2-minilm/minilm-l6/sst2/distillation@obert/s0.90-seed0.csv\n"
        "FAIL     89s /tmp/c6/results/v2/runs/v2-minilm/minilm-l6/cola/soft-movement/s0.50-seed0.csv  (log: x)\n"
        "ok     300s /tmp/c6/results/v2/sweeps/sweep-methods/step0.1/minilm-l6/sst2/head-pruning/s0.75-seed0.csv\n"
        "ok     310s /tmp/c6/results/v2/sweeps/sweep-methods/step0.2/minilm-l6/sst2/head-pruning/s0.75-seed0.csv\n"
        "FAIL   415s /tmp/c6/results/v2/sweeps/sweep-methods/step0.05/minilm-l6/sst2/head-pruning/s0.75-seed0.csv  (log: x)\n")
    durations = Durations(Durations.read_history(history_logs([tmp_path])))
    assert durations.predict(("obert", "sst2"), 1.0) == 220.0  # the grid row's; the sweep (193 s) tried another setting
    assert durations.predict(("distillation@obert", "sst2"), 1.0) == 440.0  # the label, not "distillation"
    assert durations.predict(("soft-movement", "cola"), 1.0) == 89.0  # killed after 89 s: it needs at least that
    assert durations.predict(("head-pruning", "sst2"), 1.0) == 305.0  # no grid row timed: the median of the sweep
    # runs that ended; the one killed after 415 s tried another setting
    from prunebench.benchmarks.grid import GridRun

    chosen = GridRun(tag="v2-minilm", model="minilm-l6", task="sst2", method="head-pruning", sparsity=0.5, seed=0,
                     train={}, params={"step": 0.05}, recipe=None, version="v2")
    # the grid's recipe is the setting killed after 415 s: that is what its runs will take, at least
    assert Durations.read_history(history_logs([tmp_path]), [chosen])[("head-pruning", "sst2")] == 415.0
    assert durations.predict(("obert", "mrpc"), 1.0) is None
    durations.observe(("obert", "sst2"), 10.0, 50.0)
    assert durations.predict(("obert", "sst2"), 20.0) == 100.0  # this call's own runs, once there are some


def test_the_limit_trusts_the_longer_of_this_calls_runs_and_the_earlier_calls(monkeypatch):
    """One run that ended early while the GPU was quiet does not say the next will (call 14's four kills)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Durations

    durations = Durations({("gradual-magnitude-layerwise", "sst2"): 107.0})
    durations.observe(("gradual-magnitude-layerwise", "sst2"), 10.0, 59.0)
    assert durations.predict(("gradual-magnitude-layerwise", "sst2"), 10.0) == 59.0  # the order: this call's figure
    assert durations.longest(("gradual-magnitude-layerwise", "sst2"), 10.0) == 107.0  # the limit: the longer one
    durations.observe(("snip", "rte"), 1.0, 30.0)
    assert durations.longest(("snip", "rte"), 1.0) == 30.0  # no history: this call's runs alone
    assert durations.longest(("grasp", "rte"), 1.0) is None  # nothing known: the run starts


def test_the_deadline_counts_from_the_moment_the_caller_started_its_timeout(tmp_path, monkeypatch):
    """gpu_call.sh passes --started-at: the seconds run_grid spends starting up are already gone from the call."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}}\ntrain: {epochs: 1}\n")
    def run(*flags):
        return subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(tmp_path / "root"), *flags],
                              cwd=ROOT, capture_output=True, text=True)

    proc = run("--deadline", "300", "--started-at", str(time.time() - 600))  # started 10 minutes ago: already past
    assert proc.returncode == 0, proc.stderr
    assert "0 commands ok, 0 failed, 2 not started (deadline)" in proc.stdout  # the prepare step and the dense run
    import run_grid

    assert run_grid.hard_end(1000.0, 540.0) == 1540.0  # --limit counts from the same moment
    assert run_grid.hard_end(1000.0, None) is None
    later = run("--deadline", "300", "--started-at", str(time.time() + 3600))
    assert later.returncode == 2 and "--started-at must be a Unix time in the last day" in later.stderr
    assert not (tmp_path / "root" / "results").exists()


def test_a_history_path_that_does_not_exist_is_refused_before_anything_runs(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}}\ntrain: {epochs: 1}\n")
    def run(*flags):
        return subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), *flags, "--root", str(tmp_path)],
                              cwd=ROOT, capture_output=True, text=True)

    proc = run("--limit", "500", "--history", str(tmp_path / "calls"))
    assert proc.returncode == 2 and "--history" in proc.stderr and "no such file or folder" in proc.stderr
    (tmp_path / "notes.md").write_text("# not a log\n")
    assert "not a queue log" in run("--limit", "500", "--history", str(tmp_path / "notes.md")).stderr
    assert "give --limit too" in run("--history", str(tmp_path)).stderr  # it predicts for --limit, nothing else
    assert not (tmp_path / "results").exists()


def test_a_present_row_made_by_another_recipe_stops_the_grid_instead_of_counting_as_done(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}, snip: {sparsities: [0.5], params: {batches: 2}}}\ntrain: {epochs: 2}\n")
    row = tmp_path / "root/results/v1/runs/t/minilm-l6/rte/snip/s0.50-seed0.csv"
    row.parent.mkdir(parents=True)
    row.write_text("a row\n")
    # the row's sidecar says it trained 1 epoch with 4 scoring batches: the config was edited since, same tag
    row.with_suffix(".json").write_text(json.dumps({"config": {"train": {"epochs": 1.0, "lr": 2e-5},
                                                               "method_params": {"batches": "4"}}}))
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(tmp_path / "root"), "--dry-run"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{row}: made with epochs=1.0, the config says 2; --param batches='4', the config says 2" in proc.stderr
    assert "give the config a new tag" in proc.stderr
    row.with_suffix(".json").write_text(json.dumps({"config": {"train": {"epochs": 2.0, "step_mode": "auto"},
                                                               "method_params": {"batches": "2"}}}))
    # a speed setting added to the config since is not another recipe: the row counts as done
    cfg.write_text(cfg.read_text().replace("train: {epochs: 2}", "train: {epochs: 2, step_mode: auto-compile}"))
    proc = subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(tmp_path / "root"), "--dry-run"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "2 rows in the grid, 1 present, 1 to run" in proc.stdout


def dry_run(cfg: Path, *flags: str) -> subprocess.CompletedProcess:
    """`run_grid.py CFG FLAGS --dry-run`, its rows and logs under CFG's folder."""
    return subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), *flags, "--dry-run", "--root", str(cfg.parent)],
                          cwd=ROOT, capture_output=True, text=True)


def test_a_filter_that_matches_nothing_in_the_grid_is_refused_naming_what_is_there(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}, snip: {sparsities: [0.5]}}\ntrain: {epochs: 1}\n")
    for flag, value, known in (("--only", "snipp", "dense, snip"), ("--tasks", "sst2", "rte"), ("--seeds", "5", "0")):
        proc = dry_run(cfg, flag, value)
        assert proc.returncode == 2 and f"{flag} {value}: not in the config's grid; it has {known}" in proc.stderr
    proc = dry_run(cfg, "--seeds", "x")
    assert proc.returncode == 2 and "--seeds x: give whole numbers" in proc.stderr


def test_sparsities_picks_cells_by_value_and_keeps_the_dense_rows_they_start_from(tmp_path):
    cfg = tmp_path / "grid.yaml"
    cfg.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   "methods: {dense: {sparsities: [0.0]}, snip: {sparsities: [0.5, 0.8, 0.875]}}\ntrain: {epochs: 1}\n")
    def dry(value):
        return dry_run(cfg, "--sparsities", value)
    assert "3 rows in the grid, 0 present, 3 to run" in dry("0.8,0.875").stdout  # 0.8 is the cell "0.80"
    assert "2 rows in the grid" in dry("0.80").stdout
    proc = dry("0.9")
    assert proc.returncode == 2 and "--sparsities 0.90: not in the config's grid; it has 0.50, 0.80, 0.875" in proc.stderr
    assert dry("high").returncode == 2
    assert "(0.8 for 80%)" in dry("80").stderr


def test_a_pool_worker_that_hangs_after_its_last_run_is_killed_not_waited_for(monkeypatch):
    """Workers answer every run before the queue ends, so their rows are written; one stuck at exit (seen in CUDA/MPS
    teardown) would otherwise hold the call until its hard end."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import Worker

    def worker(code: str) -> Worker:
        w = Worker(dict(os.environ))
        w.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, text=True)
        return w

    polite, stuck = worker("import sys; sys.stdin.read()"), worker("import time; time.sleep(600)")
    for w in (polite, stuck):
        w.close()
    assert polite.reap(30.0) is False and polite.proc.returncode == 0
    assert stuck.reap(0.5) is True and stuck.proc.returncode != 0


def test_a_dry_run_with_history_says_how_long_the_queue_needs_at_least(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from run_grid import planned_time

    config = {"tag": "t", "models": ["minilm-l6"], "tasks": ["sst2", "rte"], "seeds": [0, 1], "data_source": "embedded",
              "methods": {"dense": {"sparsities": [0.0]}, "snip": {"sparsities": [0.5]}}, "train": {"epochs": 1}}
    todo = [(r, config) for r in runs(check_config(config))]
    text = planned_time(todo, {("snip", "sst2"): 100.0}, places=4)
    assert "2 of 4 pruned runs timed by earlier calls, 200 run-seconds; at least 100 s on 4 places" in text
    assert text.endswith("no earlier run of snip on rte")
    assert "at least 200 s on 1 places" in planned_time(todo, {("snip", "sst2"): 100.0}, places=1)


WEIGHT_KINDS = {"unstructured", "semi-structured", "distillation", "combined"}
CAMPAIGNS = [p for p in sorted((ROOT / "config").glob("*.yaml"))
             if p.name != "schema.yaml" and not p.name.startswith("sweep-")
             and load_yaml(p).get("results_version", "v1") != "v1"]  # v1 is published as it ran


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.name)
def test_every_weight_pruning_cell_of_a_campaign_has_its_baselines_beside_it(path):
    """A comparison is only as good as its weakest baseline: wherever a campaign prunes weights (task, seed,
    sparsity of 50/70/80/90%), random and one-shot magnitude from the fine-tuned model run too, and
    magnitude from the pre-trained model wherever a method starts from the pre-trained model."""
    from prunebench.benchmarks.grid import registry_name
    from prunebench.methods.registry import get

    grid = list(runs(check_config(load_yaml(path))))
    cells = {(r.method, r.task, r.seed, round(r.sparsity, 3)) for r in grid}
    missing = set()
    for r in grid:
        cls = get(registry_name(r.method))
        method = cls(cls.parse_params({k: str(v) for k, v in r.params.items()}))
        if cls.kind not in WEIGHT_KINDS or round(r.sparsity, 3) not in {0.5, 0.7, 0.8, 0.9}:
            continue
        needed = ["random", "magnitude-global"] + (["magnitude-pretrained"] if method.starts_from == "pretrained" else [])
        missing |= {f"{b} on {r.task} seed {r.seed} at {r.sparsity:g} (for {r.method})" for b in needed
                    if (b, r.task, r.seed, round(r.sparsity, 3)) not in cells}
    assert not missing, sorted(missing)[:10]


def test_run_grid_passes_speed_settings_to_every_run_and_refuses_settings_that_change_rows(tmp_path, monkeypatch):
    """`--set step_mode=auto-compile` makes the same rows faster; a recipe field would make other rows under the
    grid's paths, so it is refused before anything runs, as is a value some run could not take."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import run_grid

    assert run_grid.speed_settings(["step_mode=auto-compile", "bench_repeats=3"]) == ("step_mode=auto-compile", "bench_repeats=3")
    for changes_rows in ("lr=1e-4", "pad_to_multiple=64"):  # padding changes the dropout draws (results/v2, call 67)
        with pytest.raises(UsageError, match="only settings that leave the rows' config unchanged: bench_repeats, step_mode"):
            run_grid.speed_settings([changes_rows])
    with pytest.raises(UsageError, match="choose from auto, auto-compile, eager, compile"):
        run_grid.speed_settings(["step_mode=cuda-graphs"])  # would fail every run whose step is not static
    with pytest.raises(UsageError, match="bench_repeats must be >= 1"):
        run_grid.speed_settings(["bench_repeats=0"])
    for bad in ("epochs=1", "step_mode=fastest", "foo"):
        proc = subprocess.run([sys.executable, "scripts/run_grid.py", "config/bench-throughput.yaml", "--root", str(tmp_path),
                               "--set", bad], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.startswith("run_grid: --set") and bad in proc.stderr
        assert proc.stderr.count("\n") == 1  # one line, no usage text
    assert not any(tmp_path.iterdir())


def test_every_job_but_tokenising_gets_the_speed_settings(tmp_path, monkeypatch):
    """Checkpoint, dense and pruned runs alike: a compiled grid compiles its dense fine-tunes too."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import run_grid

    queued = []
    monkeypatch.setattr(run_grid, "run_jobs", lambda jobs, *rest, **kw: queued.extend(jobs) or [])
    config = check_config(load_yaml(ROOT / "config/bench-throughput.yaml"))
    grid = [r for r in runs(config) if r.task == "mrpc" and r.seed in (0, 1)]
    todo = [(r, config) for r in grid if not (r.method == "dense" and r.seed == 0)]  # seed 0: a checkpoint job
    args = types.SimpleNamespace(root=tmp_path, device="cuda", threads=2, settings=("step_mode=auto-compile",),
                                 history_seconds={}, started_at=time.time(), limit=None, longest_first=True, cohort=1)
    run_grid.run_phases(todo, args, slots=None, logs=tmp_path)
    kinds = {job.rank: job for job in queued}
    assert sorted(kinds) == [0, 1, 3] and len(queued) == len(todo) + 2  # tokenising, seed 0's checkpoint
    for job in queued:
        given = [job.cmd[i + 1] for i, x in enumerate(job.cmd) if x == "--set"]
        assert ("step_mode=auto-compile" in given) == (job.rank != 0), job.cmd

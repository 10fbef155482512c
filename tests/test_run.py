"""End-to-end `prunebench run` on tiny random models: one schema-v1 row per run, reproducible, never recomputed."""

import json

import pytest

from prunebench.benchmarks.records import COLUMNS, read_rows
from prunebench.methods.registry import get, list_methods

# the contract of ../shared/DESIGN.md, spelled out here so that a change to records.py cannot pass silently
DESIGN_COLUMNS = (
    "schema_version, run_id, method, method_params, model, task, seed, target_sparsity, achieved_sparsity, metric, "
    "score, metrics, dense_score, data_source, train_examples, params_total, params_nonzero, flops, latency_ms, "
    "throughput, peak_mem_mb, model_size_mb, train_seconds, device, torch_version, transformers_version, git_commit, "
    "config_hash, created_at"
).split(", ")


def test_schema_v1_columns_are_those_of_the_design():
    assert list(COLUMNS) == DESIGN_COLUMNS


@pytest.mark.parametrize("name", [n for n in list_methods() if get(n).trains])
@pytest.mark.parametrize("folder", ["tiny_bert_dir", "tiny_distilbert_dir"])
def test_a_run_writes_one_row_at_the_target_sparsity(name, folder, request, run_cli):
    code, out = run_cli(request.getfixturevalue(folder), method=name, sparsity=0.5)
    assert code == 0
    (row,) = read_rows(out)
    assert row["method"] == name and row["task"] == "sst2" and row["schema_version"] == "1"
    assert abs(float(row["achieved_sparsity"]) - 0.5) <= get(name).sparsity_tolerance
    assert 0 <= float(row["score"]) <= 100 and row["metric"] == "accuracy"
    assert json.loads(row["metrics"]).keys() == {"accuracy"}
    assert row["data_source"] == "embedded" and row["train_examples"] == "64"
    assert int(row["params_nonzero"]) < int(row["params_total"])
    assert float(row["flops"]) > 0 and float(row["latency_ms"]) > 0 and float(row["throughput"]) > 0
    assert row["device"].startswith("cpu") and float(row["peak_mem_mb"]) > float(row["model_size_mb"]) * 0.5
    assert row["config_hash"].startswith(row["run_id"]) and len(row["config_hash"]) == 64
    assert out.with_suffix(".json").is_file()


def test_dense_row_scores_its_checkpoint(tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, method="dense", sparsity=0.0)
    (row,) = read_rows(out)
    assert code == 0 and row["score"] == row["dense_score"]
    assert float(row["achieved_sparsity"]) < 0.01  # a random dense model has (almost) no exact zeros


def test_a_recipe_whose_epochs_round_to_no_step_says_so(tiny_bert_dir, run_cli, caplog):
    """64 examples are two batches: 0.2 epochs round to no step, and the row's model would never have trained."""
    code, _ = run_cli(tiny_bert_dir, method="dense", sparsity=0.0,
                      train=("max_train_samples=64", "max_eval_samples=16", "epochs=0.2", "bench_repeats=1"))
    assert code == 0
    assert ("a training phase of 0.2 epoch(s) of 2 step(s) rounds to no step, and the row is written from a model it did "
            "not train: raise max_train_samples (64) or that phase's epochs (epochs, or recovery_epochs after pruning)"
            in caplog.text)


def test_the_sidecar_keeps_the_training_loss_curves(tiny_bert_dir, run_cli):
    """The pruned run's and its dense checkpoint's loss, every LOG_EVERY steps and at the last step: the record
    that tells a collapse to one class from a recipe that never learned."""
    code, out = run_cli(tiny_bert_dir, method="magnitude-global", sparsity=0.5)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert code == 0
    for curve in (sidecar["train_loss"], sidecar["dense_train_loss"]):
        steps = [step for step, _ in curve]
        assert steps and steps == sorted(set(steps)) and all(loss > 0 for _, loss in curve)


def test_the_sidecar_keeps_the_curves_of_a_methods_inner_trainings(tiny_bert_dir, run_cli):
    """Lottery ticket trains inside its own recipe (its rounds, then the rewind): each of those trainings' loss is
    kept beside the row's, so a collapse can be traced to the phase that made it."""
    code, out = run_cli(tiny_bert_dir, method="lottery-ticket", sparsity=0.5, extra=["--param", "rounds=2"])
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert code == 0 and sidecar["inner_train_loss"]
    assert all(inner["desc"].startswith("lottery round") for inner in sidecar["inner_train_loss"])
    for inner in sidecar["inner_train_loss"]:
        assert inner["steps"] > 0 and inner["lr"] > 0 and [s for s, _ in inner["loss"]][-1] == inner["steps"]
    code, out = run_cli(tiny_bert_dir, method="lora-prune", sparsity=0.5)  # LoRA's phase, before the prune
    (lora,) = json.loads(out.with_suffix(".json").read_text())["inner_train_loss"]
    assert code == 0 and lora["desc"] == "lora" and lora["steps"] > 0
    plain = json.loads(run_cli(tiny_bert_dir, method="magnitude-global", sparsity=0.5)[1].with_suffix(".json").read_text())
    assert plain["inner_train_loss"] == []  # a method that trains once has nothing inside


def test_every_glue_metric_goes_into_the_row(tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, task="stsb")
    (row,) = read_rows(out)
    assert code == 0 and row["metric"] == "pearson+spearman"
    metrics = json.loads(row["metrics"])
    assert float(row["score"]) == pytest.approx(50 * (metrics["pearson"] + metrics["spearman"]))


def test_an_existing_row_is_not_recomputed(tiny_bert_dir, run_cli, capsys):
    _, out = run_cli(tiny_bert_dir)
    before = out.read_text()
    capsys.readouterr()
    code, _ = run_cli(tiny_bert_dir, out=out)
    assert code == 0 and out.read_text() == before
    assert capsys.readouterr().out.startswith("exists:")
    # a different config may not overwrite it silently
    code, _ = run_cli(tiny_bert_dir, seed=1, out=out)
    assert code == 2 and out.read_text() == before


def test_same_seed_twice_gives_the_same_score(tiny_bert_dir, run_cli, tmp_path, monkeypatch):
    rows = []
    for i in range(2):
        monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / f"cache{i}"))  # no shared dense checkpoint
        code, out = run_cli(tiny_bert_dir, method="magnitude-layerwise", out=tmp_path / f"row{i}.csv")
        assert code == 0
        rows.append(read_rows(out)[0])
    assert rows[0]["score"] == rows[1]["score"] and rows[0]["dense_score"] == rows[1]["dense_score"]
    assert rows[0]["run_id"] == rows[1]["run_id"]


def test_another_seed_is_another_run(tiny_bert_dir, run_cli):
    _, a = run_cli(tiny_bert_dir, seed=0)
    _, b = run_cli(tiny_bert_dir, seed=1)
    assert read_rows(a)[0]["run_id"] != read_rows(b)[0]["run_id"]


def test_a_run_that_loses_the_checkpoint_race_reports_the_checkpoint_kept(tiny_bert_dir, run_cli, monkeypatch, tmp_path):
    """Two processes fine-tune the same dense checkpoint; the second one's rename finds the first one's folder
    and keeps it. Its row must carry the kept checkpoint's score (what pruning starts from), not its own."""
    import contextlib
    import shutil

    from prunebench.benchmarks import runner

    real = runner.atomic_dir

    @contextlib.contextmanager
    def rival_finishes_first(target):
        with real(target) as tmp:
            yield tmp
            shutil.copytree(tmp, target)  # the rival's checkpoint: the same files, another score
            info = json.loads((target / "dense.json").read_text())
            (target / "dense.json").write_text(json.dumps({**info, "score": 12.5}))

    monkeypatch.setattr(runner, "atomic_dir", rival_finishes_first)
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / "cache"))  # no checkpoint yet: this run makes one
    code, out = run_cli(tiny_bert_dir, method="dense", sparsity=0.0)
    (row,) = read_rows(out)
    assert code == 0 and float(row["dense_score"]) == float(row["score"]) == 12.5

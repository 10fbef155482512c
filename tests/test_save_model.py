"""`prunebench run --save-model DIR`: the run's final model, reloadable with its head, masks and tokenizer."""

import json

import numpy as np
import pytest
import torch

from prunebench.benchmarks.records import read_rows

from _tiny import one_thread  # noqa: F401  (autouse fixture)
from conftest import FAST_TRAIN


def _reload(folder):
    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task

    return load_model(resolve(f"local:{folder}"), get_task("sst2"), location=str(folder)).eval()


def _sparsity(model) -> float:
    from prunebench.methods._structure import prunable_weights

    weights = list(prunable_weights(model).values())
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def test_the_saved_model_reloads_with_the_runs_sparsity_and_score(tiny_bert_dir, run_cli, tmp_path):
    """Reloaded with its own head, the model scores on the run's evaluation sample what the row says, at the
    row's sparsity; the saved config rebuilds that sample."""
    from prunebench.benchmarks.config import RunConfig, TrainConfig
    from prunebench.benchmarks.runner import Run, prepare
    from prunebench.benchmarks.train import evaluate

    saved = tmp_path / "model"
    code, out = run_cli(tiny_bert_dir, sparsity=0.5, extra=["--save-model", str(saved)])
    (row,) = read_rows(out)
    assert code == 0
    assert {"config.json", "model.safetensors", "tokenizer.json", "prunebench-run.json"} <= {p.name for p in saved.iterdir()}
    assert not list(saved.glob("*.bin")) and not list(tmp_path.glob(".model.*"))  # safetensors only, no temporary left
    info = json.loads((saved / "prunebench-run.json").read_text())
    assert info["row"]["run_id"] == row["run_id"]

    model = _reload(saved)
    assert _sparsity(model) == pytest.approx(float(row["achieved_sparsity"]), abs=1e-6)
    cfg = RunConfig(**{**info["config"], "train": TrainConfig(**info["config"]["train"])})
    prep = prepare(cfg)
    _, score = evaluate(model, prep.task, Run(prep, torch.device("cpu")).evals, cfg.train, torch.device("cpu"))
    assert score == pytest.approx(float(row["score"]), abs=1e-9)


def test_the_reloaded_model_gives_the_logits_of_the_run_and_keeps_the_trained_head(tiny_bert_dir, run_cli, tmp_path,
                                                                                    monkeypatch):
    from prunebench.benchmarks import runner

    ids = torch.randint(1000, 30000, (3, 10), generator=torch.Generator().manual_seed(0))
    in_run = {}
    real = runner.save_model

    def save_and_remember(model, *args):  # the logits of the model the run ends with, before it is saved
        with torch.inference_mode():
            in_run["logits"] = model.eval()(input_ids=ids).logits.clone()
        return real(model, *args)

    monkeypatch.setattr(runner, "save_model", save_and_remember)
    saved = tmp_path / "model"
    code, _ = run_cli(tiny_bert_dir, method="dense", sparsity=0.0, extra=["--save-model", str(saved)])
    assert code == 0
    first, second = _reload(saved), _reload(saved)
    with torch.inference_mode():
        a, b = first(input_ids=ids).logits, second(input_ids=ids).logits
    torch.testing.assert_close(a, in_run["logits"], rtol=0, atol=0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # no freshly drawn head: the saved one, both times
    head = {k: v for k, v in first.state_dict().items() if k.startswith("classifier.")}
    from safetensors.torch import load_file

    stored = load_file(saved / "model.safetensors")
    assert all(np.array_equal(stored[k].numpy(), v.numpy()) for k, v in head.items()) and head


def test_a_non_empty_folder_is_refused_before_any_compute(tiny_bert_dir, run_cli, tmp_path, capsys):
    saved = tmp_path / "model"
    saved.mkdir()
    (saved / "notes.txt").write_text("someone's file")
    code, out = run_cli(tiny_bert_dir, extra=["--save-model", str(saved)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--save-model" in err and "not an empty folder" in err
    assert not out.exists() and [p.name for p in saved.iterdir()] == ["notes.txt"]


def test_an_existing_row_without_force_saves_nothing_and_says_why(tiny_bert_dir, run_cli, tmp_path, capsys):
    code, out = run_cli(tiny_bert_dir)
    assert code == 0
    saved = tmp_path / "model"
    code, _ = run_cli(tiny_bert_dir, out=out, extra=["--save-model", str(saved)])
    assert code == 2 and "--force" in capsys.readouterr().err and not saved.exists()


def test_a_saved_run_is_scored_through_onnxruntime_with_its_own_head(tiny_bert_dir, run_cli, tmp_path, monkeypatch):
    """runtime_accuracy reads the folder `--save-model` wrote: the run's head (its PyTorch score is the row's
    score on the same dev split), the run's sparsity, and onnxruntime fp32 predicting what PyTorch predicts."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")
    import pandas as pd

    from prunebench.benchmarks import data
    from prunebench.benchmarks.efficiency.runtime_accuracy import COLUMNS, main as score_main

    saved = tmp_path / "model"
    code, out = run_cli(tiny_bert_dir, sparsity=0.5, extra=["--save-model", str(saved)],
                        train=[t for t in FAST_TRAIN if not t.startswith("max_eval")])
    (row,) = read_rows(out)
    real = data.load_splits
    monkeypatch.setattr(data, "load_splits", lambda task, source="auto": real(task, source="embedded"))
    acc = tmp_path / "acc.csv"
    old = pd.DataFrame([{c: "" for c in COLUMNS[:-2]} | {"checkpoint": "old", "task": "sst2", "path": "onnxruntime"}])
    old.to_csv(acc, index=False)  # a file from before the sparsity and weights columns: kept, read as before
    assert score_main(["--checkpoint", str(saved), "--task", "sst2", "--paths", "onnxruntime", "--out", str(acc)]) == 0
    written = pd.read_csv(acc)
    assert list(written.columns) == list(COLUMNS) and list(written["checkpoint"])[0] == "old"
    new = written.iloc[1]
    assert new["path"] == "onnxruntime" and new["weights"] == "fine-tuned" and f"run {row['run_id']}" in new["checkpoint"]
    assert new["torch_score"] == pytest.approx(float(row["score"]), abs=1e-9)  # the whole embedded dev split, both
    assert new["sparsity"] == pytest.approx(float(row["achieved_sparsity"]), abs=1e-9)
    assert new["flipped"] == 0.0 and new["score_delta"] == 0.0


def test_runtime_scoring_refuses_a_run_of_another_task(tiny_bert_dir, run_cli, tmp_path, capsys):
    from prunebench.benchmarks.efficiency.runtime_accuracy import main as score_main

    saved = tmp_path / "model"
    assert run_cli(tiny_bert_dir, method="dense", sparsity=0.0, extra=["--save-model", str(saved)])[0] == 0
    capsys.readouterr()
    assert score_main(["--checkpoint", str(saved), "--task", "rte", "--paths", "onnxruntime",
                       "--out", str(tmp_path / "acc.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "fine-tuned on sst2" in err and "\n" not in err and not (tmp_path / "acc.csv").exists()

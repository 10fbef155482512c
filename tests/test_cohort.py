"""Runs trained together in one batched step (`benchmarks.cohort`) give the rows they give alone.

The grid's one-shot runs of one (model, task, seed, recipe) differ only in their masks, so the GPU machine
trains up to eight of them in one vmapped step (issue 18). On the CPU each member's loss curve must follow the
run alone's to rounding, and its row must match: same masks, same achieved sparsity, same predictions.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from prunebench.benchmarks import cohort
from prunebench.benchmarks.config import RunConfig, TrainConfig
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.runner import prepare, run, run_cohort

TINY = TrainConfig(epochs=1, recovery_epochs=2, batch_size=16, eval_batch_size=32, max_train_samples=96,
                   max_eval_samples=64, lr=1e-3, recovery_lr=1e-3, progress=False, bench_repeats=1)
MEMBERS = [("magnitude-global", 0.5), ("magnitude-layerwise", 0.7), ("magnitude-global", 0.9)]


def _cfg(folder, method: str, sparsity: float, seed: int = 0, train: TrainConfig = TINY) -> RunConfig:
    return RunConfig(model=f"local:{folder}", task="rte", method=method, sparsity=sparsity, seed=seed, train=train,
                     data_source="embedded")


def _sidecar(path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PRUNEBENCH_GIT_COMMIT", "0" * 40)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_three_runs_trained_together_give_the_rows_each_gives_alone(attention, tiny_bert_dir, tmp_path, cache):
    """With either attention: eager is the recipe that trains together on CUDA too (`fused_attention_dropout`)."""
    train = replace(TINY, attention=attention)
    alone = [run(_cfg(tiny_bert_dir, m, s, train=train), out=tmp_path / "alone" / f"{n}.csv", device="cpu")[1]
             for n, (m, s) in enumerate(MEMBERS)]
    made = run_cohort([_cfg(tiny_bert_dir, m, s, train=train) for m, s in MEMBERS],
                      [tmp_path / "together" / f"{n}.csv" for n in range(len(MEMBERS))], device="cpu")

    for n, ((path, together), single) in enumerate(zip(made, alone)):
        assert together.run_id == single.run_id  # the same run, by its identity
        assert together.achieved_sparsity == single.achieved_sparsity
        assert together.score == pytest.approx(single.score, abs=1e-9)
        side, side_alone = _sidecar(path), _sidecar(tmp_path / "alone" / f"{n}.csv")
        assert side["cohort"] == {"size": 3, "run_ids": [r.run_id for r in alone]}
        losses = [loss for _, loss in side["train_loss"]]
        assert losses == pytest.approx([loss for _, loss in side_alone["train_loss"]], abs=1e-5)
        assert len(losses) == len(side_alone["train_loss"]) > 0


def test_a_cohort_already_made_is_not_made_again(tiny_bert_dir, tmp_path, cache):
    cfgs = [_cfg(tiny_bert_dir, m, s) for m, s in MEMBERS[:2]]
    outs = [tmp_path / f"{n}.csv" for n in range(2)]
    first = run_cohort(cfgs, outs, device="cpu")
    again = run_cohort(cfgs, outs, device="cpu")
    assert all(record is not None for _, record in first)
    assert [record for _, record in again] == [None, None]


def test_only_runs_that_differ_in_method_and_sparsity_share_a_key(tiny_bert_dir):
    key = lambda method, sparsity=0.5, **kw: cohort.key(prepare(_cfg(tiny_bert_dir, method, sparsity, **kw)))  # noqa: E731
    assert key("magnitude-global") == key("magnitude-layerwise", 0.8) is not None
    assert key("magnitude-global") != key("magnitude-global", seed=1)  # another data order and dropout stream
    assert key("magnitude-global") != key("magnitude-global", train=replace(TINY, recovery_lr=2e-3))
    assert key("magnitude-global") != key("magnitude-pretrained")  # another start and training phase
    assert key("gradual-magnitude-global") is None  # its masks change between steps
    assert key("head-pruning") is None  # a smaller shape per run
    assert key("dense", 0.0) is None  # no training


def test_cohorts_of_one_task_share_one_step_function_so_a_compiled_graph_is_reused():
    """A pool worker runs cohort after cohort: the model is an argument of the shared function, not captured by a
    new one, so Dynamo's graph for one architecture, K and length serves every later cohort."""
    from prunebench.benchmarks.tasks import get_task

    rte, sst2 = get_task("rte"), get_task("sst2")
    assert cohort.grads_and_losses(rte, "cpu", False, True) is cohort.grads_and_losses(rte, "cpu", False, True)
    assert cohort.grads_and_losses(rte, "cpu", False, True) is not cohort.grads_and_losses(sst2, "cpu", False, True)
    assert cohort.grads_and_losses(rte, "cpu", False, True) is not cohort.grads_and_losses(rte, "cpu", False, False)


def test_clipping_by_run_is_each_runs_own_clip_grad_norm():
    torch.manual_seed(0)
    runs = [[torch.randn(3, 4) * scale, torch.randn(4) * scale] for scale in (0.1, 10.0)]
    stacked = [torch.stack([r[i] for r in runs]) for i in range(2)]
    cohort.clip_by_run(stacked, max_norm=1.0)
    for k, grads in enumerate(runs):
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        for p, s in zip(params, stacked):
            assert torch.allclose(s[k], p.grad, atol=1e-7)


def test_bad_cohort_input_is_refused_before_any_compute(tiny_bert_dir, tmp_path, cache):
    cfgs = [_cfg(tiny_bert_dir, "magnitude-global", 0.5), _cfg(tiny_bert_dir, "magnitude-global", 1.5)]
    with pytest.raises(UsageError, match="sparsity must be in"):
        run_cohort(cfgs, [tmp_path / "a.csv", tmp_path / "b.csv"], device="cpu")
    with pytest.raises(UsageError, match="same row file"):
        run_cohort(cfgs[:1] * 2, [tmp_path / "a.csv"] * 2, device="cpu")
    assert not any(tmp_path.glob("*.csv"))


def test_run_grid_trains_a_cohort_in_one_job_and_counts_each_of_its_rows(tiny_bert_dir, tmp_path):
    """`scripts/run_grid.py --cohort 4`: the three one-shot runs of one seed are one `run-cohort` job in a pool
    worker; the run that cannot share a step (gradual magnitude prunes between steps) is a job of its own."""
    from reliability._proc import run_grid

    done, root = run_grid(tiny_bert_dir, "dense: {sparsities: [0.0]}, magnitude-global: {sparsities: [0.5, 0.7]}, "
                          "magnitude-layerwise: {sparsities: [0.5]}, gradual-magnitude-global: {sparsities: [0.5]}",
                          tmp_path, "--pool", "--cohort", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "and 2 more in one batched step" in done.stdout
    assert "5 rows in " in done.stdout
    runs = root / "results/v1/runs/t"
    sidecars = {p.parent.name + "/" + p.stem: json.loads(p.read_text()) for p in runs.rglob("s0.*.json")}
    assert len(sidecars) == 5
    together = sorted(name for name, side in sidecars.items() if side.get("cohort", {}).get("size") == 3)
    assert together == ["magnitude-global/s0.50-seed0", "magnitude-global/s0.70-seed0", "magnitude-layerwise/s0.50-seed0"]


def test_fused_attention_dropout_on_cuda_keeps_runs_apart(tiny_bert_dir):
    """On CUDA a BERT's attention dropout is drawn inside SDPA's fused kernel, where a batched call cannot give
    each run the masks it draws alone (results/v2 call 48); eager attention, no dropout or the CPU can."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    assert cohort.fused_attention_dropout(model, torch.device("cuda"))
    assert not cohort.fused_attention_dropout(model, torch.device("cpu"))
    model.config.attention_probs_dropout_prob = 0.0
    assert not cohort.fused_attention_dropout(model, torch.device("cuda"))
    model.config.attention_probs_dropout_prob = 0.1
    model.config._attn_implementation = "eager"
    assert not cohort.fused_attention_dropout(model, torch.device("cuda"))


def test_a_recipe_with_eager_attention_loads_its_runs_with_it(tiny_bert_dir, cache):
    from prunebench.benchmarks.runner import Run

    for attention in ("sdpa", "eager"):
        begun = Run(prepare(_cfg(tiny_bert_dir, "magnitude-global", 0.5, train=replace(TINY, attention=attention))),
                    torch.device("cpu")).begin()
        assert begun.model.config._attn_implementation == attention
        assert cohort.fused_attention_dropout(begun.model, torch.device("cuda")) == (attention == "sdpa")


def test_two_identical_members_draw_the_same_dropout(tiny_bert_dir, cache):
    """Two members with the same weights and masks: one dropout mask drawn for both, as each run alone draws it,
    so their losses are equal (drawn apart, they would differ)."""
    import numpy as np

    from prunebench.benchmarks.runner import Run
    from prunebench.benchmarks.train import before_training

    train = replace(TINY, max_train_samples=32)
    runs = [Run(prepare(_cfg(tiny_bert_dir, "magnitude-global", 0.5, train=train)), torch.device("cpu")) for _ in range(2)]
    begun = [run.begin() for run in runs]
    for b, run in zip(begun, runs):
        before_training(b.model, b.method, b.ctx, run.train, train, 1)
        b.model.train()  # dropout on, as `train_cohort` trains
    step = cohort.CohortStep([b.model for b in begun], [b.ctx for b in begun], runs[0].train, train, 1e-3,
                             capturable=False, compiled=False)
    index, length = runs[0].train.epoch(np.random.default_rng(0), True)[0]
    step(torch.from_numpy(index), length)
    first, second = step.running.tolist()
    assert begun[0].model.training and begun[0].model.config.hidden_dropout_prob > 0  # there is dropout to draw
    assert first == second


@pytest.mark.parametrize("content, message", [
    (None, "not a readable JSON file"),
    ('{"model": "minilm-l6"}', "give a JSON list of `prunebench run` argument lists"),
    ('[["--model", "minilm-l6"]]', "run 1 of 1 is not a valid `prunebench run` command"),
    # a bad recipe names the run it is in, whether its value is of the wrong kind or out of range
    ('[["--model", "minilm-l6", "--task", "mrpc", "--method", "magnitude-global", "--sparsity", "0.5"],'
     ' ["--model", "minilm-l6", "--task", "mrpc", "--method", "magnitude-global", "--sparsity", "0.7",'
     ' "--set", "attention=flash"]]', "run 2 of 2: --set attention: 'flash' is not one of sdpa, eager"),
    ('[["--model", "minilm-l6", "--task", "mrpc", "--method", "magnitude-global", "--sparsity", "0.5",'
     ' "--set", "max_len=0"]]', "run 1 of 1: bad training config: max_len must be positive"),
])
def test_run_cohort_refuses_a_bad_runs_file_in_one_line(content, message, tmp_path, capsys):
    from prunebench.benchmarks.cli import main

    runs = tmp_path / "runs.json"
    if content is not None:
        runs.write_text(content)
    assert main(["run-cohort", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("prunebench: error: --runs")

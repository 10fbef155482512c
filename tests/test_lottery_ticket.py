"""Lottery ticket: k rounds land on the target exactly, pruned weights never return and stay zero, and
the survivors are rewound to the pre-trained (or saved early) weights."""

import pytest
import torch
from torch import nn

from prunebench.benchmarks.config import RunConfig, TrainConfig
from prunebench.benchmarks.runner import Run, prepare
from prunebench.methods._masking import masks_from_scores
from prunebench.methods.base import PruneContext
from prunebench.methods.lottery_ticket import RewindPoint, prune_survivors, round_sparsities

TINY_TRAIN = TrainConfig(epochs=1, batch_size=16, eval_batch_size=32, max_train_samples=64, max_eval_samples=48,
                         progress=False, bench_repeats=1)  # 4 steps per round


@pytest.mark.parametrize("target, rounds", [(0.5, 3), (0.9, 5), (0.3, 1), (0.0, 2)])
def test_rounds_keep_the_same_share_and_end_on_the_target(target, rounds):
    sparsities = round_sparsities(target, rounds)
    assert len(sparsities) == rounds and sparsities[-1] == target
    survivors = [1.0] + [1.0 - s for s in sparsities]
    shares = [after / before for before, after in zip(survivors, survivors[1:])]
    assert shares == pytest.approx([(1.0 - target) ** (1.0 / rounds)] * rounds)


def test_k_rounds_of_survivor_pruning_reach_the_exact_count():
    generator = torch.Generator().manual_seed(0)
    weights = {"a": torch.randn(37, 11, generator=generator), "b": torch.randn(101, generator=generator)}
    masks = {}
    for sparsity in round_sparsities(0.7, 4):
        previous = masks
        masks = prune_survivors({n: w * (1 + torch.rand(w.shape, generator=generator)) for n, w in weights.items()},
                                masks, sparsity, "global")  # weights move between rounds, as training moves them
        assert all(torch.all(masks[n] <= previous[n]) for n in previous)  # survivors only shrink
    total = sum(w.numel() for w in weights.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.7 * total)


def test_a_pruned_weight_never_comes_back_even_when_large():
    w = torch.tensor([[0.1, -3.0], [2.0, 0.01]])
    alive = {"w": torch.tensor([[1.0, 1.0], [0.0, 1.0]])}  # 2.0 was pruned in an earlier round
    assert prune_survivors({"w": w}, alive, 0.5, "global")["w"].tolist() == [[True, True], [False, False]]


def test_the_rewind_point_copies_the_weights_after_its_step():
    layer = nn.Linear(2, 2)
    ctx = PruneContext(0.5, None, torch.device("cpu"), 0, None, None, steps_per_epoch=10, total_steps=10)
    point = RewindPoint(epochs=0.3)
    point.before_training(layer, ctx)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 0.25]]))  # exact in binary, so "+1" three times is "+3"
    start = layer.weight.detach().clone()
    for step in range(1, 11):
        with torch.no_grad():
            layer.weight.add_(1.0)  # one "optimiser step"
        point.on_step(layer, step, ctx)
    assert point.step == 3 and torch.equal(point.state["weight"], start + 3)
    with pytest.raises(ValueError, match="beyond the 10 steps"):
        RewindPoint(epochs=1.5).before_training(layer, ctx)


def _run(model_dir, **params):
    cfg = RunConfig(model=f"local:{model_dir}", task="sst2", method="lottery-ticket", sparsity=0.5,
                    method_params=params, train=TINY_TRAIN, data_source="embedded")
    prep = prepare(cfg)
    run = Run(prep, torch.device("cpu"))
    return run, run.context(cfg.sparsity), prep.method_cls(prep.params)


def _watch_inner_rounds(ctx):
    """Wrap ctx.train: check that pruned weights are zero after each inner round; keep the hooks passed."""
    seen, inner = [], ctx.train

    def train(model, epochs, lr, hooks=None, desc=""):
        model = inner(model, epochs, lr, hooks=hooks, desc=desc)
        weights = dict(model.named_parameters())
        assert all(torch.all(weights[n][m == 0] == 0) for n, m in ctx.masks.items())
        seen.append(hooks)
        return model

    ctx.train = train
    return seen


def _check_ticket(model, ctx, rewind_state):
    weights = dict(model.named_parameters())
    total = sum(m.numel() for m in ctx.masks.values())
    assert sum(int((m == 0).sum()) for m in ctx.masks.values()) == round(0.5 * total)
    for name, w in weights.items():
        if name in ctx.masks:
            keep = ctx.masks[name].bool()
            assert torch.equal(w[keep], rewind_state[name][keep]) and torch.all(w[~keep] == 0)
        else:  # embeddings, LayerNorms, biases and the head are rewound too
            assert torch.equal(w, rewind_state[name])


def test_rewinding_to_pretrained_restores_the_pretrained_survivors(tiny_bert_dir):
    run, ctx, method = _run(tiny_bert_dir, rounds=2, rewind="pretrained")
    seen = _watch_inner_rounds(ctx)
    model = run.pretrained()
    method.before_training(model, ctx)
    assert len(seen) == 1  # round 1 is the dense checkpoint; round 2 trains here; the loop trains the last
    _check_ticket(model, ctx, dict(run.pretrained().named_parameters()))
    assert ctx.info["training_epochs"] == 3 and ctx.info["epochs_trained_here"] == 2
    assert ctx.info["round_sparsity"][-1] == 0.5


def test_one_round_is_one_shot_magnitude_of_the_dense_checkpoint(tiny_bert_dir):
    run, ctx, method = _run(tiny_bert_dir, rounds=1)
    model = run.pretrained()
    method.before_training(model, ctx)
    dense = {n: w.abs() for n, w in ctx.prunable(run.teacher()).items()}
    expected = masks_from_scores(dense, 0.5, scope="global")
    assert all(torch.equal(ctx.masks[n].bool(), expected[n]) for n in expected)
    _check_ticket(model, ctx, dict(run.pretrained().named_parameters()))


def test_rewinding_early_restores_the_weights_saved_at_the_rewind_step(tiny_bert_dir):
    run, ctx, method = _run(tiny_bert_dir, rounds=2, rewind="early", rewind_epochs=0.5)
    seen = _watch_inner_rounds(ctx)
    model = run.pretrained()
    pretrained = {n: w.detach().clone() for n, w in model.named_parameters()}
    method.before_training(model, ctx)
    point = seen[0]
    assert isinstance(point, RewindPoint) and point.step == 2 and ctx.info["rewind_step"] == 2
    assert len(seen) == 2 and ctx.info["epochs_trained_here"] == 3
    early = point.state
    assert not torch.equal(early["classifier.weight"], pretrained["classifier.weight"])  # two steps did train
    _check_ticket(model, ctx, early)

"""head-pruning (Michel et al. 2019): importance, the iterative choice, physical removal, exact weight share.

Tiny models: 2 layers x 4 heads of 8, hidden 32, FFN 64. One head = 4 * 32 * 8 = 1024 encoder linear
weights of 2 * (4 * 32 * 32 + 2 * 32 * 64) = 16384, so k heads removed = k / 16 of the weights.
"""

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)
from _tiny import batches, context, logits, loss_fn, n_params, tiny_model

from prunebench.methods import _shrink
from prunebench.methods._masking import measured_sparsity
from prunebench.methods._structure import encoder_layers, layer_linear, prunable_weights
from prunebench.methods.head_pruning import HeadPruning, head_importance, lowest_heads
from prunebench.methods.registry import get

FOLDERS = ["tiny_bert_dir", "tiny_distilbert_dir"]
D, HIDDEN, TOTAL = 8, 32, 16384


@pytest.fixture(params=FOLDERS)
def model(request):
    return tiny_model(request.getfixturevalue(request.param))


@torch.no_grad()
def _silence_head(model, layer: int, head: int) -> None:
    value = layer_linear(model, encoder_layers(model)[layer], "value")
    value.weight[head * D : (head + 1) * D] = 0
    value.bias[head * D : (head + 1) * D] = 0


def _prune(model, target, data, **params):
    method = get("head-pruning")(get("head-pruning").parse_params(params))
    ctx = context(target, data)
    method.before_training(model, ctx)
    return ctx


def test_a_silent_head_has_zero_importance_and_goes_first(model):
    data = batches(model)
    _silence_head(model, 1, 2)
    alive = [torch.ones(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)]
    importance = head_importance(model, iter(data), loss_fn, alive)
    assert importance[1][2] == 0 and all(float(v) > 0 for l in range(2) for h, v in enumerate(importance[l]) if (l, h) != (1, 2))
    before = logits(model, data)
    ctx = _prune(model, 1 / 8, data, step=1 / 8)
    assert ctx.info["heads_removed"] == {"0": [], "1": [2]}
    assert torch.allclose(logits(model, data), before, atol=1e-5)  # the removed head contributed nothing


def test_importance_is_the_mean_of_per_example_absolute_gradients(model):
    data = batches(model, count=1, size=4)
    alive = [torch.ones(4, dtype=torch.bool), torch.tensor([True, False, True, True])]
    together = head_importance(model, iter(data), loss_fn, alive)
    singles = [{k: v[i : i + 1] for k, v in data[0].items()} for i in range(4)]
    one_by_one = head_importance(model, iter(singles), loss_fn, alive)
    for a, b in zip(together, one_by_one):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-9)
    assert together[1][1] == 0  # a head already pruned (gated off) has no importance left


def test_lowest_heads_ranks_globally_and_keeps_one_head_per_layer():
    scores = [torch.tensor([0.1, 0.2, 0.9]), torch.tensor([0.05, 0.3, 0.3])]
    alive = [torch.ones(3, dtype=torch.bool), torch.tensor([True, True, False])]
    assert lowest_heads(scores, alive, 2) == [(1, 0), (0, 0)]
    assert lowest_heads(scores, alive, 10) == [(1, 0), (0, 0), (0, 1)]  # layer 1 keeps head 1, layer 0 head 2
    assert lowest_heads([torch.tensor([0.5, 0.5])], [torch.ones(2, dtype=torch.bool)], 1) == [(0, 0)]  # ties: lower index


def test_half_the_heads_go_in_steps_with_exact_weight_sparsity_and_info(model):
    data = batches(model)
    params = n_params(model)
    ctx = _prune(model, 0.5, data, step=0.125)
    info = ctx.info
    removed = sum(len(h) for h in info["heads_removed"].values())
    assert removed == 4 and info["head_fraction"] == 0.5 and info["iterations"] == 4 and info["heads_total"] == 8
    assert _shrink.structure(model)["heads"] == [4 - len(info["heads_removed"]["0"]), 4 - len(info["heads_removed"]["1"])]
    assert measured_sparsity(prunable_weights(model), TOTAL) == pytest.approx(removed * 4 * HIDDEN * D / TOTAL) == 0.25
    assert info["params_total"] == n_params(model) == params - removed * (4 * HIDDEN * D + 3 * D)
    assert info["shapes"]["0"]["query"] == [D * _shrink.structure(model)["heads"][0], HIDDEN]
    assert abs(0.25 - 0.5) <= HeadPruning.sparsity_tolerance  # the registry-wide run test at 50% of heads


def test_every_layer_keeps_a_head_whatever_the_target(model):
    ctx = _prune(model, 0.95, batches(model), step=0.5)
    assert _shrink.structure(model)["heads"] == [1, 1]
    assert ctx.info["head_fraction"] == 0.75


def test_the_pruned_model_reloads_identically(model, tmp_path):
    data = batches(model)
    _prune(model, 0.5, data, step=0.25, importance_batches=2)
    expected = logits(model, data)
    _shrink.save_shrunk(model, tmp_path)
    assert torch.equal(logits(_shrink.load_shrunk(tmp_path), data), expected)


def test_params_are_checked():
    with pytest.raises(Exception, match="step"):
        get("head-pruning").parse_params({"step": "0"})

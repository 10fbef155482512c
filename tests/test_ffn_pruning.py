"""ffn-pruning (Molchanov et al. 2017 Taylor criterion on FFN neurons): scores, choice, removal, weight share.

Tiny models: 2 layers, FFN width 64, hidden 32. One neuron = 2 * 32 encoder linear weights of 16384, so
half of the 128 neurons = 64 * 64 / 16384 = 25% of the weights.
"""

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)
from _tiny import batches, context, logits, loss_fn, n_params, tiny_model

from prunebench.methods import _shrink
from prunebench.methods._masking import measured_sparsity
from prunebench.methods._structure import encoder_layers, layer_linear, prunable_weights
from prunebench.methods.ffn_pruning import FFNPruning, lowest_global, lowest_per_layer, magnitude_scores, taylor_scores
from prunebench.methods.registry import get

FOLDERS = ["tiny_bert_dir", "tiny_distilbert_dir"]
HIDDEN, FFN, TOTAL = 32, 64, 16384


@pytest.fixture(params=FOLDERS)
def model(request):
    return tiny_model(request.getfixturevalue(request.param))


def _prune(model, target, data, **params):
    method = get("ffn-pruning")(get("ffn-pruning").parse_params(params))
    ctx = context(target, data)
    method.before_training(model, ctx)
    return ctx


@torch.no_grad()
def _cut_output(model, layer: int, neuron: int) -> None:
    layer_linear(model, encoder_layers(model)[layer], "ffn_out").weight[:, neuron] = 0


@torch.no_grad()
def _cut_all(model, layer: int, neuron: int) -> None:
    _cut_output(model, layer, neuron)
    ffn_in = layer_linear(model, encoder_layers(model)[layer], "ffn_in")
    ffn_in.weight[neuron] = 0
    ffn_in.bias[neuron] = 0


def test_a_neuron_without_output_has_zero_taylor_score_and_goes_first(model):
    data = batches(model)
    _cut_output(model, 0, 17)
    scores = taylor_scores(model, iter(data), loss_fn)
    assert scores[0][17] == 0 and int((torch.cat(scores) == 0).sum()) == 1
    before = logits(model, data)
    ctx = _prune(model, 1 / 128, data)
    assert ctx.info["neurons_removed"] == {"0": 1, "1": 0}
    assert torch.allclose(logits(model, data), before, atol=1e-5)


def test_a_disconnected_neuron_goes_first_by_magnitude(model):
    _cut_all(model, 1, 40)
    scores = magnitude_scores(model)
    assert scores[1][40] == 0 and float(torch.cat(scores).sort().values[1]) > 0
    data = batches(model)
    before = logits(model, data)
    ctx = _prune(model, 1 / 128, data, criterion="magnitude")
    assert ctx.info["neurons_removed"] == {"0": 0, "1": 1}
    assert torch.allclose(logits(model, data), before, atol=1e-5)


def test_taylor_scores_are_means_of_per_example_absolute_values(model):
    data = batches(model, count=1, size=4)
    together = taylor_scores(model, iter(data), loss_fn)
    singles = [{k: v[i : i + 1, : int(data[0]["attention_mask"][i].sum())] if v.dim() == 2 else v[i : i + 1] for k, v in data[0].items()}
               for i in range(4)]  # each example alone and unpadded: padding must not change its score
    one_by_one = taylor_scores(model, iter(singles), loss_fn)
    for a, b in zip(together, one_by_one):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-10)


def test_rankings_global_with_one_neuron_kept_per_layer_and_per_layer():
    scores = [torch.tensor([0.3, 0.1]), torch.tensor([0.2, 0.0, 0.4])]
    assert lowest_global(scores, 2) == {0: [1], 1: [1]}
    assert lowest_global(scores, 10) == {0: [1], 1: [1, 0]}
    assert lowest_per_layer(scores, [1, 2]) == {0: [1], 1: [0, 1]}


@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("rounds", [1, 2])
def test_half_the_neurons_go_with_exact_weight_sparsity(model, scope, rounds):
    data = batches(model)
    params = n_params(model)
    ctx = _prune(model, 0.5, data, scope=scope, rounds=rounds)
    widths = _shrink.structure(model)["ffn"]
    assert sum(widths) == 64 and ctx.info["ffn_fraction"] == 0.5 and ctx.info["ffn_widths"] == widths
    if scope == "layer":
        assert widths == [32, 32]
    assert measured_sparsity(prunable_weights(model), TOTAL) == pytest.approx(64 * 2 * HIDDEN / TOTAL) == 0.25
    assert ctx.info["params_total"] == n_params(model) == params - 64 * (2 * HIDDEN + 1)
    assert abs(0.25 - 0.5) <= FFNPruning.sparsity_tolerance  # the registry-wide run test at 50% of neurons


def test_the_pruned_model_reloads_identically(model, tmp_path):
    data = batches(model)
    _prune(model, 0.4, data, importance_batches=2)
    expected = logits(model, data)
    _shrink.save_shrunk(model, tmp_path)
    assert torch.equal(logits(_shrink.load_shrunk(tmp_path), data), expected)


def test_params_are_checked():
    with pytest.raises(Exception, match="rounds"):
        get("ffn-pruning").parse_params({"rounds": "0"})
    with pytest.raises(Exception, match="criterion"):
        get("ffn-pruning").parse_params({"criterion": "movement"})

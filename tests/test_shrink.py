"""Physically removing heads, FFN neurons and layers (methods/_shrink.py), and reloading the smaller model.

Both tiny models: hidden 32, 4 heads of 8, FFN width 64, 2 layers. A unit whose contribution is zero
(its value rows, or its FFN-output column, zeroed by hand) must leave the output unchanged when removed.
"""

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)
from _tiny import batches, logits, loss_fn, n_params, tiny_model
from transformers import AutoModelForSequenceClassification

from prunebench.methods import _shrink
from prunebench.methods._masking import measured_sparsity
from prunebench.methods._structure import encoder_layers, head_size, layer_linear, prunable_weights

FOLDERS = ["tiny_bert_dir", "tiny_distilbert_dir"]
HIDDEN, HEADS, D, FFN = 32, 4, 8, 64


@pytest.fixture(params=FOLDERS)
def model(request):
    return tiny_model(request.getfixturevalue(request.param))


def _prunable_total(model) -> int:
    return sum(w.numel() for w in prunable_weights(model).values())


@torch.no_grad()
def _silence_head(model, layer: int, head: int) -> None:
    value = layer_linear(model, encoder_layers(model)[layer], "value")
    value.weight[head * D : (head + 1) * D] = 0
    value.bias[head * D : (head + 1) * D] = 0


@torch.no_grad()
def _silence_neuron(model, layer: int, neuron: int) -> None:
    layer_linear(model, encoder_layers(model)[layer], "ffn_out").weight[:, neuron] = 0


def test_removing_silent_heads_keeps_the_output_and_drops_exact_parameters(model):
    data = batches(model)
    _silence_head(model, 0, 1)
    _silence_head(model, 1, 3)
    _silence_head(model, 1, 0)
    before, params, total = logits(model, data), n_params(model), _prunable_total(model)
    _shrink.prune_heads(model, {0: [1], 1: [3, 0]})
    assert torch.allclose(logits(model, data), before, atol=1e-5)
    # per head: query, key, value rows (weights and biases) and attention-output columns
    assert params - n_params(model) == 3 * (4 * HIDDEN * D + 3 * D)
    assert measured_sparsity(prunable_weights(model), total) == pytest.approx(3 * 4 * HIDDEN * D / total)
    assert _shrink.structure(model) == {"heads": [3, 2], "ffn": [FFN, FFN]}
    layer = encoder_layers(model)[1]
    assert list(layer_linear(model, layer, "query").weight.shape) == [2 * D, HIDDEN]
    assert list(layer_linear(model, layer, "attn_out").weight.shape) == [HIDDEN, 2 * D]
    holder = layer.attention.self if model.config.model_type == "bert" else layer.attention
    counts = (holder.num_attention_heads, holder.all_head_size) if model.config.model_type == "bert" else (holder.n_heads, holder.dim)
    assert counts == (2, 2 * D)
    assert head_size(model) == D  # the config's head count is kept: it fixes the head size


def test_removing_silent_neurons_keeps_the_output_and_drops_exact_parameters(model):
    data = batches(model)
    for j in (0, 5, 63):
        _silence_neuron(model, 1, j)
    before, params, total = logits(model, data), n_params(model), _prunable_total(model)
    _shrink.prune_ffn(model, {1: [63, 0, 5]})
    assert torch.allclose(logits(model, data), before, atol=1e-5)
    assert params - n_params(model) == 3 * (2 * HIDDEN + 1)  # input row + its bias + output column
    assert measured_sparsity(prunable_weights(model), total) == pytest.approx(3 * 2 * HIDDEN / total)
    assert _shrink.structure(model) == {"heads": [HEADS, HEADS], "ffn": [FFN, FFN - 3]}


def test_a_kept_neuron_keeps_its_weights(model):
    w = layer_linear(model, encoder_layers(model)[0], "ffn_in").weight[10].clone()
    _shrink.prune_ffn(model, {0: range(0, 10)})
    assert torch.equal(layer_linear(model, encoder_layers(model)[0], "ffn_in").weight[0], w)


def test_dropping_the_top_layer_returns_the_lower_layers_output(model):
    data = batches(model)
    inputs = {k: v for k, v in data[0].items() if k != "labels"}
    with torch.no_grad():
        hidden = model.base_model(**inputs, output_hidden_states=True).hidden_states
        layer_params = sum(p.numel() for p in encoder_layers(model)[1].parameters())
        params, total = n_params(model), _prunable_total(model)
        _shrink.drop_layers(model, [1])
        assert torch.allclose(model.base_model(**inputs).last_hidden_state, hidden[1], atol=1e-6)
    assert params - n_params(model) == layer_params
    assert measured_sparsity(prunable_weights(model), total) == pytest.approx(0.5)
    layers_key = "num_hidden_layers" if model.config.model_type == "bert" else "n_layers"
    assert getattr(model.config, layers_key) == 1 and len(encoder_layers(model)) == 1


def test_a_non_uniform_model_reloads_identically(model, tmp_path):
    data = batches(model)
    _shrink.prune_heads(model, {0: [0, 2], 1: [1]})
    _shrink.prune_ffn(model, {0: range(40), 1: [3]})
    _shrink.drop_layers(model, [0])
    _shrink.prune_heads(model, {0: [0]})
    expected = logits(model, data)
    _shrink.save_shrunk(model, tmp_path)
    again = _shrink.load_shrunk(tmp_path)
    assert _shrink.structure(again) == _shrink.structure(model) == {"heads": [2], "ffn": [FFN - 1]}
    assert torch.equal(logits(again, data), expected)
    # plain from_pretrained cannot rebuild per-layer head counts: it must fail, not load random weights
    with pytest.raises(RuntimeError, match="mismatch"):
        AutoModelForSequenceClassification.from_pretrained(tmp_path)


def test_uniform_ffn_width_and_fewer_layers_reload_with_plain_from_pretrained(model, tmp_path):
    data = batches(model)
    _shrink.prune_ffn(model, {0: range(16), 1: range(16, 32)})
    _shrink.drop_layers(model, [1])
    expected = logits(model, data)
    _shrink.save_shrunk(model, tmp_path)
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(logits(plain, data), expected)
    assert torch.equal(logits(_shrink.load_shrunk(tmp_path), data), expected)


def test_an_unpruned_model_also_round_trips(model, tmp_path):
    data = batches(model)
    _shrink.save_shrunk(model, tmp_path)
    assert torch.equal(logits(_shrink.load_shrunk(tmp_path), data), logits(model, data))


def test_shrinking_a_whole_sub_layer_or_a_missing_unit_is_refused(model):
    with pytest.raises(ValueError, match="keep at least one"):
        _shrink.prune_heads(model, {0: range(HEADS)})
    with pytest.raises(ValueError, match="keep at least one"):
        _shrink.prune_ffn(model, {1: range(FFN)})
    with pytest.raises(ValueError, match="keep at least one"):
        _shrink.drop_layers(model, [0, 1])
    with pytest.raises(ValueError, match="cannot remove"):
        _shrink.prune_heads(model, {0: [HEADS]})
    assert _shrink.structure(model) == {"heads": [HEADS, HEADS], "ffn": [FFN, FFN]}


def test_a_shrunk_model_still_trains(model):
    data = batches(model)
    _shrink.prune_heads(model, {0: [1]})
    _shrink.prune_ffn(model, {1: range(8)})
    model.train()
    loss_fn(model, data[0]).backward()
    assert all(w.requires_grad and w.grad is not None for w in prunable_weights(model).values())


def test_the_loader_rebuilds_a_shrunk_folder_instead_of_reinitialising_it(tiny_bert_dir, tmp_path):
    """The shrunk encoder comes back weight for weight; as every start (`load_model` without `location`), it gets
    a fresh task head (issue 17: a checkpoint's head is never reused for a new run)."""
    import torch

    from prunebench.benchmarks.errors import UsageError
    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task
    from prunebench.methods import _shrink

    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2")).eval()
    _shrink.prune_heads(model, {0: [1, 2]})
    _shrink.save_shrunk(model, tmp_path)
    again = load_model(resolve(f"local:{tmp_path}"), get_task("sst2"))
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        encoded, encoded_again = model.bert(input_ids=ids).last_hidden_state, again.bert(input_ids=ids).last_hidden_state
    query = lambda m: m.bert.encoder.layer[0].attention.self.query.weight  # noqa: E731
    assert query(again).shape == query(model).shape == (16, 32)  # 2 of 4 heads of 8 dimensions kept
    assert torch.allclose(encoded, encoded_again, atol=1e-6)
    assert not torch.equal(model.classifier.weight, again.classifier.weight)  # a fresh head, not the saved one
    with pytest.raises(UsageError, match="pruned model with 2 labels; task stsb needs 1"):
        load_model(resolve(f"local:{tmp_path}"), get_task("stsb"))

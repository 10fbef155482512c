"""layer-drop (Sajjad et al. 2020): which layers each strategy drops, physical removal, reload, weight share."""

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)
from _tiny import batches, context, logits, n_params, tiny_model
from transformers import AutoModelForSequenceClassification

from prunebench.methods import _shrink
from prunebench.methods._masking import measured_sparsity
from prunebench.methods._structure import encoder_layers, prunable_weights
from prunebench.methods.layer_drop import LayerDrop, layers_to_drop
from prunebench.methods.registry import get

FOLDERS = ["tiny_bert_dir", "tiny_distilbert_dir"]


@pytest.fixture(params=FOLDERS)
def model(request):
    return tiny_model(request.getfixturevalue(request.param))


@pytest.mark.parametrize(
    "strategy, expected",  # BERT-base, K = 4 (paper numbering 1..12 is these + 1)
    [
        ("top", [8, 9, 10, 11]),
        ("bottom", [0, 1, 2, 3]),
        ("even-alternate", [5, 7, 9, 11]),  # paper layers 12, 10, 8, 6
        ("odd-alternate", [4, 6, 8, 10]),  # paper layers 11, 9, 7, 5
        ("symmetric", [4, 5, 6, 7]),  # the middle four: 4 kept below, 4 above
    ],
)
def test_strategies_on_twelve_layers(strategy, expected):
    assert layers_to_drop(12, 4, strategy) == expected


def test_impossible_drops_are_refused():
    assert layers_to_drop(6, 0, "top") == []
    assert layers_to_drop(6, 3, "symmetric") == [1, 2, 3]
    with pytest.raises(ValueError, match="at least one"):
        layers_to_drop(6, 6, "top")
    with pytest.raises(ValueError, match="at most 3"):
        layers_to_drop(6, 4, "odd-alternate")
    with pytest.raises(ValueError, match="unknown strategy"):
        layers_to_drop(6, 2, "middle")


def test_method_starts_from_pretrained_weights():
    assert LayerDrop.starts_from == "pretrained" and LayerDrop.kind == "structured"


@pytest.mark.parametrize("strategy, kept", [("top", 0), ("bottom", 1)])
def test_dropping_half_the_layers_keeps_the_right_one_and_reloads(model, strategy, kept, tmp_path):
    data = batches(model)
    survivor, dropped = encoder_layers(model)[kept], encoder_layers(model)[1 - kept]
    params, total = n_params(model), sum(w.numel() for w in prunable_weights(model).values())
    ctx = context(0.5, data)
    get("layer-drop")(get("layer-drop").parse_params({"strategy": strategy})).before_training(model, ctx)
    assert list(encoder_layers(model)) == [survivor]
    assert ctx.info["layers_dropped"] == [1 - kept] and ctx.info["layer_fraction"] == 0.5
    assert ctx.info["params_total"] == n_params(model) == params - sum(p.numel() for p in dropped.parameters())
    assert measured_sparsity(prunable_weights(model), total) == 0.5
    assert abs(0.5 - 0.5) <= LayerDrop.sparsity_tolerance
    expected = logits(model, data)
    _shrink.save_shrunk(model, tmp_path)
    # a uniform model with fewer layers: the config alone describes it
    assert torch.equal(logits(AutoModelForSequenceClassification.from_pretrained(tmp_path), data), expected)
    assert torch.equal(logits(_shrink.load_shrunk(tmp_path), data), expected)

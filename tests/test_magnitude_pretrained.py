"""magnitude-pretrained: one-shot magnitude pruning of the pre-trained encoder at the start of fine-tuning."""

import pytest
import torch

from prunebench.benchmarks.config import TrainConfig
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods._structure import prunable_weights
from prunebench.methods.base import PruneContext
from prunebench.methods.registry import get, list_methods


def _pretrained(folder):
    torch.manual_seed(0)
    return load_model(resolve(str(folder)), get_task("sst2"))


def _masks(model, scope, sparsity=0.7):
    cls = get("magnitude-pretrained")
    ctx = PruneContext(sparsity, get_task("sst2"), torch.device("cpu"), 0, loss_fn=None, train_batches=None)
    cls(cls.parse_params({"scope": scope})).before_training(model, ctx)
    return ctx.masks


def test_it_is_listed_and_starts_from_the_pretrained_weights_for_the_full_recipe():
    cls = get("magnitude-pretrained")
    assert "magnitude-pretrained" in list_methods("magnitude-*") and cls.kind == "unstructured"
    assert cls.starts_from == "pretrained" and cls.Params().scope == "global"
    recipe = TrainConfig(epochs=3, lr=2e-5, recovery_epochs=2, recovery_lr=1e-4)
    assert cls().training_phase(recipe) == (3, 2e-5)  # the fine-tuning recipe, not the recovery one


def test_global_scope_keeps_the_largest_pretrained_weights_over_the_whole_encoder(tiny_bert_dir):
    model = _pretrained(tiny_bert_dir)
    before = {n: w.detach().abs().clone() for n, w in prunable_weights(model).items()}
    masks = _masks(model, "global")
    kept = torch.cat([before[n][masks[n] == 1] for n in masks])
    pruned = torch.cat([before[n][masks[n] == 0] for n in masks])
    assert len(pruned) == round(0.7 * (len(kept) + len(pruned)))
    assert kept.min() >= pruned.max()  # one threshold for every matrix
    weights = prunable_weights(model)
    assert all(torch.equal(weights[n] == 0, masks[n] == 0) for n in masks)  # the mask is applied at once


def test_layer_scope_prunes_every_matrix_at_the_target_rate(tiny_bert_dir):
    model = _pretrained(tiny_bert_dir)
    before = {n: w.detach().abs().clone() for n, w in prunable_weights(model).items()}
    masks = _masks(model, "layer")
    for name, mask in masks.items():
        assert int((mask == 0).sum()) == round(0.7 * mask.numel())
        assert before[name][mask == 1].min() >= before[name][mask == 0].max()
    global_masks = _masks(_pretrained(tiny_bert_dir), "global")
    assert any(not torch.equal(masks[n], global_masks[n]) for n in masks)  # the two scopes really differ here


def test_an_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="scope"):
        get("magnitude-pretrained").parse_params({"scope": "row"})

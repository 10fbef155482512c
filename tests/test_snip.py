"""SNIP: connection sensitivity |g * w| against a hand-computed example, and exact masks on a tiny BERT."""

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods._masking import masks_from_scores
from prunebench.methods.base import PruneContext
from prunebench.methods.registry import get
from prunebench.methods.snip import scoring_mode, snip_scores


def _squared_error(model, batch):
    return 0.5 * ((model(batch["x"]).squeeze(-1) - batch["y"]) ** 2).mean()


def _linear(weights):
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights]))
    return layer


def test_sensitivity_is_gradient_times_weight_by_hand():
    # out = w.x, L = (out - y)^2 / 2, so g = (w.x - y) x
    layer = _linear([1.0, -2.0])
    one = {"x": torch.tensor([[3.0, 1.0]]), "y": torch.tensor([0.0])}  # w.x = 1, g = [3, 1]
    scores = snip_scores(layer, [one], _squared_error, weights={"w": layer.weight})
    assert torch.allclose(scores["w"], torch.tensor([[3.0, 2.0]]))  # |[3 * 1, 1 * -2]|
    assert layer.weight.grad is None  # scoring leaves no gradient behind for training to pick up


def test_gradients_are_averaged_over_batches_before_the_absolute_value():
    layer = _linear([1.0, -2.0])
    one = {"x": torch.tensor([[3.0, 1.0]]), "y": torch.tensor([0.0])}  # g = [3, 1]
    two = {"x": torch.tensor([[1.0, 1.0]]), "y": torch.tensor([0.0])}  # w.x = -1, g = [-1, -1]
    scores = snip_scores(layer, [one, two], _squared_error, weights={"w": layer.weight})
    # mean g = [1, 0]: one batch of both examples, not the mean of the two |g * w|
    assert torch.allclose(scores["w"], torch.tensor([[1.0, 0.0]]))


def test_normalising_by_the_sum_does_not_change_the_mask():
    scores = {"a": torch.tensor([[0.3, 0.01], [2.0, 0.5]]), "b": torch.tensor([0.2, 0.0, 7.0])}
    total = sum(s.sum() for s in scores.values())
    plain = masks_from_scores(scores, 0.5)
    normalised = masks_from_scores({n: s / total for n, s in scores.items()}, 0.5)
    assert all(torch.equal(plain[n], normalised[n]) for n in scores)


def _batches(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [{"input_ids": torch.randint(1000, 2000, (4, 10), generator=generator),
             "attention_mask": torch.ones(4, 10, dtype=torch.long),
             "labels": torch.randint(0, 2, (4,), generator=generator)} for _ in range(n)]


def _classification_loss(model, batch):
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    return F.cross_entropy(model(**inputs).logits, batch["labels"])


def test_snip_keeps_the_most_sensitive_weights_at_the_exact_count(tiny_bert_dir):
    task = get_task("sst2")
    model = load_model(resolve(str(tiny_bert_dir)), task).train()
    batches = _batches(3)
    ctx = PruneContext(0.6, task, torch.device("cpu"), 0, _classification_loss, lambda: iter(batches))
    method = get("snip")(get("snip").parse_params({"batches": 2}))
    with scoring_mode(model):
        expected = snip_scores(model, batches[:2], _classification_loss)
    method.before_training(model, ctx)
    assert model.training  # the caller's mode is restored after scoring
    total = sum(m.numel() for m in ctx.masks.values())
    assert sum(int((m == 0).sum()) for m in ctx.masks.values()) == round(0.6 * total)
    kept = torch.cat([expected[n][m.bool()] for n, m in ctx.masks.items()])
    pruned = torch.cat([expected[n][~m.bool()] for n, m in ctx.masks.items()])
    assert kept.min() >= pruned.max()
    weights = dict(model.named_parameters())
    assert all(torch.all(weights[n][m == 0] == 0) for n, m in ctx.masks.items())
    assert ctx.info["scored_examples"] == 8

"""The random baseline: exact sparsity, seeded, and independent of the weights."""

import pytest
import torch

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods.base import PruneContext
from prunebench.methods.registry import get


def _pruned(model_dir, seed, scope):
    model = load_model(resolve(str(model_dir)), get_task("sst2"))
    ctx = PruneContext(0.7, get_task("sst2"), torch.device("cpu"), seed, loss_fn=None, train_batches=None)
    method = get("random")(get("random").parse_params({"scope": scope}))
    method.before_training(model, ctx)
    return ctx.masks


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_random_masks_are_exact_and_seeded(tiny_bert_dir, scope):
    a, b, c = _pruned(tiny_bert_dir, 0, scope), _pruned(tiny_bert_dir, 0, scope), _pruned(tiny_bert_dir, 1, scope)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not all(torch.equal(a[n], c[n]) for n in a)
    if scope == "layer":  # each matrix rounds on its own
        assert all(int((m == 0).sum()) == round(0.7 * m.numel()) for m in a.values())
    else:
        total = sum(m.numel() for m in a.values())
        assert sum(int((m == 0).sum()) for m in a.values()) == round(0.7 * total)

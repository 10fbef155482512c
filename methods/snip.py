"""SNIP: single-shot pruning by connection sensitivity (Lee, Ajanthan & Torr, ICLR 2019,
"SNIP: Single-shot Network Pruning based on Connection Sensitivity").

The paper asks, before any training, how much the loss would change if one connection were removed.
With a keep-mask ``c`` multiplying the weights, ``dL/dc_j`` at ``c = 1`` is ``g_j * w_j`` (``g = dL/dw``),
and the connection sensitivity is its magnitude ``|g_j * w_j|``. The paper normalises by the sum over
all connections; a positive common factor does not change the ranking, so the masks here come from the
raw ``|g * w|``. The top ``1 - sparsity`` share is kept, over all prunable weights together (the paper's
global ranking; ``scope=layer`` is offered as a variant), once, and the mask is held for all of training.

In PruneBench the network whose training starts is the pre-trained encoder with a fresh task head, so
SNIP scores at the start of fine-tuning (``starts_from = "pretrained"``) and then fine-tunes the
survivors for the full recipe (``epochs`` at ``lr``): the paper's "prune at initialisation, then train".

Choices where the paper leaves room or our setting differs:

- **Data.** The paper scores with a single mini-batch (of the order of a hundred examples). Our training
  batch is 32 examples, so the gradient is averaged over ``batches`` mini-batches (default 4, 128
  examples): the gradient of the mean loss over one larger batch, computed in pieces to bound memory.
  Gradients are summed *before* taking ``|g * w|``, as one batch of that size would give.
- **Dropout off while scoring** (``model.eval()``, then restored): the score is then a function of the
  weights and the data only, and the same seed gives the same mask on any device.
- **Precision.** Scores are computed in fp32 without autocast, whatever the training precision.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Literal

import torch
from torch import nn

from ._masking import masks_from_scores
from ._structure import prunable_weights
from .base import Method, PruneContext, batches_fit

LossFn = Callable[[nn.Module, dict], torch.Tensor]


@dataclass(frozen=True)
class Params:
    batches: int = 4  # training mini-batches whose mean gradient gives g (the paper: one batch of ~100 examples)
    scope: Literal["global", "layer"] = "global"  # global: the paper's single ranking over all prunable weights

    def check(self) -> None:
        if self.batches < 1:
            raise ValueError(f"batches must be >= 1, got {self.batches}")


def snip_scores(model: nn.Module, batches: Iterable[dict], loss_fn: LossFn,
                weights: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Connection sensitivity ``|mean_b dL_b/dw * w|`` of each weight in `weights` (default: the prunable ones).

    The model is not changed (no ``.grad`` is written), so scoring cannot leak into training; the caller
    chooses train or eval mode.
    """
    weights = prunable_weights(model) if weights is None else weights
    tensors = list(weights.values())
    total = [torch.zeros_like(w, dtype=torch.float32) for w in tensors]
    count = 0
    for batch in batches:
        grads = torch.autograd.grad(loss_fn(model, batch), tensors)
        torch._foreach_add_(total, [g.float() for g in grads])
        count += 1
    if count == 0:
        raise ValueError("SNIP needs at least one training batch to score with")
    return {name: (g / count * w.detach().float()).abs() for (name, w), g in zip(weights.items(), total)}


@contextlib.contextmanager
def scoring_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Dropout off while a criterion is computed, the caller's mode restored afterwards: a score must
    depend on the weights and the data, not on the dropout draw."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def first_batches(ctx: PruneContext, n: int) -> list[dict]:
    """The first `n` batches of a fresh pass over the training data (the same ones for every method and
    device with the run's seed)."""
    return list(itertools.islice(ctx.train_batches(), n))


class Snip(Method):
    """SNIP: keep the weights of largest connection sensitivity |g*w| at the start of fine-tuning, then train."""

    name, kind, Params = "snip", "unstructured", Params
    starts_from = "pretrained"

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """The score is a mean over `batches` training batches: more than one pass gives would silently be fewer."""
        batches_fit(cls.name, "batches", params.batches, fit, default=Params.batches)

    def before_training(self, model, ctx):
        batches = first_batches(ctx, self.params.batches)
        with scoring_mode(model):
            scores = snip_scores(model, batches, ctx.loss_fn)
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope=self.params.scope))
        ctx.info["scored_examples"] = sum(len(b["labels"]) for b in batches)

"""GraSP: Gradient Signal Preservation (Wang, Zhang & Grosse, ICLR 2020, "Picking Winning Tickets
Before Training by Preserving Gradient Flow").

The paper prunes before training so that the pruned network keeps the gradient flow ``g^T g`` of the
dense one (``g = dL/dθ``). Removing a set of weights is the perturbation ``δ = -θ`` on them, and to first
order the gradient flow changes by ``δ^T H g`` (up to a factor 2, with ``H`` the Hessian of the loss). Each
weight's share of that change is the GraSP score

    S(-θ) = -θ ⊙ (H g).

**Sign convention.** ``S`` is the (approximate) change of the gradient flow when the weight is removed.
A large positive ``S`` means removing the weight would *raise* the gradient flow, i.e. reduce it least,
so the paper removes the weights with the *highest* scores (its Algorithm 1 keeps the weights whose
score is below the ``1 - p`` quantile). Unlike SNIP, the score is signed and there is no absolute value:
a weight whose removal lowers the gradient flow has a negative score and is kept first. PruneBench's
masks keep the highest keep-score, so the mask is built from ``-S``.

``H g`` is computed without forming ``H``, by double backward: ``g`` is first accumulated without a graph
and then treated as a constant, and ``H g = d(g_stop · dL/dθ)/dθ``. ``g`` and ``H`` run over *all*
trainable parameters (the paper's gradient flow is that of the whole network, and a weight's removal
also changes the gradients of the parameters we do not prune, such as embeddings and the head); only the
prunable weights receive scores. The top ``1 - sparsity`` share by ``-S`` is kept over all prunable
weights together (the paper's global ranking; ``scope=layer`` is a variant), once, at the start of
fine-tuning (``starts_from = "pretrained"``: the network at initialisation of training is the pre-trained
encoder with a fresh head), and the mask is held while the survivors train for the full recipe.

Choices where the paper leaves room or our setting differs:

- **Temperature.** The paper divides the logits by a temperature ``T`` (200 in its experiments) so the
  softmax is not saturated and the gradients carry signal. Here ``T`` is applied to the loss of both the
  gradient and the Hessian-gradient pass, so ``H g`` is the Hessian-gradient product of one objective, the
  tempered loss. Regression tasks (STS-B) have no softmax, so ``T`` is not applied there (recorded as
  ``temperature_used`` = 1 in the row).
- **Data.** ``g`` and ``H`` are means over ``batches`` training mini-batches (default 4 of 32 = 128
  examples; the paper scores on a small sample of the training set).
- **Dropout off while scoring**, so both passes see the same function; scores in fp32 without autocast.
- **Attention kernel.** PyTorch's fused scaled-dot-product-attention kernels have no double backward
  (on CPU: "derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not
  implemented"), so scoring selects SDPA's math backend, which is plain differentiable tensor algebra.
  The model config is not touched; training afterwards uses the fused kernels as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from prunebench.benchmarks.tasks import GlueTask

from ._masking import masks_from_scores
from ._structure import prunable_weights
from .base import Method, batches_fit
from .snip import first_batches, scoring_mode

LossFn = Callable[[nn.Module, dict], torch.Tensor]


@dataclass(frozen=True)
class Params:
    batches: int = 4  # training mini-batches g and Hg are averaged over
    temperature: float = 200.0  # logits divided by T in the scoring loss (the paper's T = 200); not used for regression
    scope: Literal["global", "layer"] = "global"  # global: the paper's single ranking over all prunable weights

    def check(self) -> None:
        if self.batches < 1:
            raise ValueError(f"batches must be >= 1, got {self.batches}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def grasp_scores(model: nn.Module, batches: Iterable[dict], loss_fn: LossFn,
                 weights: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The paper's ``S = -θ ⊙ (H g)`` of each weight in `weights` (default: the prunable ones); high = prune.

    ``g`` and ``H`` are of the mean loss over `batches` and span every parameter that requires grad, so
    the cross-terms between a scored weight and the rest of the network are included. The model is not
    changed (no ``.grad`` is written).
    """
    weights = prunable_weights(model) if weights is None else weights
    batches = list(batches)
    if not batches:
        raise ValueError("GraSP needs at least one training batch to score with")
    params = [p for p in model.parameters() if p.requires_grad]
    tensors = list(weights.values())
    with sdpa_kernel(SDPBackend.MATH):
        # pass 1: g, a constant from here on (the paper's stop-gradient)
        g = [torch.zeros_like(p) for p in params]
        for batch in batches:
            grads = torch.autograd.grad(loss_fn(model, batch), params, allow_unused=True)
            torch._foreach_add_(g, [d if d is not None else torch.zeros_like(p) for d, p in zip(grads, params)])
        torch._foreach_div_(g, float(len(batches)))
        # pass 2: Hg = d/dθ (g_stop · dL/dθ), batch by batch so only one double-backward graph is alive
        hg = [torch.zeros_like(w) for w in tensors]
        for batch in batches:
            grads = torch.autograd.grad(loss_fn(model, batch), params, create_graph=True, allow_unused=True)
            flow = sum((d * c).sum() for d, c in zip(grads, g) if d is not None)
            parts = torch.autograd.grad(flow, tensors, allow_unused=True)
            torch._foreach_add_(hg, [d if d is not None else torch.zeros_like(w) for d, w in zip(parts, tensors)])
    return {name: -w.detach() * h / len(batches) for (name, w), h in zip(weights.items(), hg)}


def tempered_loss(task: GlueTask, temperature: float) -> LossFn:
    """The task loss on logits divided by `temperature` (classification only: an MSE on scaled outputs
    would be another regression problem, not a softer softmax)."""
    from prunebench.benchmarks.train import model_inputs, task_loss

    def loss(model: nn.Module, batch: dict) -> torch.Tensor:
        logits = model(**model_inputs(batch)).logits
        return task_loss(task, logits / temperature, batch["labels"])

    return loss


class GraSP(Method):
    """GraSP: at the start of fine-tuning, prune the weights whose removal reduces gradient flow least (-θ⊙Hg)."""

    name, kind, Params = "grasp", "unstructured", Params
    starts_from = "pretrained"

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """g and Hg are means over `batches` training batches: more than one pass gives would silently be fewer."""
        batches_fit(cls.name, "batches", params.batches, fit, default=Params.batches)

    def before_training(self, model, ctx):
        temperature = 1.0 if ctx.task.is_regression else self.params.temperature
        batches = first_batches(ctx, self.params.batches)
        with scoring_mode(model):
            scores = grasp_scores(model, batches, tempered_loss(ctx.task, temperature))
        keep = {name: -s for name, s in scores.items()}  # the highest S is pruned first
        ctx.set_masks(model, masks_from_scores(keep, ctx.target_sparsity, scope=self.params.scope))
        ctx.info.update(temperature_used=temperature, scored_examples=sum(len(b["labels"]) for b in batches))

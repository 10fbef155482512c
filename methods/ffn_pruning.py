"""FFN neuron pruning with the first-order Taylor criterion of Molchanov, Tyree, Karras, Aila & Kautz (2017),
"Pruning Convolutional Neural Networks for Resource Efficient Inference" (ICLR 2017), applied to the
intermediate neurons of every transformer FFN, which are then physically removed.

Molchanov et al. score a unit by the first-order change in loss when its activation is set to zero:
Theta(z) = | mean over positions of (dL/dz) * z |, averaged over examples. Here a unit is one FFN
neuron, its activation the GELU output a (the input of the FFN output matrix), and the positions are the
example's real tokens (padding gets zero gradient; the mean divides by real tokens). Activations are
captured by a forward pre-hook on the FFN output linear, so signatures do not change; the gradient is
per example because the batch loss is a mean of independent examples. For a global ranking the paper
divides each layer's scores by their l2 norm (`normalize_by_layer`), which keeps deep layers with small
gradients from losing everything. `criterion=magnitude` scores a neuron by the l2 norm of all weights
attached to it (its FFN-input row with its bias, and its FFN-output column), a data-free comparison.

Protocol choices (PruneBench, not the paper):
- ``ctx.target_sparsity`` is the share of FFN neurons removed: round(target * neurons) over the model
  (``scope=global``) or round(target * width) in each layer (``scope=layer``). The row's
  `achieved_sparsity` is the share of encoder linear *weights* removed: the FFN holds 2/3 of a BERT-base
  layer's linear weights (1/2 in the tiny test models), so 50% of neurons is 25-33% of the weights, and
  `sparsity_tolerance` covers that gap at the 50% target of the registry-wide test;
  `tests/test_ffn_pruning.py` asserts the exact weight share from the shapes.
- Molchanov et al. prune one unit at a time with fine-tuning steps in between. Here training happens
  only in the shared recovery phase, so every method gets the same number of steps: pruning runs in
  `rounds` equal rounds, re-scoring the shrunk model after each, then the recovery recipe fine-tunes it.
- A global ranking never empties a layer: at least one neuron per layer stays.
- Scores are averaged over a full pass of the run's training split, or the first `importance_batches`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from . import _shrink
from ._importance import expected_abs_gradient
from ._structure import encoder_layers, layer_linear
from .base import Method, PruneContext, batches_fit, units_fit


@dataclass(frozen=True)
class Params:
    criterion: Literal["taylor", "magnitude"] = "taylor"  # |mean_t a*dL/da| (Molchanov et al.) or weight norm
    scope: Literal["global", "layer"] = "global"  # rank all neurons together, or remove the target share in each layer
    normalize_by_layer: bool = True  # l2-normalise each layer's scores before a global ranking (Molchanov et al.)
    rounds: int = 1  # prune in this many equal rounds, re-scoring the shrunk model after each (no training between)
    importance_batches: int = 0  # training batches per Taylor estimate; 0 = one full pass

    def check(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.importance_batches < 0:
            raise ValueError(f"importance_batches must be >= 0, got {self.importance_batches}")


def taylor_scores(model: nn.Module, batches: Iterable[dict], loss_fn: Callable[[nn.Module, dict], torch.Tensor]) -> list[torch.Tensor]:
    """Per layer and neuron, E_x | mean over x's tokens of a * dL(x)/da |."""
    layers = encoder_layers(model)
    acts: list[torch.Tensor | None] = [None] * len(layers)

    def capture(index: int):
        def hook(module, args):
            acts[index] = args[0]

        return hook

    handles = [layer_linear(model, layer, "ffn_out").register_forward_pre_hook(capture(i)) for i, layer in enumerate(layers)]

    def per_batch(batch, acts, grads):
        mask = batch.get("attention_mask")
        mask = torch.ones(grads[0].shape[:2], device=grads[0].device) if mask is None else mask.to(grads[0].dtype)
        tokens = mask.sum(1, keepdim=True).clamp(min=1)
        # per example: mean over its real tokens of a * dL/da
        return [((a.detach() * g) * mask[..., None]).sum(1).div(tokens).abs().sum(0) for a, g in zip(acts, grads)]

    return expected_abs_gradient(model, batches, loss_fn, handles, acts, per_batch, "FFN neuron importance")


@torch.no_grad()
def magnitude_scores(model: nn.Module) -> list[torch.Tensor]:
    """Per layer and neuron, the l2 norm of its FFN-input row and bias and its FFN-output column."""
    scores = []
    for layer in encoder_layers(model):
        w_in, w_out = layer_linear(model, layer, "ffn_in"), layer_linear(model, layer, "ffn_out")
        sq = w_in.weight.double().pow(2).sum(1) + w_out.weight.double().pow(2).sum(0)
        if w_in.bias is not None:
            sq = sq + w_in.bias.double().pow(2)
        scores.append(sq.sqrt().cpu())
    return scores


def lowest_global(scores: list[torch.Tensor], n: int) -> dict[int, list[int]]:
    """The `n` lowest-scoring neurons over all layers, never a layer's last one; ties to the lower position."""
    order = sorted((float(s[j]), l, j) for l, s in enumerate(scores) for j in range(len(s)))
    left, chosen = [len(s) for s in scores], {l: [] for l in range(len(scores))}
    taken = 0
    for _, l, j in order:
        if taken == n:
            break
        if left[l] > 1:
            chosen[l].append(j)
            left[l] -= 1
            taken += 1
    return chosen


def lowest_per_layer(scores: list[torch.Tensor], counts: list[int]) -> dict[int, list[int]]:
    """The counts[l] lowest-scoring neurons of each layer l; ties to the lower position."""
    return {l: sorted(torch.sort(s, stable=True).indices[:k].tolist()) for l, (s, k) in enumerate(zip(scores, counts))}


class FFNPruning(Method):
    """Molchanov et al. 2017 Taylor criterion on FFN neurons: remove the least important ones, then recover."""

    name, kind, version, Params = "ffn-pruning", "structured", 1, Params
    starts_from = "finetuned"
    # target = share of FFN neurons, achieved = share of encoder linear weights: at the registry test's
    # 50% of neurons that is 25% (tiny models: FFN = 1/2 of the weights) to ~33% (BERT shapes: 2/3)
    sparsity_tolerance = 0.26

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """round(target * neurons) must remove at least one neuron and leave every layer one; a Taylor estimate
        cannot ask for more batches than the split gives."""
        if params.criterion == "taylor" and params.importance_batches:
            batches_fit(cls.name, "importance_batches", params.importance_batches, fit)
        if fit.layers is None or fit.ffn is None:
            return
        units_fit(cls.name, sparsity, fit.layers * fit.ffn, fit.layers, "FFN neurons")

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        widths = _shrink.structure(model)["ffn"]
        t, p = ctx.target_sparsity, self.params
        # cumulative removals after the last round: over the model, or per layer
        goal_global = round(t * sum(widths))
        goal_layer = [min(round(t * w), w - 1) for w in widths]
        for r in range(1, p.rounds + 1):
            now = _shrink.structure(model)["ffn"]
            removed = [w - n for w, n in zip(widths, now)]
            scores = self._scores(model, ctx)
            if p.scope == "global":
                if p.normalize_by_layer:
                    scores = [s / (s.norm() + 1e-20) for s in scores]
                drop = lowest_global(scores, round(goal_global * r / p.rounds) - sum(removed))
            elif p.scope == "layer":
                drop = lowest_per_layer(scores, [round(g * r / p.rounds) - done for g, done in zip(goal_layer, removed)])
            else:
                raise ValueError(f"unknown scope {p.scope!r}; valid scopes: global, layer")
            _shrink.prune_ffn(model, drop)
        now = _shrink.structure(model)["ffn"]
        ctx.info.update(
            neurons_removed={str(l): w - n for l, (w, n) in enumerate(zip(widths, now))},
            neurons_total=sum(widths),
            ffn_fraction=(sum(widths) - sum(now)) / sum(widths),
            ffn_widths=now,
            params_total=sum(q.numel() for q in model.parameters()),
            shapes=_shrink.shapes(model),
        )

    def _scores(self, model: nn.Module, ctx: PruneContext) -> list[torch.Tensor]:
        if self.params.criterion == "taylor":
            batches = ctx.train_batches()
            if self.params.importance_batches:
                batches = itertools.islice(batches, self.params.importance_batches)
            return taylor_scores(model, batches, ctx.loss_fn)
        if self.params.criterion == "magnitude":
            return magnitude_scores(model)
        raise ValueError(f"unknown criterion {self.params.criterion!r}; valid criteria: taylor, magnitude")

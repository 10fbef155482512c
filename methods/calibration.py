"""Calibration data and the inputs of prunable layers: the public helpers of data-driven one-shot methods.

Layer-wise pruning methods such as SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models
Can Be Accurately Pruned in One-Shot", Section 3) choose and correct each linear layer's weights from the
inputs that layer sees on a small calibration sample. This module gives a method those inputs without a
loop of its own, the same way for every method and architecture:

- `calibration_batches(ctx, n)`: the first `n` training sequences in the run's seeded order, as batches;
- `forward_only(model, batch)`: one forward pass without labels, loss or autograd graph;
- `prunable_linears(model)` / `linears_by_layer(model)`: the prunable ``nn.Linear`` modules (not only their
  weights), by module name, and grouped by encoder layer;
- `each_input(...)`: every non-padding input row that chosen linears see, handed to a callback;
- `input_grams(...)`: the sum of x xᵀ over those rows per linear (`GramStats`), so a method can build a
  layer-wise Hessian without storing activations.

Padding tokens are left out everywhere: a padded position's hidden state is computed but attended to by
no real token, so it is not an input the layer has to reproduce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _structure
from .base import PruneContext


def calibration_batches(ctx: PruneContext, n_sequences: int) -> Iterator[dict[str, torch.Tensor]]:
    """Batches holding the first `n_sequences` training sequences of the run's seeded order (the last one cut).

    The order is `ctx.train_batches()`'s, so every method and device sees the same sample for a seed.
    When the training split is smaller, all of it is yielded: a caller that records how many sequences it
    used should count them (``sum(len(b["input_ids"]) for b in batches)``). Batches stay on `ctx.device`
    and keep their ``labels`` (ignored by `forward_only`). Raises ValueError for ``n_sequences < 1``.
    """
    if n_sequences < 1:
        raise ValueError(f"n_sequences must be >= 1, got {n_sequences}")
    return _first_sequences(ctx.train_batches(), n_sequences)


def _first_sequences(batches: Iterable[dict[str, torch.Tensor]], n: int) -> Iterator[dict[str, torch.Tensor]]:
    left = n
    for batch in batches:
        size = len(batch["input_ids"])
        yield batch if size <= left else {k: v[:left] for k, v in batch.items()}
        left -= size
        if left <= 0:
            return


@torch.no_grad()
def forward_only(model: nn.Module, batch: dict[str, torch.Tensor]) -> Any:
    """The model's outputs on `batch` with its labels left out: no loss, no autograd graph, the model's mode kept."""
    return model(**{k: v for k, v in batch.items() if k != "labels"})


def prunable_linears(model: nn.Module) -> dict[str, nn.Linear]:
    """Module name -> the prunable ``nn.Linear`` (the encoder linears `ctx.prunable` lists the weights of).

    Its weight's parameter name is ``f"{name}.weight"``, the key of `ctx.prunable(model)` and `ctx.masks`.
    """
    return dict(_structure.prunable(model))


def linears_by_layer(model: nn.Module) -> list[tuple[nn.Module, dict[str, nn.Linear]]]:
    """(encoder layer module, its prunable linears by module name), in model order: the unit that sequential
    layer-wise methods prune one after the other."""
    layers = _structure.encoder_layers(model)
    groups: list[dict[str, nn.Linear]] = [{} for _ in layers]
    for name, module in _structure.prunable(model):
        groups[_structure.layer_index(name)][name] = module
    return [(layer, group) for layer, group in zip(layers, groups) if group]


class _Stop(Exception):
    """Raised by the hook after `stop_after` to end a forward pass whose later layers nobody needs."""


def each_input(model: nn.Module, modules: dict[str, nn.Module], batches: Iterable[dict[str, torch.Tensor]],
               visit: Callable[[str, torch.Tensor], None], stop_after: nn.Module | None = None) -> int:
    """Call ``visit(name, x)`` with the inputs each module in `modules` receives on `batches`, padding dropped.

    ``x`` has shape [real tokens of the batch, in_features] (float32, on the model's device): the module's
    first positional input at every position whose ``attention_mask`` is 1. Forward passes run in eval
    mode (no dropout) without autograd; the caller's mode is restored and the hooks removed whatever
    happens. With `stop_after` (e.g. the encoder layer holding the modules), each pass ends right after
    that module, since nothing later is needed. Returns the number of real tokens seen per module.
    Raises ValueError when a module's input does not have the batch's [batch, sequence] leading shape.
    """
    current: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module, args):
            x, keep = args[0], current["mask"]
            if x.shape[:2] != keep.shape:
                raise ValueError(f"{name}: input of shape {tuple(x.shape)} does not match the batch's {tuple(keep.shape)}")
            visit(name, x[keep].float())
        return hook

    def stop(module, args, output):
        raise _Stop

    handles = [module.register_forward_pre_hook(hook_for(name)) for name, module in modules.items()]
    if stop_after is not None:
        handles.append(stop_after.register_forward_hook(stop))
    was_training, tokens = model.training, 0
    model.eval()
    try:
        for batch in batches:
            current["mask"] = batch["attention_mask"].bool()
            tokens += int(current["mask"].sum())
            try:
                forward_only(model, batch)
            except _Stop:
                pass
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return tokens


@dataclass
class GramStats:
    """Σ x xᵀ over the `tokens` input rows x a linear saw ([in_features, in_features], float32)."""

    gram: torch.Tensor
    tokens: int

    def hessian(self) -> torch.Tensor:
        """H = 2 X Xᵀ / tokens: the Hessian of the layer-wise squared error ‖W X - Ŵ X‖² (SparseGPT, Section 3,
        "the Hessian ... H = 2XXᵀ"), averaged over tokens so that its scale does not grow with the sample.
        Raises ValueError when no token was seen."""
        if self.tokens == 0:
            raise ValueError("no calibration tokens reached this layer")
        return 2.0 * self.gram / self.tokens


def input_grams(model: nn.Module, modules: dict[str, nn.Linear], batches: Iterable[dict[str, torch.Tensor]],
                stop_after: nn.Module | None = None) -> dict[str, GramStats]:
    """`GramStats` of the non-padding inputs of each linear in `modules` over `batches` (see `each_input`).

    Memory is in_features² floats per module, whatever the sample size: activations are never stored.
    """
    grams = {name: torch.zeros(m.in_features, m.in_features, device=m.weight.device) for name, m in modules.items()}

    def add(name: str, x: torch.Tensor) -> None:
        grams[name].addmm_(x.T, x)

    tokens = each_input(model, modules, batches, add, stop_after=stop_after)
    return {name: GramStats(gram, tokens) for name, gram in grams.items()}

"""Lottery tickets: iterative magnitude pruning (IMP) with rewinding.

Frankle & Carbin (ICLR 2019, "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural
Networks") find a sparse subnetwork by training, removing the smallest-magnitude weights, resetting the
survivors to their values at the start and training again, round after round. Frankle, Dziugaite, Roy &
Carbin (ICML 2020, "Linear Mode Connectivity and the Lottery Ticket Hypothesis") rewind instead to the
weights of an early step of the first training run. Chen, Frankle, Chang, Liu, Zhang, Wang & Carbin
(NeurIPS 2020, "The Lottery Ticket Hypothesis for Pre-trained BERT Networks") apply IMP to BERT
fine-tuning, where the starting point, and the rewinding target, is the pre-trained model, and prune
globally over the encoder's weight matrices.

One round: train for the full recipe (``epochs`` at ``lr``), prune the smallest |w| among the surviving
prunable weights, rewind every parameter (the encoder, the embeddings and the task head) to the rewinding
target, and hold the new mask. After ``rounds`` = k pruning rounds the mask is at the target sparsity and the
harness's loop trains the rewound ticket for the full recipe: that final model is the result.

- **rewind = pretrained** (default, Chen et al.): the target is ``ctx.pretrained()``, the pre-trained encoder
  with the same seeded head every round starts from. The first round, dense fine-tuning of those weights
  with this run's seed and recipe, is then exactly the dense checkpoint the harness already trained, so its
  weights are read from ``ctx.teacher()`` instead of being trained again.
- **rewind = early** (Frankle et al. 2020): the first round is trained here, and an inner hook copies all
  weights after ``rewind_epochs`` of it (rounded to optimiser steps, at least one); later rounds start
  from that copy.

Deviations, with reasons:

- **Fixed number of rounds.** The papers remove a fixed share per round (Chen et al.: 10% of the remaining
  weights) until a target is reached. Here each of the k rounds removes ``1 - (1 - s)^(1/k)`` of the
  survivors, so k rounds land exactly on the target ``s`` (the last round uses ``s`` itself, free of rounding)
  and the compute is the same at every sparsity of the grid.
- **Compute.** Every round trains the full recipe, as in the papers. A ticket therefore costs (k + 1) times
  the fine-tuning of the other methods: k rounds before pruning and the final training. With
  ``rewind=pretrained`` the first of those is the shared dense checkpoint, so a run trains k times. The row
  records ``training_epochs`` (all of them), ``epochs_trained_here`` and ``inner_train_seconds``, because
  the harness's ``train_seconds`` measures only the final training.
- **Schedule after an early rewind.** Frankle et al. resume training at the rewind step, with the learning
  rate schedule at that step. The shared loop starts each round with its own warm-up and decay over the
  full recipe; for a rewind point early in the first epoch the two differ by a few steps of training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ._masking import masks_from_scores
from .base import Method, PruneContext


@dataclass(frozen=True)
class Params:
    rounds: int = 3  # k: pruning rounds; each removes 1-(1-s)^(1/k) of the survivors, so k rounds reach s exactly
    rewind: Literal["pretrained", "early"] = "pretrained"  # pretrained: Chen et al. 2020 (BERT); early: Frankle et al. 2020
    rewind_epochs: float = 0.1  # rewind=early only: the rewind point, in epochs of the first round (>= 1 step)
    scope: Literal["global", "layer"] = "global"  # global: one magnitude ranking over the encoder (Chen et al.)

    def check(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if not self.rewind_epochs > 0:
            raise ValueError(f"rewind_epochs must be > 0, got {self.rewind_epochs}")


def round_sparsities(target: float, rounds: int) -> list[float]:
    """Sparsity after each round. Every round keeps the same share ``(1 - target)^(1/rounds)`` of the
    survivors; the last entry is `target` itself, so float error cannot move the final count."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    keep = (1.0 - target) ** (1.0 / rounds)
    return [1.0 - keep**r for r in range(1, rounds)] + [target]


def prune_survivors(weights: dict[str, torch.Tensor], alive: dict[str, torch.Tensor], sparsity: float,
                    scope: str) -> dict[str, torch.Tensor]:
    """Keep-masks at `sparsity` that keep the largest |w| among weights still alive.

    Pruned weights score -inf, so they are the first to go again: a pruned weight never comes back, and
    each round's mask is a subset of the previous one. An empty `alive` means every weight is alive.
    """
    scores = {}
    for name, w in weights.items():
        magnitude = w.detach().abs().float()
        scores[name] = magnitude if name not in alive else magnitude.masked_fill(~alive[name].bool(), float("-inf"))
    return masks_from_scores(scores, sparsity, scope=scope)


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter and buffer: what a rewind restores."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def rewind_to(model: nn.Module, state: dict[str, torch.Tensor], ctx: PruneContext, masks: dict[str, torch.Tensor]) -> None:
    """Reset every weight to `state` in place (the loop holds this model object), then hold `masks`."""
    model.load_state_dict(state)
    ctx.set_masks(model, masks)


class RewindPoint(Method):
    """Inner-round hooks: copy the weights after the rewind step of the first round (Frankle et al. 2020)."""

    def __init__(self, epochs: float):
        super().__init__()
        self.epochs = epochs
        self.step: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def before_training(self, model, ctx):
        self.step = max(1, round(self.epochs * ctx.steps_per_epoch))
        if self.step > ctx.total_steps:
            raise ValueError(f"rewind point at step {self.step} lies beyond the {ctx.total_steps} steps of a round; "
                             "lower rewind_epochs")

    def on_step(self, model, step, ctx):
        if step == self.step:
            self.state = snapshot(model)


class LotteryTicket(Method):
    """Lottery ticket: k rounds of train, prune smallest |w| globally, rewind; then train the ticket."""

    name, kind, Params = "lottery-ticket", "unstructured", Params
    starts_from = "pretrained"

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """rewind=early: the rewind point must lie inside the first round (the recipe's `epochs`), or round 1 would
        end without a copy to rewind to (it used to fail after round 1 had trained)."""
        if params.rewind != "early" or fit.recipe is None:
            return
        epochs, batches = fit.recipe.epochs, fit.train_batches
        if batches is None:
            beyond = params.rewind_epochs > epochs
        else:
            beyond = max(1, round(params.rewind_epochs * batches)) > round(epochs * batches)
        if beyond:
            steps = f" ({round(epochs * batches)} steps)" if batches is not None else ""
            raise ValueError(f"lottery-ticket rewind_epochs={params.rewind_epochs:g} lies beyond the {epochs:g} epoch(s) "
                             f"of a round{steps}; valid: rewind_epochs in (0, {epochs:g}]")

    def before_training(self, model, ctx):
        p, recipe = self.params, ctx.recipe
        started = time.perf_counter()
        trained_rounds = 0
        if p.rewind == "pretrained":
            rewind_state = snapshot(ctx.pretrained())
            trained = ctx.prunable(ctx.teacher())  # round 1 = the dense fine-tuning of these very weights
            first_round = "dense checkpoint"
        elif p.rewind == "early":
            point = RewindPoint(p.rewind_epochs)
            ctx.train(model, recipe.epochs, recipe.lr, hooks=point, desc="lottery round 1")
            trained_rounds += 1
            if point.state is None:
                raise RuntimeError(f"round 1 ended before the rewind step {point.step}")
            rewind_state, trained = point.state, ctx.prunable(model)
            first_round = "trained"
            ctx.info["rewind_step"] = point.step
        else:
            raise ValueError(f"unknown rewind {p.rewind!r}; valid: pretrained, early")
        sparsities = round_sparsities(ctx.target_sparsity, p.rounds)
        masks: dict[str, torch.Tensor] = {}
        for r, sparsity in enumerate(sparsities, start=1):
            masks = prune_survivors(trained, masks, sparsity, p.scope)
            rewind_to(model, rewind_state, ctx, masks)
            if r < len(sparsities):
                ctx.train(model, recipe.epochs, recipe.lr, desc=f"lottery round {r + 1}")
                trained_rounds += 1
                trained = ctx.prunable(model)
        ctx.info.update(
            round_sparsity=[round(s, 6) for s in sparsities],
            first_round=first_round,
            epochs_per_round=recipe.epochs,
            training_epochs=(p.rounds + 1) * recipe.epochs,  # k rounds before pruning + the final training
            epochs_trained_here=(trained_rounds + 1) * recipe.epochs,
            inner_train_seconds=round(time.perf_counter() - started, 3),
        )

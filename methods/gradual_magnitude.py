"""Gradual magnitude pruning (Zhu & Gupta, 2017, "To prune, or not to prune: exploring the efficacy of
pruning for model compression"), as seed 003 uses it: "gradually increase sparsity from 50% -> 80%
over 4 fine-tuning epochs".

Every `prune_every` steps the smallest-|w| weights are masked so that the sparsity follows the cubic
schedule s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3 (`methods._schedules.cubic_sparsity`), with
s_f = the run's target; between updates the loop holds the masks. Ranking is over all encoder linear
weights together (global) or inside each matrix (layer-wise), as for one-shot magnitude pruning.

Choices, and where they differ from the paper:

- Start: the dense *fine-tuned* checkpoint, training for the recovery recipe (``starts_from =
  "finetuned"``), as seed 003 does ("train baseline, then prune from 50% to 80% while fine-tuning").
  Zhu & Gupta prune while training the task model itself; here the gradual method gets the same start
  and the same training budget as one-shot `magnitude-*`, so the two differ only in the schedule.
- s_i is a share of the target (`initial_fraction`), not an absolute sparsity, so one default serves
  every target: 0.625 reproduces seed 003's 50% -> 80% at an 80% target (Zhu & Gupta use s_i = 0;
  set `initial_fraction=0` for that). The first mask (s_i) is set before the first step, t0 = 0.
- The schedule spans `pruning_epochs` epochs (seed 003: 4) or, when the phase is shorter, the phase
  less its last `cooldown_fraction` of steps, so the final mask is always trained with (Zhu & Gupta
  stop pruning well before the learning rate runs out, for the same reason).
- Masks are monotone: a pruned weight scores -inf and stays pruned (Zhu & Gupta keep pruned weights
  masked through training). The mask always has exactly round(s_t * n) zeros (per matrix when
  layer-wise), so the final sparsity is the target exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ._masking import masks_from_scores
from ._schedules import cubic_sparsity, is_update_step, pruning_window
from .base import Method, PruneContext


@dataclass(frozen=True)
class Params:
    initial_fraction: float = 0.625  # s_i as a share of the target (0.625: seed 003's 50% -> 80%); 0 = Zhu & Gupta's s_i = 0
    pruning_epochs: float = 4.0  # the cubic schedule spans this many epochs, or the phase less its cool-down if shorter
    prune_every: int = 0  # optimiser steps between mask updates (Zhu & Gupta's dt); 0 = 1% of the phase's steps
    cooldown_fraction: float = 0.2  # last share of the phase trained with the final mask (at least one step)

    def check(self) -> None:
        if not 0.0 <= self.initial_fraction <= 1.0:
            raise ValueError(f"initial_fraction must be in [0, 1], got {self.initial_fraction}")
        if self.pruning_epochs < 0:
            raise ValueError(f"pruning_epochs must be >= 0, got {self.pruning_epochs}")
        if self.prune_every < 0:
            raise ValueError(f"prune_every must be >= 0 (0 = 1% of the steps), got {self.prune_every}")
        if not 0.0 <= self.cooldown_fraction < 1.0:
            raise ValueError(f"cooldown_fraction must be in [0, 1), got {self.cooldown_fraction}")


class _GradualMagnitude(Method):
    kind = "unstructured"
    Params = Params
    on_step_in_place = True  # mask updates copy into the held masks: the step can be a CUDA graph
    scope: ClassVar[str]

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        p = self.params
        span = round(p.pruning_epochs * ctx.steps_per_epoch)
        self.begin, self.end = pruning_window(ctx.total_steps, 0.0, p.cooldown_fraction, max_span=span)
        self.every = p.prune_every or max(1, round(0.01 * ctx.total_steps))
        self.initial = p.initial_fraction * ctx.target_sparsity
        self.updates = 0
        ctx.info["schedule"] = {"initial_sparsity": self.initial, "begin_step": self.begin, "end_step": self.end,
                                "prune_every": self.every, "total_steps": ctx.total_steps}
        self._prune(model, 0, ctx)

    def on_step(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        if step > 0 and is_update_step(step, self.begin, self.end, self.every):
            self._prune(model, step, ctx)

    def after_training(self, model: nn.Module, ctx: PruneContext) -> nn.Module:
        ctx.info["schedule"]["mask_updates"] = self.updates
        return model

    @torch.no_grad()
    def _prune(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        """Mask the smallest |w| among the survivors: already pruned weights score -inf, so they are the
        first to go again and no weight ever grows back."""
        sparsity = cubic_sparsity(step, self.initial, ctx.target_sparsity, self.begin, self.end)
        scores = {}
        for name, weight in ctx.prunable(model).items():
            score = weight.detach().abs().float()
            if name in ctx.masks:
                score = score.masked_fill(ctx.masks[name] == 0, float("-inf"))
            scores[name] = score
        ctx.update_masks(model, masks_from_scores(scores, sparsity, scope=self.scope))
        self.updates += 1


class GradualMagnitudeGlobal(_GradualMagnitude):
    """Zhu & Gupta's cubic schedule of smallest-|w| masks over all encoder linear weights, while fine-tuning."""

    name, scope = "gradual-magnitude-global", "global"


class GradualMagnitudeLayerwise(_GradualMagnitude):
    """Zhu & Gupta's cubic schedule of smallest-|w| masks, every encoder linear matrix at the same rate."""

    name, scope = "gradual-magnitude-layerwise", "layer"

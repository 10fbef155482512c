"""Random unstructured pruning: the floor every pruning criterion has to beat.

Masks are drawn uniformly at random at the target sparsity, from a generator seeded by the run's
seed, either over all encoder linear weights together or per matrix. As in the random baselines of
Frankle & Carbin (2019) and Lee et al. (2019), the mask is applied to the fine-tuned model and held
fixed while the survivors are fine-tuned for the recovery recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ._masking import masks_from_scores
from .base import Method


@dataclass(frozen=True)
class Params:
    scope: Literal["global", "layer"] = "layer"  # layer: every matrix at the target rate; global: one draw over all


class RandomMask(Method):
    """Random masks at the target sparsity (seeded), then recovery fine-tuning: the floor to beat."""

    name, kind, Params = "random", "unstructured", Params
    family_baseline = True  # the leaderboard's reference for methods of the same start (analysis/ranking.py)

    def before_training(self, model, ctx):
        generator = torch.Generator().manual_seed(ctx.seed)
        scores = {n: torch.rand(w.shape, generator=generator) for n, w in ctx.prunable(model).items()}
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope=self.params.scope))

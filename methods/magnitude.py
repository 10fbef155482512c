"""One-shot magnitude pruning, after fine-tuning or at its start.

``magnitude-global`` / ``magnitude-layerwise`` (Han et al., 2015; the protocol of seed 003): the fine-tuned
dense model loses the weights of smallest |w|, ranked over all encoder linear weights together (global) or
inside each matrix (layer-wise); the survivors are then fine-tuned for the recovery recipe with the mask
held fixed.

``magnitude-pretrained``: the same criterion applied to the *pre-trained* weights at the start of
fine-tuning, the mask held for the whole fine-tuning recipe (``epochs`` at ``lr``). It is the baseline of the
prune-at-start family (SNIP, GraSP, movement): Chen et al. (NeurIPS 2020, "The Lottery Ticket Hypothesis
for Pre-trained BERT Networks") compare their tickets with one-shot magnitude pruning of the pre-trained
model, and Sanh, Wolf & Rush (NeurIPS 2020, "Movement Pruning") prune by magnitude during fine-tuning from
the pre-trained weights. A data-driven criterion that scores the pre-trained encoder has to beat this one,
which uses no data at all. ``scope`` = ``global`` (Chen et al.'s single ranking over the encoder) or
``layer`` (each matrix at the target rate, as Sanh et al.'s per-matrix Top-k).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._masking import masks_from_scores
from .base import Method


@dataclass(frozen=True)
class Params:
    pass


class _Magnitude(Method):
    kind = "unstructured"
    Params = Params
    scope: str
    family_baseline = True  # the leaderboard's reference for methods of the same start (analysis/ranking.py)

    def before_training(self, model, ctx):
        scores = {n: w.detach().abs() for n, w in ctx.prunable(model).items()}
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope=self.scope))


class GlobalMagnitude(_Magnitude):
    """Zero the smallest |w| over all encoder linear weights at once, then recover with the mask held."""

    name, scope = "magnitude-global", "global"


class LayerwiseMagnitude(_Magnitude):
    """Zero the smallest |w| of each encoder linear matrix at the same rate, then recover."""

    name, scope = "magnitude-layerwise", "layer"


@dataclass(frozen=True)
class PretrainedParams:
    scope: Literal["global", "layer"] = "global"  # global: one ranking over the encoder (Chen et al.); layer: per matrix


class PretrainedMagnitude(_Magnitude):
    """Zero the smallest |w| of the pre-trained encoder at the start of fine-tuning, mask held throughout."""

    name, Params = "magnitude-pretrained", PretrainedParams
    starts_from = "pretrained"

    @property
    def scope(self) -> str:
        return self.params.scope

"""One-shot magnitude pruning after fine-tuning (Han et al., 2015; the protocol of seed 003).

The fine-tuned dense model loses the weights of smallest |w|, ranked over all encoder linear weights
together (global) or inside each matrix (layer-wise); the survivors are then fine-tuned for the
recovery recipe with the mask held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._masking import masks_from_scores
from .base import Method


@dataclass(frozen=True)
class Params:
    pass


class _Magnitude(Method):
    kind = "unstructured"
    Params = Params
    scope: str

    def before_training(self, model, ctx):
        scores = {n: w.detach().abs() for n, w in ctx.prunable(model).items()}
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope=self.scope))


class GlobalMagnitude(_Magnitude):
    """Zero the smallest |w| over all encoder linear weights at once, then recover with the mask held."""

    name, scope = "magnitude-global", "global"


class LayerwiseMagnitude(_Magnitude):
    """Zero the smallest |w| of each encoder linear matrix at the same rate, then recover."""

    name, scope = "magnitude-layerwise", "layer"

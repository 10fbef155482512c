"""The model variants `prunebench bench-efficiency` times, built from the pre-trained model with the
registered methods' own pruning code.

Timing and FLOPs depend on the shapes and the zero pattern, not on what the weights learned, so the bench
prunes the pre-trained weights directly (no data, no fine-tuning); the accuracy a variant costs comes from
the result rows of the method it stands for (`bench.py`). A variant is named ``dense`` or
``<kind>@<sparsity>``; ``dense-repeat`` is a second dense model, timed as if it were a variant: its speedup
over ``dense`` is the measurement noise (the band inside which no speedup may be claimed):

| kind | what is removed | pruning code |
|---|---|---|
| ``magnitude-global``, ``magnitude-layerwise`` | the smallest \\|w\\| of the encoder linears (masks) | the methods' `before_training` |
| ``magnitude-2of4`` (``@0.5`` only) | 2 of every 4 consecutive input weights (2:4 masks) | the method's `before_training` |
| ``head-pruning`` | that share of each layer's attention heads | `methods._shrink.prune_heads` |
| ``ffn-pruning`` | that share of each layer's FFN neurons | `methods._shrink.prune_ffn` |
| ``head+ffn`` | both of the above | both |
| ``layer-drop`` | that share of the layers, from the top | `methods.layer_drop.layers_to_drop`, `_shrink.drop_layers` |

The structured methods choose units by task gradients and may remove more in one layer than another; the
bench removes the same share in every layer, by weight norm (FFN: the `ffn-pruning` method's own
``criterion=magnitude``). FLOPs and parameters are linear in the number of heads and neurons removed, so
the counts are those of any distribution over layers; timings may differ slightly where layers differ.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from prunebench.benchmarks.errors import UsageError, unknown

DENSE = ("dense", "dense-repeat")  # dense-repeat: a second copy of the dense model, timed as a variant (noise)
MASKED = ("magnitude-global", "magnitude-layerwise", "magnitude-2of4")
STRUCTURED = ("head-pruning", "ffn-pruning", "head+ffn", "layer-drop")
KINDS = (*DENSE, *MASKED, *STRUCTURED)
COMBINED = "head+ffn"  # no single method stands for it, so no result row gives its accuracy


@dataclass(frozen=True)
class Variant:
    kind: str
    sparsity: float = 0.0

    @property
    def name(self) -> str:
        return self.kind if self.kind in DENSE else f"{self.kind}@{self.sparsity:g}"

    @property
    def structured(self) -> bool:
        return self.kind in STRUCTURED

    @property
    def method(self) -> str | None:
        """The registered method whose result rows give this variant's accuracy (None: no such method)."""
        return None if self.kind in (COMBINED, "dense-repeat") else self.kind


def parse_variant(text: str) -> Variant:
    """``dense`` or ``<kind>@<sparsity>``; a bad one raises UsageError naming the valid forms."""
    text = text.strip()
    if text in DENSE:
        return Variant(text)
    kind, sep, value = text.partition("@")
    if kind not in KINDS or kind in DENSE:
        raise unknown("variant kind", kind, KINDS)
    if not sep:
        raise UsageError(f"variant {text!r} needs a sparsity: {kind}@<share in (0, 1)>, e.g. {kind}@0.5")
    try:
        sparsity = float(value)
    except ValueError:
        raise UsageError(f"variant {text!r}: {value!r} is not a number") from None
    if not 0.0 < sparsity < 1.0:
        raise UsageError(f"variant {text!r}: sparsity must be in (0, 1)")
    if kind in MASKED:
        from prunebench.methods.registry import get

        try:
            get(kind).check_sparsity(sparsity)
        except ValueError as exc:
            raise UsageError(f"variant {text!r}: {exc}") from None
    return Variant(kind, sparsity)


@torch.no_grad()
def head_norms(model: nn.Module) -> list[torch.Tensor]:
    """Per layer and head, the l2 norm of the head's rows of Q, K, V (with biases) and columns of the output."""
    from prunebench.methods._shrink import structure
    from prunebench.methods._structure import encoder_layers, head_size, layer_linear

    d, scores = head_size(model), []
    for layer, heads in zip(encoder_layers(model), structure(model)["heads"]):
        sq = torch.zeros(heads, dtype=torch.float64)
        for role in ("query", "key", "value"):
            lin = layer_linear(model, layer, role)
            sq += lin.weight.double().pow(2).reshape(heads, d, -1).sum((1, 2))
            if lin.bias is not None:
                sq += lin.bias.double().pow(2).reshape(heads, d).sum(1)
        out = layer_linear(model, layer, "attn_out").weight.double()
        sq += out.pow(2).reshape(out.shape[0], heads, d).sum((0, 2))
        scores.append(sq.sqrt())
    return scores


def units_removed(share: float, units: int, what: str) -> int:
    """round(share x units), refused (UsageError naming the shares that work) where it would remove none or all:
    a variant must time what its name says, never a silently capped or unpruned model."""
    k = round(share * units)
    if not 1 <= k <= units - 1:
        valid = ("are about " + ", ".join(f"{n / units:.3g}" for n in range(1, units)) if units <= 12
                 else f"run from about {1 / units:.3g} to {(units - 1) / units:.3g}")
        raise UsageError(f"a share of {share:g} of {units} {what} removes {k}; a variant must remove at least one and "
                         f"keep one: valid shares {valid}")
    return k


def _lowest(scores: list[torch.Tensor], share: float, what: str) -> dict[int, list[int]]:
    """The round(share * n) lowest-scoring units of each layer; ties to the lower index."""
    out = {}
    for layer, s in enumerate(scores):
        k = units_removed(share, len(s), what)
        out[layer] = sorted(torch.sort(s, stable=True).indices[:k].tolist())
    return out


def check_fits(variant: Variant, model: nn.Module) -> None:
    """Raise UsageError, before anything is built or timed, if a structured variant's share removes none or all of
    some layer's heads or FFN neurons, or of the layers."""
    from prunebench.methods._shrink import structure

    shape = structure(model)
    try:
        if variant.kind in ("head-pruning", COMBINED):
            for heads in shape["heads"]:
                units_removed(variant.sparsity, heads, "heads per layer")
        if variant.kind in ("ffn-pruning", COMBINED):
            for neurons in shape["ffn"]:
                units_removed(variant.sparsity, neurons, "FFN neurons per layer")
        if variant.kind == "layer-drop":
            units_removed(variant.sparsity, len(shape["ffn"]), "layers")
    except UsageError as exc:
        raise UsageError(f"variant {variant.name}: {exc}") from None


def build(variant: Variant, base: nn.Module) -> nn.Module:
    """A pruned copy of `base` (a fp32 model on the CPU); `base` itself is left as it is. Raises UsageError for a
    structured share that removes none or all of a layer's units (`units_removed`)."""
    from prunebench.methods import _shrink
    from prunebench.methods.base import PruneContext
    from prunebench.methods.ffn_pruning import magnitude_scores
    from prunebench.methods.layer_drop import layers_to_drop
    from prunebench.methods.registry import get

    model = copy.deepcopy(base).eval()
    kind, share = variant.kind, variant.sparsity
    if kind in DENSE:
        return model
    if kind in MASKED:
        ctx = PruneContext(share, None, torch.device("cpu"), 0, loss_fn=None, train_batches=None)
        get(kind)().before_training(model, ctx)
        return model
    if kind in ("head-pruning", COMBINED):
        _shrink.prune_heads(model, _lowest(head_norms(model), share, "heads per layer"))
    if kind in ("ffn-pruning", COMBINED):
        _shrink.prune_ffn(model, _lowest(magnitude_scores(model), share, "FFN neurons per layer"))
    if kind == "layer-drop":
        total = len(_shrink.structure(model)["ffn"])
        _shrink.drop_layers(model, layers_to_drop(total, units_removed(share, total, "layers"), "top"))
    if kind not in STRUCTURED:
        raise ValueError(f"unknown variant kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return model

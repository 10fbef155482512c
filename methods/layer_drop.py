"""Layer dropping before fine-tuning: Sajjad, Dalvi, Durrani & Nakov (2020), "On the Effect of Dropping
Layers of Pre-trained Transformer Models" (arXiv:2004.03844; Computer Speech & Language 2023).

Sajjad et al. remove whole encoder layers from the *pre-trained* model by a fixed rule and then fine-tune
the smaller model on the task; no importance is computed. Their rules, for K of L layers (paper numbering
1..L, bottom to top; the code below numbers 0..L-1):

- ``top``: drop the last K layers (the paper's best rule: the upper layers are the most task-specific).
- ``bottom``: drop the first K layers.
- ``even-alternate``: drop every other layer from the top, starting with the last (L, L-2, ...).
- ``odd-alternate``: drop every other layer from the top, starting one below it (L-1, L-3, ...).
- ``symmetric``: drop K consecutive middle layers, keeping the bottom and top ones.

(The paper's contribution-based rule, which needs activation statistics, is not implemented.)

Protocol choices: ``ctx.target_sparsity`` is the share of layers dropped, K = round(target * L), which
must leave at least one layer; even-alternate can drop at most ceil(L / 2) layers and odd-alternate
floor(L / 2). A target outside that fails with the reason rather than switching rules. As in the paper, the method starts from the pre-trained weights (``starts_from =
"pretrained"``) and trains the full fine-tuning recipe. The layers leave the model physically (the encoder's
ModuleList and the config's layer count shrink), so a plain `from_pretrained` reloads it. Every layer
holds the same weights, so the row's `achieved_sparsity` is K / L, and the default tolerance holds
whenever target * L is an integer (as at 50% of 2, 6 or 12 layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from . import _shrink
from .base import Method, PruneContext

STRATEGIES = ("top", "bottom", "even-alternate", "odd-alternate", "symmetric")


@dataclass(frozen=True)
class Params:
    strategy: Literal["top", "bottom", "even-alternate", "odd-alternate", "symmetric"] = "top"  # which layers go


def layers_to_drop(num_layers: int, k: int, strategy: str) -> list[int]:
    """Indices (0 = bottom) of the `k` layers the strategy removes from a `num_layers`-layer encoder."""
    if not 0 <= k < num_layers:
        raise ValueError(f"cannot drop {k} of {num_layers} layers: at least one must stay")
    if strategy == "top":
        return list(range(num_layers - k, num_layers))
    if strategy == "bottom":
        return list(range(k))
    if strategy in ("even-alternate", "odd-alternate"):
        first = num_layers - 1 if strategy == "even-alternate" else num_layers - 2
        candidates = list(range(first, -1, -2))
        if k > len(candidates):
            raise ValueError(f"{strategy} can drop at most {len(candidates)} of {num_layers} layers, not {k}")
        return sorted(candidates[:k])
    if strategy == "symmetric":
        start = (num_layers - k) // 2
        return list(range(start, start + k))
    raise ValueError(f"unknown strategy {strategy!r}; valid strategies: {', '.join(STRATEGIES)}")


def _drops(num_layers: int, k: int, strategy: str) -> bool:
    try:
        layers_to_drop(num_layers, k, strategy)
    except ValueError:
        return False
    return True


class LayerDrop(Method):
    """Sajjad et al. 2020: drop whole encoder layers (top, bottom, alternate, symmetric) from the pre-trained model, then fine-tune."""

    name, kind, version, Params = "layer-drop", "structured", 1, Params
    starts_from = "pretrained"

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """K = round(target * L) must be a number of layers the strategy can drop and leave one: refused up front
        (it used to fail in `before_training`, after the dense model was fine-tuned)."""
        if fit.layers is None:
            return
        k = round(sparsity * fit.layers)
        valid = [j for j in range(1, fit.layers) if _drops(fit.layers, j, params.strategy)]
        if k not in valid:
            shares = ", ".join(f"{j / fit.layers:.3g}" for j in valid) or "none"
            raise ValueError(f"layer-drop at sparsity {sparsity:g} drops {k} of {fit.layers} layers (round(sparsity x layers)); "
                             f"strategy {params.strategy} can drop 1 to {max(valid, default=0)} and keep one; "
                             f"valid sparsities: {shares}")

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        before = _shrink.structure(model)
        total = len(before["ffn"])
        drop = layers_to_drop(total, round(ctx.target_sparsity * total), self.params.strategy)
        _shrink.drop_layers(model, drop)
        ctx.info.update(
            layers_dropped=drop,
            layers_total=total,
            layer_fraction=len(drop) / total,
            params_total=sum(p.numel() for p in model.parameters()),
            shapes=_shrink.shapes(model),
        )

"""LoRA fine-tuning combined with magnitude pruning, in both orders (the question of seed 000).

``order="lora-first"``: LoRA fine-tunes the pre-trained encoder (Hu et al. 2022, "LoRA: Low-Rank
Adaptation of Large Language Models", through `peft`; rank-r adapters on every encoder linear layer,
the classification head trained fully), the adapters are merged into the weights, the merged model is
pruned by global magnitude to the target, and the survivors are fine-tuned for the recovery recipe.
``order="prune-first"``: the pre-trained encoder is pruned by global magnitude first, LoRA fine-tunes
the pruned network, and the merged model is re-masked (a merged low-rank update is dense, so without it
the pruned weights would come back) before the same recovery fine-tuning. The two rows differ only in
the order, so the comparison seed 000 asks for is direct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ._masking import masks_from_scores
from ._structure import prunable
from .base import Method


@dataclass(frozen=True)
class Params:
    order: Literal["lora-first", "prune-first"] = "lora-first"
    rank: int = 8  # LoRA rank r
    alpha: int = 16  # LoRA scaling numerator (update scaled by alpha / rank)
    lora_dropout: float = 0.1
    lora_lr: float = 5e-4  # adapters want a larger rate than full fine-tuning (Hu et al. use 4e-4-5e-4 on GLUE)
    lora_epochs: float = 0.0  # 0 = the recipe's dense fine-tuning epochs

    def check(self) -> None:
        from prunebench.benchmarks.errors import UsageError

        if self.rank < 1 or self.alpha < 1:
            raise UsageError("lora-prune rank and alpha must be >= 1")
        if not 0 <= self.lora_dropout < 1 or not 0 < self.lora_lr < 1 or self.lora_epochs < 0:
            raise UsageError("lora-prune: lora_dropout in [0, 1), lora_lr in (0, 1), lora_epochs >= 0")


def lora_wrap(model, rank: int, alpha: int, dropout: float):
    """`model` with LoRA adapters on every encoder linear layer; only adapters and the head train."""
    from peft import LoraConfig, TaskType, get_peft_model

    # a regex of the full names, so that e.g. BERT's pooler `dense` is not adapted along with the FFN `dense`
    targets = "|".join(re.escape(name) for name, _ in prunable(model))
    heads = [n for n in ("pre_classifier", "classifier") if hasattr(model, n)]  # DistilBERT's head has two layers
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=targets, modules_to_save=heads)
    return get_peft_model(model, config)


class LoraPrune(Method):
    """LoRA fine-tune, merge, prune by global magnitude, fine-tune (or prune first: --param order=prune-first)."""

    name, kind, Params = "lora-prune", "combined", Params
    starts_from = "pretrained"

    def training_phase(self, recipe):
        return recipe.recovery_epochs, recipe.recovery_lr  # the loop's phase is the final fine-tuning

    def _prune(self, model, ctx) -> None:
        scores = {n: w.detach().abs() for n, w in ctx.prunable(model).items()}
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope="global"))

    def before_training(self, model, ctx):
        p = self.params
        if p.order == "prune-first":
            self._prune(model, ctx)
        elif p.order != "lora-first":
            raise ValueError(f"unknown order {p.order!r}; valid: lora-first, prune-first")
        masks, ctx.masks = ctx.masks, {}  # parameter names change inside the peft wrapper
        wrapped = lora_wrap(model, p.rank, p.alpha, p.lora_dropout)
        trainable = sum(t.numel() for t in wrapped.parameters() if t.requires_grad)
        epochs = p.lora_epochs or ctx.recipe.epochs
        wrapped = ctx.train(wrapped, epochs, p.lora_lr, desc="lora")
        merged = wrapped.merge_and_unload()
        if merged is not model:  # merge_and_unload hands back the same module tree with adapters folded in
            model.load_state_dict(merged.state_dict())
        model.requires_grad_(True)
        if p.order == "prune-first":
            ctx.set_masks(model, masks)  # the merged update is dense: pruned weights return to zero
        else:
            self._prune(model, ctx)
        ctx.info.update({"lora_trainable_params": trainable, "lora_epochs": epochs, "order": p.order})


@dataclass(frozen=True)
class PruneFirstParams(Params):
    order: Literal["lora-first", "prune-first"] = "prune-first"


class PruneLora(LoraPrune):
    """Prune the pre-trained encoder by global magnitude, LoRA fine-tune it, merge, re-mask, fine-tune."""

    name, Params = "prune-lora", PruneFirstParams

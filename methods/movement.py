"""Movement pruning and soft movement pruning (Sanh, Wolf & Rush, 2020, "Movement Pruning: Adaptive
Sparsity by Fine-Tuning").

Magnitude keeps the weights far from zero; movement keeps the weights that fine-tuning moves away from
zero. Every prunable weight W gets a learned importance score S; the forward pass uses W' = W ⊙ M(S),
and since the mask is a step function of S, the paper trains S with the straight-through estimator
dL/dS := dL/dW' ⊙ W, so after T steps S = -sum_t lr * W * dL/dW (the weight's "movement").

- ``movement`` (hard): M = Top_v(S), the scores of the top v share of each matrix. The remaining ratio
  v follows the cubic schedule from 1 to 1 - target after a warm-up without pruning and before a
  cool-down at the final ratio (`methods._schedules`).
- ``soft-movement``: M = (sigmoid(S) > tau) with a threshold tau that rises cubically, and an L1 term
  lambda * mean(sigmoid(S)) pushing scores down, lambda = final_lambda * tau / final_threshold as in the
  reference implementation. (The paper writes M = S > tau; thresholding sigmoid(S) is the same rule with
  tau on a (0, 1) scale, which is how its code and its published hyper-parameters state it.)

How it plugs into PruneBench: the mask is a parametrisation of each encoder `nn.Linear` weight
(`torch.nn.utils.parametrize`), so Hugging Face forward signatures never change; the scores live outside
the model and reach AdamW through `param_groups` (their own learning rate `score_lr`, 1e-2 as in the
paper, no weight decay); masks are recomputed from the scores after every optimiser step (`on_step`);
`after_training` bakes W <- W ⊙ M, removes the parametrisations (a plain HF model is saved and measured)
and hands the final mask to `ctx.masks`. Both methods start from the pre-trained weights and train for
the full fine-tuning recipe, as the paper prunes during fine-tuning.

Choices, and where they differ from the paper:

- Warm-up and cool-down are shares of the phase's steps (defaults 10% and 20%). The paper gives them in
  units of its learning-rate warm-up steps (1x and 2x of 5,400 steps in 10 epochs of SQuAD, i.e. about
  one epoch of warm-up and two of cool-down out of ten: the same shares).
- Hard Top_v is taken per matrix (``scope="layer"``, as in the reference code); ``scope="global"``
  ranks all encoder weights together.
- Soft movement reaches no exact sparsity on its own: it is whatever lambda and tau yield. A benchmark
  row is tied to a target, so with ``calibrate=true`` (default) the cool-down uses the threshold that
  meets the target exactly (one threshold for all matrices, as the paper's tau is shared): the mask of
  the cool-down and the final mask keep the top (1 - target) scores over all encoder weights. The
  sparsity the paper's own final threshold would have given (at the end of the schedule and on the final
  scores) goes into ``ctx.info``, so the gap is visible. With ``calibrate=false`` the paper's rule is kept
  to the end and the row's achieved sparsity is what it gives (the target is then only nominal).
- Scores start at 0 ("constant" init with scale 0, as in the paper's runs); the regulariser averages
  mean(sigmoid(S)) over the matrices, as the reference code does. Distillation from a dense teacher,
  which the paper also reports, is not part of these two methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils import parametrize

from . import _structure
from ._masking import masks_from_scores
from ._schedules import cubic_sparsity, pruning_window
from .base import Method, PruneContext


class MaskedWeight(torch.autograd.Function):
    """W' = W ⊙ M with the paper's straight-through estimator: the mask is piecewise constant in S, so
    its true gradient is zero almost everywhere; the paper uses dL/dS := dL/dM = dL/dW' ⊙ W instead.
    The weight gets the ordinary gradient dL/dW' ⊙ M, so masked weights do not learn."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weight, mask)
        return weight * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        weight, mask = ctx.saved_tensors
        grad_weight = grad * mask if ctx.needs_input_grad[0] else None
        grad_scores = grad * weight if ctx.needs_input_grad[1] else None
        return grad_weight, grad_scores, None


class _MaskedParametrization(nn.Module):
    """The parametrisation W -> W ⊙ M(S) of one linear weight. It holds its scores through the shared
    `ScoredMasks`, not as a submodule parameter, so the model's parameter list (and with it AdamW's
    default groups) stays that of the plain model."""

    def __init__(self, owner: "ScoredMasks", key: str):
        super().__init__()
        self.owner, self.key = owner, key

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return MaskedWeight.apply(weight, self.owner.scores[self.key], self.owner.masks[self.key])


class ScoredMasks:
    """Scores and current binary masks of a set of linear layers (keyed by weight parameter name, like
    `ctx.masks`), attached to the weights as parametrisations until `remove` bakes the mask in."""

    def __init__(self, linears: dict[str, nn.Linear]):
        self.linears = linears
        self.scores = {k: nn.Parameter(torch.zeros_like(m.weight, dtype=torch.float32)) for k, m in linears.items()}
        self.masks = {k: torch.ones_like(m.weight) for k, m in linears.items()}
        for key, linear in linears.items():
            parametrize.register_parametrization(linear, "weight", _MaskedParametrization(self, key))

    @classmethod
    def of_model(cls, model: nn.Module) -> "ScoredMasks":
        return cls({f"{name}.weight": module for name, module in _structure.prunable(model)})

    @torch.no_grad()
    def set_masks(self, masks: dict[str, torch.Tensor]) -> None:
        for key, mask in masks.items():
            self.masks[key].copy_(mask)

    def keep_masks(self) -> dict[str, torch.Tensor]:
        return {k: m.bool() for k, m in self.masks.items()}

    @torch.no_grad()
    def remove(self) -> dict[str, torch.Tensor]:
        """Detach from the model, leaving plain `nn.Linear`s with W <- W ⊙ M; returns the final keep-masks."""
        masks = self.keep_masks()
        for key, linear in self.linears.items():
            parametrize.remove_parametrizations(linear, "weight", leave_parametrized=False)
            linear.weight.mul_(self.masks[key])
        self.scores, self.masks, self.linears = {}, {}, {}
        return masks


def _check_fractions(params) -> None:
    if params.score_lr <= 0:
        raise ValueError(f"score_lr must be > 0, got {params.score_lr}")
    if not (0.0 <= params.warmup_fraction < 1.0 and 0.0 <= params.cooldown_fraction < 1.0):
        raise ValueError("warmup_fraction and cooldown_fraction must be in [0, 1)")
    if params.warmup_fraction + params.cooldown_fraction >= 1.0:
        raise ValueError("warmup_fraction + cooldown_fraction must leave steps to prune in (< 1)")


class _Movement(Method):
    kind = "unstructured"
    starts_from = "pretrained"

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        p = self.params
        self.begin, self.end = pruning_window(ctx.total_steps, p.warmup_fraction, p.cooldown_fraction)
        self.step = 0
        self.state = ScoredMasks.of_model(model)
        ctx.info["schedule"] = {"begin_step": self.begin, "end_step": self.end, "total_steps": ctx.total_steps}
        self._update(0, ctx)

    def param_groups(self, model: nn.Module, ctx: PruneContext) -> list[dict]:
        return [{"params": list(self.state.scores.values()), "lr": self.params.score_lr, "weight_decay": 0.0}]

    def on_step(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        self.step = step
        self._update(step, ctx)

    def after_training(self, model: nn.Module, ctx: PruneContext) -> nn.Module:
        self._report(ctx)
        ctx.set_masks(model, self.state.remove())
        return model

    def _update(self, step: int, ctx: PruneContext) -> None:
        raise NotImplementedError

    def _report(self, ctx: PruneContext) -> None:
        pass


@dataclass(frozen=True)
class Params:
    score_lr: float = 1e-2  # AdamW learning rate of the scores (paper: 1e-2), linearly scheduled like the weights'
    scope: Literal["layer", "global"] = "layer"  # Top_v per matrix (reference code) or over all encoder weights
    warmup_fraction: float = 0.1  # first share of the steps: no pruning (scores already learn)
    cooldown_fraction: float = 0.2  # last share of the steps: final remaining ratio

    def check(self) -> None:
        _check_fractions(self)


class Movement(_Movement):
    """Movement pruning (hard top-k of learned scores, straight-through), fine-tuning from pre-trained weights."""

    name, Params = "movement", Params

    @torch.no_grad()
    def _update(self, step: int, ctx: PruneContext) -> None:
        sparsity = cubic_sparsity(step, 0.0, ctx.target_sparsity, self.begin, self.end)  # = 1 - remaining ratio
        self.state.set_masks(masks_from_scores(self.state.scores, sparsity, scope=self.params.scope))


@dataclass(frozen=True)
class SoftParams:
    score_lr: float = 1e-2  # AdamW learning rate of the scores (paper: 1e-2)
    initial_threshold: float = 0.0  # tau on sigmoid(S) at the start of the schedule (paper: 0, nothing masked)
    final_threshold: float = 0.1  # tau on sigmoid(S) at its end (paper: 0.1)
    final_lambda: float = 400.0  # weight of mean(sigmoid(S)) once tau is final (paper's SQuAD command: 400)
    warmup_fraction: float = 0.1  # first share of the steps: no pruning
    cooldown_fraction: float = 0.2  # last share of the steps: final threshold
    calibrate: bool = True  # cool-down and final mask at exactly the target sparsity (one threshold for all matrices)

    def check(self) -> None:
        _check_fractions(self)
        if not 0.0 <= self.initial_threshold <= self.final_threshold < 1.0 or self.final_threshold <= 0.0:
            raise ValueError("thresholds must satisfy 0 <= initial_threshold <= final_threshold < 1, final_threshold > 0")
        if self.final_lambda < 0:
            raise ValueError(f"final_lambda must be >= 0, got {self.final_lambda}")


class SoftMovement(_Movement):
    """Soft movement pruning (sigmoid(score) > rising threshold, L1 on the scores), calibrated to the target."""

    name, Params = "soft-movement", SoftParams
    # exact with the default calibrate=true (a quantile threshold); with calibrate=false the row has the
    # sparsity lambda and tau yield, which this tolerance does not describe (see the module docstring)
    sparsity_tolerance = 0.005

    def threshold(self, step: int) -> float:
        p = self.params
        return cubic_sparsity(step, p.initial_threshold, p.final_threshold, self.begin, self.end)

    def regularization_weight(self, step: int) -> float:
        """lambda_t = final_lambda * tau_t / final_threshold: the penalty grows with the threshold."""
        return self.params.final_lambda * self.threshold(step) / self.params.final_threshold

    def extra_loss(self, model: nn.Module, batch: dict, outputs: Any, ctx: PruneContext) -> torch.Tensor | None:
        weight = self.regularization_weight(self.step)
        if weight == 0.0:
            return None
        return weight * torch.stack([torch.sigmoid(s).mean() for s in self.state.scores.values()]).mean()

    @torch.no_grad()
    def _threshold_sparsity(self) -> float:
        """Share of encoder weights the paper's final threshold would prune on the current scores."""
        tau = self.params.final_threshold
        pruned = sum(int((torch.sigmoid(s) <= tau).sum()) for s in self.state.scores.values())
        return pruned / sum(s.numel() for s in self.state.scores.values())

    @torch.no_grad()
    def _update(self, step: int, ctx: PruneContext) -> None:
        if step >= self.end and "threshold_sparsity_at_schedule_end" not in ctx.info:
            ctx.info["threshold_sparsity_at_schedule_end"] = self._threshold_sparsity()
        if self.params.calibrate and step >= self.end:
            self.state.set_masks(masks_from_scores(self.state.scores, ctx.target_sparsity, scope="global"))
            return
        tau = self.threshold(step)
        self.state.set_masks({k: torch.sigmoid(s) > tau for k, s in self.state.scores.items()})

    @torch.no_grad()
    def _report(self, ctx: PruneContext) -> None:
        ctx.info["threshold_sparsity_final"] = self._threshold_sparsity()
        if self.params.calibrate:
            pruned = [torch.sigmoid(s)[m == 0] for s, m in zip(self.state.scores.values(), self.state.masks.values())]
            pruned = torch.cat([p.reshape(-1) for p in pruned])
            # keep = sigmoid(S) > this value (up to ties at the boundary, broken by position)
            ctx.info["calibrated_threshold"] = float(pruned.max()) if pruned.numel() else 0.0

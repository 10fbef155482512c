"""Knowledge distillation from the dense fine-tuned teacher into a pruned student, around any method.

The student's loss is the task loss on the gold labels plus ``kd_weight`` · T² · KL(softmax(t/T) ‖
softmax(s/T)) between teacher and student logits (Hinton, Vinyals & Dean 2015, "Distilling the
Knowledge in a Neural Network"; the T² factor keeps the soft-target gradients on the scale of the hard
ones), as used for pruned BERT students by Sanh et al. 2020 (movement pruning with distillation) and
Lagunas et al. 2021. For regression (STS-B) the soft target is the teacher's prediction and the term is
their squared error. An optional hidden-state term adds ``hidden_weight`` · MSE between the last-layer
hidden states of student and teacher (the "patient" hidden-state loss of Sun et al. 2019, on the last
layer only, so it applies to any pruning method that keeps the hidden size, layer dropping included).

Composable: ``--method distillation --param base=<method>`` runs the base method's hooks unchanged
(its masks, schedules, structural changes) and adds the distillation terms; the teacher is the same
dense checkpoint the row's ``dense_score`` comes from. The base method runs with its default parameters unless
``base_params`` gives others (``--param base_params=damp=0.1,calibration_sequences=128``), so distillation can
wrap a base method's tuned recipe, and the row's ``method_params`` records which one it wrapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import Method


@dataclass(frozen=True)
class Params:
    base: str = "magnitude-global"  # the pruning method whose hooks run; any registered method but this one
    temperature: float = 2.0  # softens both distributions (T)
    kd_weight: float = 1.0  # weight of the soft-target term next to the gold-label loss (weight 1)
    hidden_weight: float = 0.0  # weight of the last-layer hidden-state MSE (0 = off)
    base_params: str = ""  # the base method's own parameters, "key=value,key=value" (empty: its defaults)

    def check(self) -> None:
        from prunebench.benchmarks.errors import UsageError

        if self.temperature <= 0:
            raise UsageError(f"distillation temperature must be > 0, got {self.temperature}")
        if self.kd_weight < 0 or self.hidden_weight < 0:
            raise UsageError("distillation weights must be >= 0")
        if self.base == "distillation":
            raise UsageError("distillation cannot wrap itself; choose a pruning method as base")
        base_params(self)  # an unknown base, or a key or value it does not take, fails here, naming the valid ones


def base_params(params: Params):
    """The base method's ``Params`` from ``params.base_params``; raises UsageError (via the registry and the base's
    own parsing) on an unknown base, a malformed pair, an unknown key or an ill-typed value."""
    from prunebench.benchmarks.config import split_pair

    from .registry import get

    base_cls = get(params.base)
    pairs = [p for p in params.base_params.split(",") if p.strip()]
    what = f"distillation base_params ({params.base})"
    return base_cls.parse_params(dict(split_pair(p, what) for p in pairs))


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float,
                      regression: bool) -> torch.Tensor:
    """T²·KL(teacher ‖ student) on temperature-softened distributions; squared error for regression."""
    if regression:
        return F.mse_loss(student_logits.float(), teacher_logits.float())
    t = temperature
    return F.kl_div(F.log_softmax(student_logits.float() / t, dim=-1), F.log_softmax(teacher_logits.float() / t, dim=-1),
                    reduction="batchmean", log_target=True) * t * t


def hidden_state_loss(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """MSE between last-layer hidden states over real (non-padding) tokens."""
    mask = attention_mask.unsqueeze(-1).to(student_hidden.dtype)
    diff = (student_hidden.float() - teacher_hidden.float()) ** 2 * mask
    return diff.sum() / (mask.sum() * student_hidden.shape[-1]).clamp_min(1)


class Distillation(Method):
    """Any pruning method (--param base=NAME) trained with soft targets from the dense fine-tuned teacher."""

    name, kind, Params = "distillation", "distillation", Params

    def __init__(self, params=None):
        super().__init__(params)
        from .registry import get

        self.base = get(self.params.base)(base_params(self.params))
        self._teacher = None

    @classmethod
    def parts(cls, params) -> dict[str, str]:
        """The base runs inside distillation: it must accept the run's target (checked by `check_method`)."""
        return {"base": params.base}

    @property
    def starts_from(self) -> str:  # type: ignore[override]
        return self.base.starts_from

    @property
    def trains(self) -> bool:  # type: ignore[override]
        return self.base.trains

    def training_phase(self, recipe):
        return self.base.training_phase(recipe)

    def before_training(self, model, ctx):
        self.base.before_training(model, ctx)
        self._teacher = ctx.teacher()
        if self.params.hidden_weight > 0:
            model.config.output_hidden_states = True  # the loop's forward then returns them: no second pass
        ctx.info["distillation_base"] = self.params.base

    def param_groups(self, model, ctx):
        return self.base.param_groups(model, ctx)

    def extra_loss(self, model, batch, outputs, ctx):
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        want_hidden = self.params.hidden_weight > 0
        with torch.no_grad():
            teacher_out = self._teacher(**inputs, output_hidden_states=want_hidden)
        loss = self.params.kd_weight * distillation_loss(outputs.logits, teacher_out.logits, self.params.temperature, ctx.task.is_regression)
        if want_hidden:
            loss = loss + self.params.hidden_weight * hidden_state_loss(
                outputs.hidden_states[-1], teacher_out.hidden_states[-1], batch["attention_mask"])
        base_extra = self.base.extra_loss(model, batch, outputs, ctx)
        return loss if base_extra is None else loss + base_extra

    def on_step(self, model, step, ctx):
        self.base.on_step(model, step, ctx)

    def after_training(self, model, ctx):
        self._teacher = None  # free the teacher before efficiency is measured
        model.config.output_hidden_states = False
        return self.base.after_training(model, ctx)

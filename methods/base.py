"""The method plugin contract.

A method is a class with a name, a kind, a version, a ``Params`` dataclass of its parameters with
defaults, and up to six hooks the one training loop (`benchmarks.train.finetune`) calls:

    before_training(model, ctx)        prune one-shot, compute SNIP/GraSP scores, rewind weights ...
    param_groups(model, ctx)           extra optimiser groups (e.g. movement scores)
    extra_loss(model, batch, out, ctx) a term added to the task loss (distillation, regularisers)
    on_step(model, step, ctx)          after every optimiser step (gradual schedules, movement)
    after_training(model, ctx)         returns the final model (e.g. physically smaller)

``starts_from`` says whether the method starts from the dense fine-tuned checkpoint (and trains for
the recovery recipe) or from the pre-trained weights (and trains for the full fine-tuning recipe).
Masks live in ``ctx.masks``; the loop re-applies them after every step, so pruned weights stay zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

import torch
from torch import nn

from prunebench.benchmarks.config import parse_overrides

from . import _masking, _structure

KINDS = ("baseline", "unstructured", "semi-structured", "structured", "distillation", "combined")
STARTS_FROM = ("finetuned", "pretrained")


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass
class PruneContext:
    """What a method may see of the run: target, task, data, loss, and the masks it sets."""

    target_sparsity: float
    task: Any  # benchmarks.tasks.GlueTask
    device: torch.device
    seed: int
    loss_fn: Callable[[nn.Module, dict], torch.Tensor]  # task loss of a batch (used by data-driven criteria)
    train_batches: Callable[[], Iterator[dict]]  # a fresh pass over training batches
    steps_per_epoch: int = 0
    total_steps: int = 0  # of the training phase the hooks run in; set by the loop
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # facts a method reports (go into `method_params`)
    # Provided by the runner (None in unit tests that build a context by hand):
    # train(model, epochs, lr, hooks=None, desc="") -> model: the shared loop, for methods with inner phases
    # (lottery-ticket rounds, LoRA then prune); `hooks` is a Method whose hooks run in that phase
    # (default: none, with ctx.masks held). It runs on a child context, so the outer step counts stay.
    train: Callable[..., nn.Module] | None = None
    # teacher() -> the dense fine-tuned model of the same run (eval mode, frozen), e.g. for distillation
    teacher: Callable[[], nn.Module] | None = None
    # pretrained() -> a fresh copy of the pre-trained weights with a new task head (seeded like the run)
    pretrained: Callable[[], nn.Module] | None = None
    recipe: Any = None  # benchmarks.config.TrainConfig of the run (epochs, lr, recovery recipe, batch size)

    def prunable(self, model: nn.Module) -> dict[str, torch.Tensor]:
        return _structure.prunable_weights(model)

    def set_masks(self, model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
        """Store masks in the weights' dtype and device once, and apply them now."""
        params = dict(model.named_parameters())
        self.masks = {n: m.to(device=params[n].device, dtype=params[n].dtype) for n, m in masks.items()}
        self.apply_masks(model)

    def update_masks(self, model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
        """Like `set_masks`, but writes into the mask tensors already held, so a training step captured as a
        CUDA graph (which holds those tensors) applies the new masks on its next replay."""
        if set(masks) != set(self.masks):
            self.set_masks(model, masks)
            return
        with torch.no_grad():
            for name, mask in masks.items():
                self.masks[name].copy_(mask)
        self.apply_masks(model)

    def apply_masks(self, model: nn.Module) -> None:
        _masking.apply_masks(model, self.masks)


class Method:
    """Base class: every hook is a no-op, so a method writes only the hooks it needs."""

    name: ClassVar[str]
    kind: ClassVar[str]
    version: ClassVar[int] = 1
    Params: ClassVar[type] = NoParams
    valid_sparsities: ClassVar[tuple[float, ...] | None] = None  # None: any target in [0, 1); else only these
    starts_from: ClassVar[str] = "finetuned"
    trains: ClassVar[bool] = True  # False: evaluated as it comes (the dense baseline)
    sparsity_tolerance: ClassVar[float] = 0.005  # |achieved - target| a test allows
    # True when `on_step` changes no tensor the step reads except in place (e.g. through ctx.update_masks):
    # the step stays a static tensor program and on_step runs between CUDA-graph replays
    on_step_in_place: ClassVar[bool] = False

    def __init__(self, params: Any = None):
        self.params = params if params is not None else self.Params()

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def check_sparsity(cls, sparsity: float) -> None:
        """Refuse a target the method cannot reach (e.g. 2:4 is exactly 0.5), before anything is computed."""
        if cls.valid_sparsities is not None and sparsity not in cls.valid_sparsities:
            valid = ", ".join(f"{s:g}" for s in cls.valid_sparsities)
            raise ValueError(f"method {cls.name!r} prunes to a fixed sparsity: got {sparsity:g}, valid: {valid}")

    @classmethod
    def parse_params(cls, overrides: dict[str, Any]) -> Any:
        """Build ``Params`` from ``key=value`` pairs, each checked against the declared fields and types."""
        params = parse_overrides(cls.Params(), overrides, what=f"method {cls.name!r} parameter")
        if hasattr(params, "check"):
            params.check()
        return params

    def training_phase(self, recipe: Any) -> tuple[float, float]:
        """(epochs, peak lr) of the training the loop runs around the hooks: the recovery recipe after a
        fine-tuned start, the full fine-tuning recipe after a pre-trained one. Override for other phases."""
        if self.starts_from == "finetuned":
            return recipe.recovery_epochs, recipe.recovery_lr
        if self.starts_from == "pretrained":
            return recipe.epochs, recipe.lr
        raise ValueError(f"unknown starts_from {self.starts_from!r}; valid: {', '.join(STARTS_FROM)}")

    @property
    def static_step(self) -> bool:
        """True when every training step is the same tensor program (no per-step Python in the hooks),
        so the loop may capture it once as a CUDA graph and replay it."""
        cls = type(self)
        return (cls.on_step is Method.on_step or cls.on_step_in_place) and cls.extra_loss is Method.extra_loss

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    # --- hooks -------------------------------------------------------------------------------
    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        pass

    def param_groups(self, model: nn.Module, ctx: PruneContext) -> list[dict]:
        return []

    def extra_loss(self, model: nn.Module, batch: dict, outputs: Any, ctx: PruneContext) -> torch.Tensor | None:
        return None

    def on_step(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        pass

    def after_training(self, model: nn.Module, ctx: PruneContext) -> nn.Module:
        return model

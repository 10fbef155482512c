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
# kinds whose methods prune inside another recipe (a teacher, LoRA): the analysis groups them as one family
RECIPE_KINDS = ("distillation", "combined")
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
    # evaluate(model) -> (metrics, score): the run's evaluation of `model` as it is now (all eval splits, the
    # row's metrics and primary score); see `record_score_before_recovery`
    evaluate: Callable[[nn.Module], tuple[dict[str, float], float]] | None = None

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

    def record_score_before_recovery(self, model: nn.Module) -> None:
        """Evaluate `model` now (after a one-shot pruning step, before any recovery training) and keep the result
        in the row: ``info["score_before_recovery"]`` (0-100, like `score`) and ``info["metrics_before_recovery"]``,
        which land in the row's `method_params` JSON under ``"_info"``. One-shot methods call this at the end of
        `before_training`, once their masks are applied: it is the number their papers report (e.g. SparseGPT's
        tables have no retraining). The evaluation's time counts in the row's `train_seconds`. A context
        without an evaluator (unit tests building one by hand) records nothing."""
        if self.evaluate is None:
            return
        was_training = model.training
        metrics, score = self.evaluate(model)
        model.train(was_training)
        self.info["score_before_recovery"] = score
        self.info["metrics_before_recovery"] = metrics


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
        """Refuse a target the method cannot reach (e.g. 2:4 is exactly 0.5; the dense baseline prunes nothing),
        before anything is computed."""
        if cls.trains is False and sparsity != 0.0:  # `is`: a composite may make `trains` a property of its parts
            raise ValueError(f"method {cls.name!r} does not prune: use --sparsity 0")
        if cls.valid_sparsities is not None and sparsity not in cls.valid_sparsities:
            valid = ", ".join(f"{s:g}" for s in cls.valid_sparsities)
            raise ValueError(f"method {cls.name!r} prunes to a fixed sparsity: got {sparsity:g}, valid: {valid}")

    @classmethod
    def parts(cls, params: Any) -> dict[str, str]:
        """The registered methods this one runs inside itself, as {parameter: method name} (distillation's
        ``base``). `check_method` holds every part to its own checks at the run's target, so a composite never
        accepts what a part would refuse. Default: none."""
        return {}

    @classmethod
    def check_fit(cls, params: Any, sparsity: float, fit: "Fit") -> None:
        """Refuse, with a ValueError naming the value, the limit and the valid range, a target or parameter this
        model or training split cannot take (more layers than the model has, more scoring batches than the split
        gives). Called before any compute; a field of `fit` that is None is not known yet and not checked.
        Default: nothing to check."""

    @classmethod
    def parse_params(cls, overrides: dict[str, Any]) -> Any:
        """Build ``Params`` from ``key=value`` pairs, each checked against the declared fields and types."""
        params = parse_overrides(cls.Params(), overrides, what=f"method {cls.name!r} parameter")
        if hasattr(params, "check"):
            try:
                params.check()
            except ValueError as exc:  # a range check of the Params: say whose, as a type error of them does
                text = str(exc)
                raise type(exc)(text if text.startswith(cls.name) else f"method {cls.name!r}: {text}") from None
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


@dataclass(frozen=True)
class Fit:
    """What a run's values must fit, known before any compute: the model's shape (read from its config, no
    weights) and the training split. None where not known: validating a workflow config reads each model's
    config but no data, so `train_examples` is None there."""

    model_type: str | None = None
    layers: int | None = None  # encoder layers
    heads: int | None = None  # attention heads per layer
    ffn: int | None = None  # FFN neurons per layer
    max_positions: int | None = None  # position embeddings: the longest input the model takes
    recipe: Any = None  # benchmarks.config.TrainConfig
    train_examples: int | None = None  # the training split after sampling

    @property
    def train_batches(self) -> int | None:
        """Training batches in one pass (the loop's `steps_per_epoch`: a last incomplete batch is dropped
        unless it is the only one)."""
        if self.train_examples is None or self.recipe is None:
            return None
        return max(1, self.train_examples // self.recipe.batch_size)


def check_method(cls: type[Method], sparsity: float, overrides: dict[str, Any], fit: Fit | None = None) -> Any:
    """The one check of a method at a target, run by `prunebench run`, `prunebench validate` and the workflow
    before any compute: the target, the parameters, the fit to the model and data (when `fit` is given), then
    each part the method declares (`Method.parts`, with the part's default parameters, as composites run them)
    through this same function. Returns the parsed ``Params``; raises ValueError (or its subclass UsageError)
    whose one line names the method, the part and the valid values."""
    cls.check_sparsity(sparsity)
    params = cls.parse_params(overrides)
    if fit is not None:
        cls.check_fit(params, sparsity, fit)
    from .registry import get

    for key, name in cls.parts(params).items():
        try:
            check_method(get(name), sparsity, {}, fit)
        except ValueError as exc:
            raise type(exc)(f"method {cls.name!r} {key}={name}: {exc}") from None
    return params


def batches_fit(method: str, key: str, wanted: int, fit: Fit, default: int | None = None) -> None:
    """Refuse asking for more training batches (to score with) than one pass over the split gives: the scoring
    would silently use fewer. The method's `default` is not refused: defaults take what there is on small data
    (methods/README.md), and the row records how many examples were scored."""
    have = fit.train_batches
    if have is not None and wanted > have and wanted != default:
        raise ValueError(f"{method} {key}={wanted}: the training split gives {have} batches "
                         f"({fit.train_examples} examples / batch_size {fit.recipe.batch_size}); valid: {key} in 1..{have}")


def units_fit(method: str, sparsity: float, total: int, layers: int, unit: str) -> None:
    """Refuse a target whose round(sparsity * total) removes no unit (the row would claim a target it never
    pruned) or more than `total - layers` (every layer keeps one head or neuron, so the method would stop short)."""
    k = round(sparsity * total)
    most = total - layers
    if 1 <= k <= most:
        return
    raise ValueError(f"{method} at sparsity {sparsity:g} removes {k} of {total} {unit} (round(sparsity x {total})); "
                     f"every layer keeps one, so 1 to {most} can go; valid sparsities: {1 / total:.3g} to {most / total:.3g}")

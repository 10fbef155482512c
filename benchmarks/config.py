"""Run configuration: frozen dataclasses with commented defaults, overridable by ``--set key=value``.

Defaults are the recipe of seed 003 (max_len 128, batch 32, lr 2e-5). Fields that can move a score are
hashed into ``config_hash``; fields that only change speed or logging are listed in ``NOT_HASHED``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import UsageError, did_you_mean

SCHEDULES = ("linear", "polynomial", "constant")
MAX_LEN_RANGE = (8, 512)  # tokens; a model may take fewer (its position embeddings: benchmarks.models.check_model_fits)
BOOL_SPELLINGS = ("true", "1", "yes", "false", "0", "no")  # the first three mean True; any letter case


@dataclass(frozen=True)
class TrainConfig:
    max_len: int = 128  # tokens per example after truncation
    batch_size: int = 32  # training batch
    lr: float = 2e-5  # peak learning rate of the dense fine-tuning
    epochs: float = 3.0  # dense fine-tuning epochs (and methods that start from pre-trained weights)
    recovery_lr: float = 2e-5  # peak learning rate after one-shot pruning
    recovery_epochs: float = 2.0  # fine-tuning epochs after one-shot pruning (0 = none)
    schedule: Literal["linear", "polynomial", "constant"] = "linear"  # decay after warm-up
    warmup_ratio: float = 0.06  # share of steps with linear warm-up
    weight_decay: float = 0.01  # AdamW, not applied to biases and LayerNorm weights
    max_grad_norm: float = 1.0  # gradient clipping (0 = off)
    group_by_length: bool = True  # batches of similar length: less padding, few distinct shapes
    eval_batch_size: int = 256  # fixed, since scores move slightly with batch size in reduced precision
    bf16: bool = True  # bf16 autocast on CUDA (CPU always runs fp32)
    max_train_samples: int = 0  # 0 = all; else a fixed-seed sample of the training split
    max_eval_samples: int = 0  # 0 = all; else a fixed-seed sample of each evaluation split
    # auto: CUDA graphs on CUDA when the method's step is static, else eager; auto-compile: as auto, with the model
    # compiled (torch.compile) inside the graphs and gradients written, not accumulated (fewer kernels; issue 18)
    step_mode: Literal["auto", "auto-compile", "eager", "compile", "cuda-graphs"] = "auto"
    # attention kernels of training and evaluation (transformers' attn_implementation): sdpa, transformers' default,
    # draws attention dropout inside a fused CUDA kernel; eager computes it with plain ops, its dropout an ordinary
    # draw, which is what lets runs share one batched step with the run alone's draws (benchmarks/cohort.py)
    attention: Literal["sdpa", "eager"] = "sdpa"
    # pad batches to a multiple of this (0 = 16 on CUDA, 8 on CPU). Not only speed: dropout fills the padded shape from
    # the generator, so another padding draws other masks for the real tokens, i.e. another run (results/v2, call 67)
    pad_to_multiple: int = 0
    bench_repeats: int = 10  # timed repeats per efficiency measurement (median reported)
    progress: bool = True  # tqdm bars

    def check(self) -> "TrainConfig":
        problems = []
        for name in ("max_len", "batch_size", "eval_batch_size"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if not MAX_LEN_RANGE[0] <= self.max_len <= MAX_LEN_RANGE[1]:
            problems.append(f"max_len must be in [{MAX_LEN_RANGE[0]}, {MAX_LEN_RANGE[1]}]")
        for name in ("lr", "recovery_lr"):
            if not 0 < getattr(self, name) < 1:
                problems.append(f"{name} must be in (0, 1)")
        for name in ("epochs", "recovery_epochs", "weight_decay", "max_grad_norm", "max_train_samples", "max_eval_samples", "pad_to_multiple"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.epochs == 0:
            problems.append("epochs must be > 0")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must be in [0, 1)")
        if self.bench_repeats < 1:
            problems.append("bench_repeats must be >= 1")
        if problems:
            raise UsageError("bad training config: " + "; ".join(problems))
        return self


# speed, logging and measurement knobs: they do not change what a run computes
NOT_HASHED = frozenset({"step_mode", "bench_repeats", "progress"})
# fields hashed only when not at this value, so every earlier row (made with it) keeps its config_hash and run_id:
# `attention` came after rows were published; `pad_to_multiple` was taken for a speed knob until session 21 found
# that it changes the dropout draws (every published row has its default)
HASHED_WHEN_SET = {"attention": "sdpa", "pad_to_multiple": 0}


def parse_overrides(base: Any, pairs: list[str] | dict[str, Any], what: str = "--set"):
    """Apply ``key=value`` overrides to a frozen dataclass, refusing unknown keys and ill-typed values."""
    items = pairs.items() if isinstance(pairs, dict) else [split_pair(p, what) for p in pairs]
    fields = {f.name: f for f in dataclasses.fields(base)}
    hints = _hints(type(base))
    changes = {}
    for key, raw in items:
        if key not in fields:
            raise UsageError(f"{what}: unknown key {key!r}{did_you_mean(key, fields)}; "
                             f"valid keys: {', '.join(fields) or '(none)'}")
        changes[key] = _coerce(raw, hints[key], f"{what} {key}")
    return dataclasses.replace(base, **changes)


def split_pair(pair: str, what: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{what}: expected key=value, got {pair!r}")
    return key.strip(), value.strip()


def _hints(cls) -> dict[str, Any]:
    import typing

    return typing.get_type_hints(cls)


def _coerce(raw: Any, hint: Any, where: str) -> Any:
    import typing

    if typing.get_origin(hint) is Literal:
        options = typing.get_args(hint)
        if str(raw) not in options:
            raise UsageError(f"{where}: {raw!r} is not one of {', '.join(options)}")
        return str(raw)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() not in BOOL_SPELLINGS:
            raise UsageError(f"{where}: {raw!r} is not a valid bool; write one of {', '.join(BOOL_SPELLINGS)}")
        return str(raw).lower() in BOOL_SPELLINGS[:3]
    try:
        if hint is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw) if not isinstance(raw, str) else int(raw, 10)
        if hint is float:
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if hint is str:
            return str(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {raw!r} is not a valid {getattr(hint, '__name__', hint)}") from None
    raise TypeError(f"{where}: unsupported type {hint}")


@dataclass(frozen=True)
class RunConfig:
    """Everything one result row is a function of."""

    model: str
    task: str
    method: str
    sparsity: float
    seed: int = 0
    method_params: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_source: str = "auto"


def canonical_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def hashed_train_fields(train: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(train).items()
            if k not in NOT_HASHED and not (k in HASHED_WHEN_SET and v == HASHED_WHEN_SET[k])}

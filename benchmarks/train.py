"""The one fine-tuning loop every method runs through, and evaluation.

Methods never own a loop: they plug into the hooks of `methods.base.Method`, so all methods see the
same data order, optimiser, schedule and evaluation. The loop is written for an idle-bound GPU: data
already on the device, one index upload per epoch, fused AdamW, a compiled model, length-grouped batches
with few distinct shapes, and no host synchronisation except for the progress bar every 50 steps.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import TrainConfig
from .metrics import compute_metrics, predictions_from_logits, primary_score
from .tasks import GlueTask
from .tokens import Batches

log = logging.getLogger("prunebench")

LOG_EVERY = 50  # steps between progress-bar loss updates (each costs one host sync)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA too


def model_inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k != "labels"}


def task_loss(task: GlueTask, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if task.is_regression:
        return F.mse_loss(logits.squeeze(-1).float(), labels.float())
    return F.cross_entropy(logits.float(), labels)


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Batches per epoch: the last incomplete batch is dropped (fixed shapes) unless it is the only one."""
    return max(1, n_examples // batch_size)


def make_optimizer(model: nn.Module, extra_groups: list[dict], lr: float, weight_decay: float, device: torch.device,
                   capturable: bool = False):
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)  # biases and LayerNorm weights are 1-D
    return adamw(decay, no_decay, extra_groups, lr, weight_decay, device, capturable)


def adamw(decay: list, no_decay: list, extra_groups: list[dict], lr: float, weight_decay: float, device: torch.device,
          capturable: bool = False):
    """AdamW with weight decay on `decay` only (matrices; not biases and LayerNorm weights), fused on CUDA."""
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}, *extra_groups]
    groups = [g for g in groups if g["params"]]
    if capturable:
        # a CUDA graph replays the step with whatever the lr tensors hold, so each group's lr is a device
        # tensor the scheduler fills in place (see make_scheduler)
        for g in groups:
            g["lr"] = torch.tensor(float(g.get("lr", lr)), device=device)
        return torch.optim.AdamW(groups, lr=torch.tensor(lr, device=device), fused=True, capturable=True)
    if device.type == "cuda":
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    return torch.optim.AdamW(groups, lr=lr, foreach=True)


def make_scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    from transformers import get_scheduler

    name = {"linear": "linear", "polynomial": "polynomial", "constant": "constant_with_warmup"}[cfg.schedule]
    scheduler = get_scheduler(name, optimizer, num_warmup_steps=int(cfg.warmup_ratio * total_steps), num_training_steps=max(total_steps, 1))
    # with tensor learning rates, keep the base rates as floats so each step is a device fill, not a host sync
    scheduler.base_lrs = [float(b) for b in scheduler.base_lrs]
    return scheduler


def autocast(cfg: TrainConfig, device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and device.type == "cuda")


@dataclass
class TrainStats:
    steps: int
    examples: int
    seconds: float  # wall time of all steps, compilation or graph capture included
    final_loss: float | None
    steady_examples_per_s: float | None = None  # after the first `warmup_steps(total)` steps (compilation, allocator)
    # (step, mean training loss of the steps since the previous point), every LOG_EVERY steps and at the end: a
    # run that collapses to one class, or diverges, shows it here, where the final score alone cannot say why
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    before_seconds: float = 0.0  # of `seconds`: the method's `before_training` (scoring, one-shot pruning, inner rounds)
    step_mode: str = ""  # how the steps ran (`step_mode()`: eager, compile, cuda-graphs, compile-graphs); "" for none
    # of `seconds`: capturing the CUDA graphs of the step, and for a compiled graphed step the eager first step of
    # each new length (where compiling happens); 0 for eager steps
    capture_seconds: float = 0.0


def warmup_steps(total: int) -> int:
    """Steps excluded from the steady-state rate: a tenth of the run, at most 100."""
    return min(max(total // 10, 1), 100)


def step_mode(cfg: TrainConfig, device: torch.device, method) -> str:
    """How the steps run: `eager`, `compile`, `cuda-graphs` or `compile-graphs` (compiled model, graphed step).

    `auto` graphs the step where it can be (CUDA, a static step); `auto-compile` does the same with the
    model compiled inside the graphs and leaves every other run eager, so a whole grid can ask for it.
    Under `auto-compile` a structured method's run is graphed but not compiled: it shrinks the model, and
    the new head, neuron or layer counts are constants of the traced code, so every such run compiles anew
    (head pruning on MRPC, results/v2 call 39: 33.9 s of compile and capture for 0.7 s of training steps,
    3.1 s graphed uncompiled).
    Raises ValueError for `cuda-graphs` without CUDA or with a method whose step is not static.
    """
    graphable = device.type == "cuda" and method.static_step
    if cfg.step_mode in ("auto", "auto-compile"):
        if not graphable:
            return "eager"
        # the bare `Method` of an inner training (lottery ticket's rounds, LoRA's phase) has no kind
        compiles = cfg.step_mode == "auto-compile" and getattr(method, "kind", "") != "structured"
        return "compile-graphs" if compiles else "cuda-graphs"
    if cfg.step_mode == "cuda-graphs" and not graphable:
        raise ValueError("step_mode=cuda-graphs needs a CUDA device and a method whose step is static")
    return cfg.step_mode


def finetune(model: nn.Module, method, ctx, batches: Batches, cfg: TrainConfig, epochs: float, lr: float,
             seed: int, desc: str = "train") -> tuple[nn.Module, TrainStats]:
    """Run the method's hooks around `epochs` of fine-tuning; returns the final model and timing."""
    start = time.perf_counter()  # the method's own work (scoring, inner rounds) counts as training time
    before_training(model, method, ctx, batches, cfg, epochs)
    return train_steps(model, method, ctx, batches, cfg, lr, seed, desc, start, time.perf_counter() - start)


def before_training(model: nn.Module, method, ctx, batches: Batches, cfg: TrainConfig, epochs: float) -> None:
    """The part of `finetune` before its first step: the step counts the method may read, the method's
    `before_training` hook (one-shot pruning, scoring, inner rounds) and its masks applied."""
    ctx.steps_per_epoch = steps_per_epoch(len(batches), cfg.batch_size)
    ctx.total_steps = round(epochs * ctx.steps_per_epoch)
    if epochs > 0 and ctx.total_steps == 0:  # the row is still written, of a model this phase never trained
        more = f"max_train_samples ({cfg.max_train_samples}) or " if cfg.max_train_samples else ""
        log.warning("a training phase of %g epoch(s) of %d step(s) rounds to no step, and the row is written from a "
                    "model it did not train: raise %sthat phase's epochs (epochs, or recovery_epochs after pruning)",
                    epochs, ctx.steps_per_epoch, more)
    method.before_training(model, ctx)
    ctx.apply_masks(model)


def train_steps(model: nn.Module, method, ctx, batches: Batches, cfg: TrainConfig, lr: float, seed: int, desc: str,
                start: float, before_seconds: float) -> tuple[nn.Module, TrainStats]:
    """The part of `finetune` after `before_training`: `ctx.total_steps` steps, then `after_training`.
    `start` is when the run's training began (`time.perf_counter()`), `before_seconds` what its hooks took."""
    device, total = ctx.device, ctx.total_steps
    loss_value, warm_time, curve, mode = None, None, [], ""
    if total > 0:
        mode = step_mode(cfg, device, method)
        graphs = mode in ("cuda-graphs", "compile-graphs")
        optimizer = make_optimizer(model, method.param_groups(model, ctx), lr, cfg.weight_decay, device, capturable=graphs)
        scheduler = make_scheduler(optimizer, cfg, total)
        compiled = mode in ("compile", "compile-graphs")
        # auto-compile is the faster step as a whole: compiled, and gradients written rather than accumulated
        step_fn = TrainStep(model, method, ctx, batches, optimizer, cfg, compiled=compiled, fresh_grads=mode == "compile-graphs")
        if graphs:
            step_fn = GraphedTrainStep(step_fn, CapturePlan(eager_per_length=compiled))
        model.train()
        curve, warm_time = run_steps(step_fn, scheduler, batches, cfg, total, seed, desc, device,
                                     on_step=lambda step: method.on_step(model, step, ctx))
        loss_value = curve[-1][1]
        optimizer.zero_grad(set_to_none=True)
    end = time.perf_counter()
    steady = steady_rate(total, cfg.batch_size, end, warm_time)
    model = method.after_training(model, ctx)
    model.eval()
    capture = step_fn.capture_seconds if total > 0 and isinstance(step_fn, GraphedTrainStep) else 0.0
    return model, TrainStats(total, total * cfg.batch_size, end - start, loss_value, steady, curve,
                             before_seconds=before_seconds, step_mode=mode, capture_seconds=capture)


def steady_rate(total: int, batch_size: int, end: float, warm_time: float | None) -> float | None:
    """Training examples per second after the first `warmup_steps(total)` steps (`warm_time`: when they ended, on
    `time.perf_counter()`'s clock, None where the loop never got there), to `end`; None without steps after them."""
    warm = warmup_steps(total)
    return (total - warm) * batch_size / (end - warm_time) if total > warm and warm_time else None


def run_steps(step_fn, scheduler, batches: Batches, cfg: TrainConfig, total: int, seed: int, desc: str,
              device: torch.device, on_step=None) -> tuple[list[tuple[int, float | list[float]]], float | None]:
    """The loop itself: `total` steps of `step_fn(index, length)` in the seeded data order of `seed`, the
    scheduler after each. `step_fn.running` sums the loss on the device: one value, or one per run of a cohort
    (`benchmarks.cohort`), and the curve's points say the same. Returns (loss curve, when the warm-up ended)."""
    rng = np.random.default_rng(seed)
    step, since_log, curve, warm, warm_time = 0, 0, [], warmup_steps(total), None
    with tqdm(total=total, desc=desc, disable=not cfg.progress, mininterval=2.0, leave=False) as bar:
        while step < total:
            plan = batches.epoch(rng, cfg.group_by_length)
            flat = torch.from_numpy(np.concatenate([index for index, _ in plan])).to(device)
            pos = 0
            for index, length in plan:
                if step >= total:
                    break
                step_fn(flat[pos : pos + len(index)], length)
                pos += len(index)
                scheduler.step()
                step += 1
                if on_step is not None:
                    on_step(step)
                since_log += 1
                if step % LOG_EVERY == 0 or step == total:
                    summed = step_fn.running.tolist()  # one host sync; divided in Python, as always
                    loss_value = summed / since_log if isinstance(summed, float) else [v / since_log for v in summed]
                    curve.append((step, loss_value))
                    shown = loss_value if isinstance(loss_value, float) else sum(loss_value) / len(loss_value)
                    bar.set_postfix(loss=f"{shown:.4f}", refresh=False)
                    step_fn.running.zero_()
                    since_log = 0
                bar.update(1)
                if step == warm:
                    _sync(device)
                    warm_time = time.perf_counter()
    _sync(device)
    return curve, warm_time


class TrainStep:
    """One optimiser step on one batch: forward, task + method loss, backward, clipping, AdamW, masks.

    The same body runs eagerly, compiled, or captured into a CUDA graph (`GraphedTrainStep`).
    """

    def __init__(self, model, method, ctx, batches: Batches, optimizer, cfg: TrainConfig, compiled: bool = False,
                 fresh_grads: bool = False):
        self.model, self.method, self.ctx, self.batches = model, method, ctx, batches
        self.fresh_grads = fresh_grads
        self.optimizer, self.cfg = optimizer, cfg
        self.forward = _compiled(model) if compiled else model
        self.params = [p for g in optimizer.param_groups for p in g["params"]]
        self.running = torch.zeros((), device=ctx.device)  # summed loss since the last log, kept on device
        # autocast's weight cache must be off inside CUDA graph capture
        self.autocast = dict(device_type=ctx.device.type, dtype=torch.bfloat16,
                             enabled=cfg.bf16 and ctx.device.type == "cuda", cache_enabled=False)

    def __call__(self, index: torch.Tensor, length: int) -> None:
        # fresh_grads: backward writes each gradient instead of adding it to a zeroed one, one addition per
        # parameter fewer (105 for MiniLM-L6; call 14's profile counts 130 float additions in a step) and no
        # zeroing. Inside a CUDA graph the gradients then live in its pool, where its own optimizer step reads
        # them; no hook reads `.grad`. Off by default: the v2 campaign's rows were made with zeroed gradients.
        self.optimizer.zero_grad(set_to_none=self.fresh_grads)
        batch = self.batches.batch(index, length)
        with torch.autocast(**self.autocast):
            outputs = self.forward(**model_inputs(batch))
            loss = task_loss(self.ctx.task, outputs.logits, batch["labels"])
            extra = self.method.extra_loss(self.model, batch, outputs, self.ctx)
            if extra is not None:
                loss = loss + extra
        loss.backward()
        if self.cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.ctx.apply_masks(self.model)
        self.running.add_(loss.detach())


class CapturePlan:
    """Which steps of a graphed run are eager, captured or replayed, by the batch's padded length.

    CUDA graph capture needs a few eager steps first (optimizer state, cuBLAS workspaces and gradients are
    created there): the first `EAGER_WARMUP` steps of the run. A compiled model (`eager_per_length`) may
    compile on a new length (a guard that the length breaks), and compiling cannot happen inside a capture
    (PyTorch issues 167639, 185074), so there the first step of every length is eager too: a safety net, as
    `_compiled` asks for one graph for every length. Eager steps are real training steps, the same computation.
    """

    EAGER_WARMUP = 3

    def __init__(self, eager_per_length: bool = False):
        self.eager_per_length = eager_per_length
        self.eager_left = self.EAGER_WARMUP
        self.seen: set[int] = set()  # lengths with an eager step behind them
        self.captured: set[int] = set()

    def next(self, length: int) -> str:
        """`eager`, `capture` or `replay` for the next step, whose batch is padded to `length` tokens."""
        first_of_length = length not in self.seen
        self.seen.add(length)
        if self.eager_left > 0 or (self.eager_per_length and first_of_length):
            self.eager_left = max(self.eager_left - 1, 0)
            return "eager"
        if length not in self.captured:
            self.captured.add(length)
            return "capture"
        return "replay"


class GraphedTrainStep:
    """A `TrainStep` captured once per padded length as a CUDA graph, then replayed.

    A 22M-parameter encoder at batch 32 spends most of an eager step launching kernels; a replay
    launches the whole step (a few hundred kernels) at once. Eager steps (`CapturePlan`) run on a side
    stream, as CUDA graph capture requires. Only the batch's example indices change between replays:
    the gather from the device-resident data is part of the graph.
    """

    def __init__(self, step: TrainStep, plan: CapturePlan | None = None):
        self.step, self.running = step, step.running
        self.plan = plan or CapturePlan()
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.capture_seconds = 0.0  # for the run's profile (benchmarks/run_profile.py)

    def __call__(self, index: torch.Tensor, length: int) -> None:
        what = self.plan.next(length)
        if what == "eager":
            # a compiled step's eager steps are where it compiles (the first above all): timed as capture work
            timed = self.plan.eager_per_length
            start = time.perf_counter()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.step(index, length)
            torch.cuda.current_stream().wait_stream(side)
            if timed:
                torch.cuda.current_stream().synchronize()
                self.capture_seconds += time.perf_counter() - start
            return
        if what == "capture":
            start = time.perf_counter()
            static_index = index.clone()
            if self.step.fresh_grads:
                # the eager steps' gradients are released before the capture, not inside it (the pattern of
                # PyTorch's whole-network capture example); the captured backward allocates them in the graph's pool
                self.step.optimizer.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.step(static_index, length)
            self.graphs[length] = (graph, static_index)
            self.capture_seconds += time.perf_counter() - start  # capture ends synchronised
        graph, static_index = self.graphs[length]
        static_index.copy_(index)
        graph.replay()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _compiled(model, dynamic: bool | None = True):
    import torch._dynamo
    import torch._inductor.config

    # the padded length varies (max_len / pad_to_multiple values): a graph with a symbolic length from the start,
    # instead of one specialised to the first length and a second, dynamic one at the next; recompiles the
    # guards still ask for (architectures after structured pruning, label counts, or every length where
    # `dynamic` is False) stay under a generous limit
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    # dropout draws from the same generator calls as the eager step, so a compiled run's random stream is the
    # eager run's (Inductor's own fused RNG would give other masks, i.e. another run)
    torch._inductor.config.fallback_random = True
    return torch.compile(model, dynamic=dynamic)


@torch.no_grad()
def predict(model: nn.Module, batches: Batches, cfg: TrainConfig, device: torch.device) -> np.ndarray:
    """Logits for every example of a split, in the split's order."""
    model.eval()
    plan = batches.in_length_order()
    out = None
    for index, length in plan:
        index_t = torch.from_numpy(index).to(device)
        with autocast(cfg, device):
            logits = model(**model_inputs(batches.batch(index_t, length))).logits.float()
        if out is None:
            out = torch.empty((len(batches), logits.shape[-1]), device=device, dtype=torch.float32)
        out[index_t] = logits
    return out.cpu().numpy()


def evaluate(model: nn.Module, task: GlueTask, eval_batches: dict[str, Batches], cfg: TrainConfig,
             device: torch.device) -> tuple[dict[str, float], float]:
    """All GLUE metrics of the task (extra eval splits suffixed, e.g. ``accuracy_mismatched``) and `score`."""
    metrics: dict[str, float] = {}
    score = None
    for i, (split, batches) in enumerate(eval_batches.items()):
        logits = predict(model, batches, cfg, device)
        values = compute_metrics(task, predictions_from_logits(task, logits), batches.data.labels)
        if i == 0:
            metrics.update(values)
            score = primary_score(task, values)
        else:
            suffix = split.replace("validation_", "")
            metrics.update({f"{k}_{suffix}": v for k, v in values.items()})
    return metrics, score

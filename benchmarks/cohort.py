"""Runs that differ only in their masks, trained together in one batched step (issue 18).

Why: a 22M-parameter encoder at batch 32 leaves most of an H200 idle, and eight such runs in separate
processes under MPS stepped only 1.6x as fast together as one alone (results/v2 calls 35, 42, 45). The grid's
one-shot runs of one (model, task, seed, recipe) see the same batches in the same order and draw the same
dropout masks; only their pruning masks (method, sparsity) differ. Stacking their weights ([K, ...] tensors)
and taking the step under `torch.func.vmap` computes K runs' forward and backward passes in the same kernels:
compiled and graphed, K = 8 such runs made 2.5x the run-steps per second of one compiled graphed run at 32
tokens (results/v2/probes, call 46).

What makes a cohort's row the row of the same run alone:

- **Same data, same dropout.** Members share the seed, so the loop's seeded data order is theirs; dropout is
  drawn once per site under ``vmap(randomness="same")``, the shape the run alone draws, from the generator state
  the run alone has at its first step. Each member's state after its `before_training` is compared: where they
  differ (a method that draws random numbers by sparsity), the members train one after the other instead.
- **Its own optimiser state.** AdamW is elementwise, so slice k of one AdamW over the stacked tensors is run
  k's own update; gradient clipping takes each run's own global norm (`clip_by_run`), as
  `torch.nn.utils.clip_grad_norm_` does for the run alone; each run's masks are re-applied after every step.
- **Only plain steps.** A method joins a cohort (`batchable`) when its training after `before_training` is the
  plain loop: no per-step hook, no extra loss, no extra optimiser groups, and an unchanged shape (a structured
  method's pruned shapes differ by run). Its hooks before and after training run per run, as alone.

Rounding can differ from the run alone (batched matrix products), so a member's row matches the run alone's
within the README's GPU tolerance, not bit for bit: `tests/test_cohort.py` checks the losses on the CPU.

On CUDA the members need attention whose dropout is an ordinary draw: with SDPA (transformers' default for
BERT-family models) it is drawn inside a fused kernel, where one draw for all members is refused and a batched
call would draw other masks than the run alone (`fused_attention_dropout`), so there they train apart. A recipe
with ``attention=eager`` (`TrainConfig.attention`, in the row's config) trains together, and its run alone uses the
same eager attention.
"""

from __future__ import annotations

import logging
import os
import random
import time

import numpy as np
import torch
from torch import nn

from .config import canonical_hash
from .train import (CapturePlan, GraphedTrainStep, TrainStats, _compiled, adamw, before_training, make_scheduler,
                    model_inputs, run_steps, steady_rate, step_mode, task_loss, train_steps)

log = logging.getLogger("prunebench")


def batchable(method_cls: type) -> bool:
    """Whether runs of this method may share a batched step: it trains, and after `before_training` its
    training is the plain loop (no `on_step`, `extra_loss` or `param_groups` of its own) on an unchanged shape."""
    from prunebench.methods.base import Method

    return (getattr(method_cls, "trains", False) and getattr(method_cls, "kind", "") != "structured"
            and method_cls.on_step is Method.on_step and method_cls.extra_loss is Method.extra_loss
            and method_cls.param_groups is Method.param_groups)


def key(prep) -> str | None:
    """The runs a prepared run (`runner.Prepared`) may be batched with share this key; None where it may not.
    Everything of its identity but the method and sparsity, and the training phase its method runs."""
    if not batchable(prep.method_cls):
        return None
    ident = prep.identity()
    ident.pop("method")
    ident.pop("target_sparsity")
    method = prep.method_cls(prep.params)
    return canonical_hash([ident, method.starts_from, list(method.training_phase(prep.cfg.train))])


# how the compiled cohort step treats the padded length: "static" (default), one graph per length; "auto", PyTorch's
# automatic dynamic shapes (a second length recompiles with that dimension symbolic). A graph symbolic from the start
# (`dynamic=True`, as `train._compiled` compiles one run) hit a Dynamo internal assert at the first linear layer under
# vmap on CUDA (results/v2 calls 51 and 59)
SHAPES = "PRUNEBENCH_COHORT_SHAPES"


def fused_attention_dropout(model: nn.Module, device: torch.device) -> bool:
    """Whether the model draws attention dropout inside a fused CUDA attention kernel (SDPA's flash or efficient
    kernels: BERT-family models in transformers 5 by default). There a batched call draws other masks for each
    run than the run alone, and `vmap` refuses one draw for all ("Vmap does not currently support same randomness
    with a batched tensor input": results/v2, call 48), so such runs cannot share a step with their own draws;
    `TrainConfig.attention` eager is the recipe that can."""
    cfg = model.config
    p = max(float(getattr(cfg, "attention_probs_dropout_prob", 0.0) or 0.0), float(getattr(cfg, "attention_dropout", 0.0) or 0.0))
    return device.type == "cuda" and p > 0 and getattr(cfg, "_attn_implementation", "sdpa") != "eager"


def rng_state(device: torch.device) -> tuple:
    """Every generator a training step may draw from: Python's, NumPy's, torch's CPU one and the device's."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def set_rng_state(state: tuple, device: torch.device) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])
    if state[3] is not None:
        torch.cuda.set_rng_state(state[3], device)


def same_state(a: tuple, b: tuple) -> bool:
    numpy_same = a[1][0] == b[1][0] and np.array_equal(a[1][1], b[1][1]) and a[1][2:] == b[1][2:]
    cuda_same = (a[3] is None and b[3] is None) or (a[3] is not None and b[3] is not None and torch.equal(a[3], b[3]))
    return a[0] == b[0] and numpy_same and torch.equal(a[2], b[2]) and cuda_same


def clip_by_run(grads: list[torch.Tensor], max_norm: float) -> None:
    """`torch.nn.utils.clip_grad_norm_` for each run of stacked gradients ([K, ...] each): run k's gradients are
    scaled by min(1, max_norm / (||g_k|| + 1e-6)), ||g_k|| the 2-norm over all of run k's gradients (Pascanu et
    al., 2013, "On the difficulty of training recurrent neural networks", Alg. 2; PyTorch's 1e-6)."""
    k = grads[0].shape[0]
    per_tensor = torch.stack([torch.linalg.vector_norm(g.reshape(k, -1), dim=1) for g in grads], dim=1)  # [K, tensors]
    scale = (max_norm / (torch.linalg.vector_norm(per_tensor, dim=1) + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, [scale.view(k, *([1] * (g.ndim - 1))) for g in grads])


_GRADS: dict[tuple, object] = {}


def grads_and_losses(task, device_type: str, bf16: bool, compiled: bool):
    """f(stacked params, model, buffers, inputs, labels) -> (each run's gradients [K, ...], each run's loss [K]): the
    task loss's gradient under `vmap` over the stacked weights, one dropout draw per site for all K runs (the draw
    each run alone makes: they share seed and generator state).

    One function per (task, device type, autocast, compiled) for the whole process, the model an argument rather
    than a captured variable: compiled, a later cohort of the same architecture, K and padded length reuses the
    first one's graph instead of compiling again, as a pool worker's later runs reuse `train._compiled`'s."""
    from torch.func import functional_call, grad_and_value, vmap

    key = (task.name, device_type, bf16, compiled)
    if key not in _GRADS:
        amp = dict(device_type=device_type, dtype=torch.bfloat16, enabled=bf16, cache_enabled=False)

        def loss_of(params, model, buffers, inputs, labels):
            with torch.autocast(**amp):
                logits = functional_call(model, (params, buffers), (), inputs).logits
                return task_loss(task, logits, labels)

        step = vmap(grad_and_value(loss_of), in_dims=(0, None, None, None, None), randomness="same")
        _GRADS[key] = _compiled(step, dynamic=None if os.environ.get(SHAPES) == "auto" else False) if compiled else step
    return _GRADS[key]


class CohortStep:
    """One optimiser step of K runs: forward, task loss and backward of all K under `vmap` over their stacked
    weights, each run's clipping, one AdamW over the stacked tensors, each run's masks. Captured per padded
    length like `train.TrainStep` (`GraphedTrainStep` reads `running`, `fresh_grads` and `optimizer`)."""

    # the gradients are buffers the step copies into, never accumulated: a capture must keep them (no release before it)
    fresh_grads = False

    def __init__(self, models: list[nn.Module], ctxs: list, batches, cfg, lr: float, capturable: bool, compiled: bool):
        base, device, k = models[0], ctxs[0].device, len(models)
        self.batches, self.cfg = batches, cfg
        named = [dict(m.named_parameters()) for m in models]
        # the stacked weights are the runs' weights from here on; `unstack` writes them back into each model
        self.params = {n: torch.stack([p[n].detach() for p in named]) for n, p in base.named_parameters() if p.requires_grad}
        self.buffers = dict(base.named_buffers())  # position ids and the like: the same in every run
        masked = sorted({n for ctx in ctxs for n in ctx.masks})
        self.masked = [self.params[n] for n in masked]
        self.masks = [torch.stack([ctx.masks[n] if n in ctx.masks else torch.ones_like(named[0][n]) for ctx in ctxs])
                      .to(device=device, dtype=self.params[n].dtype) for n in masked]
        decay = [p for n, p in self.params.items() if p.ndim - 1 >= 2]  # per run a matrix (`train.make_optimizer`)
        no_decay = [p for n, p in self.params.items() if p.ndim - 1 < 2]
        self.optimizer = adamw(decay, no_decay, [], lr, cfg.weight_decay, device, capturable)
        for p in self.params.values():
            p.grad = torch.zeros_like(p)
        self.grad_buffers = [p.grad for p in self.params.values()]
        self.running = torch.zeros(k, device=device)
        self.base = base
        self.grads = grads_and_losses(ctxs[0].task, device.type, cfg.bf16 and device.type == "cuda", compiled)

    def __call__(self, index: torch.Tensor, length: int) -> None:
        batch = self.batches.batch(index, length)
        grads, losses = self.grads(self.params, self.base, self.buffers, model_inputs(batch), batch["labels"])
        # copied into gradients of each parameter's own dtype, sizes and strides, which fused AdamW requires: handed
        # the compiled vmapped backward's outputs themselves, it refused them (calls 57-58); the probe's step, which
        # ran on the GPU (call 46), copies the same way
        torch._foreach_copy_(self.grad_buffers, [grads[name] for name in self.params])
        if self.cfg.max_grad_norm > 0:
            clip_by_run(self.grad_buffers, self.cfg.max_grad_norm)
        self.optimizer.step()
        torch._foreach_mul_(self.masked, self.masks)
        self.running.add_(losses.detach())

    @torch.no_grad()
    def unstack(self, models: list[nn.Module]) -> None:
        """Write run k's trained weights back into `models[k]`."""
        for k, model in enumerate(models):
            for name, p in model.named_parameters():
                if name in self.params:
                    p.copy_(self.params[name][k])


def train_cohort(models: list[nn.Module], methods: list, ctxs: list, begun_states: list[tuple], batches, cfg,
                 epochs: float, lr: float, seed: int, desc: str = "cohort") -> tuple[list[tuple[nn.Module, TrainStats]], str]:
    """`train.finetune` for K runs that share (model, task, seed, recipe, training phase) and may differ in method
    and sparsity (`key`). `begun_states[k]`: the generators' state (`rng_state`) run k had when it was ready to
    train (`runner.Run.begin`), restored before its `before_training` as if it ran alone.
    Returns each run's (model, stats) and how they trained: "apart" where their generator states after
    `before_training` differ or their attention dropout is fused (`fused_attention_dropout`), and then each
    trained alone, from its own state, one after the other; "together" in one step with each run's own draws."""
    device = ctxs[0].device
    started, befores, states = [], [], []
    for model, method, ctx, begun in zip(models, methods, ctxs, begun_states):
        set_rng_state(begun, device)
        started.append(time.perf_counter())
        before_training(model, method, ctx, batches, cfg, epochs)
        befores.append(time.perf_counter() - started[-1])
        states.append(rng_state(device))
    fused = fused_attention_dropout(models[0], device)
    if len(models) == 1 or fused or not all(same_state(states[0], s) for s in states[1:]):
        if len(models) > 1:
            log.info("cohort of %d: trained one after another (%s)", len(models),
                     "attention dropout drawn in a fused kernel; a recipe with attention=eager trains together"
                     if fused else "their random states differ")
        out = []
        for model, method, ctx, start, before, state in zip(models, methods, ctxs, started, befores, states):
            set_rng_state(state, device)
            out.append(train_steps(model, method, ctx, batches, cfg, lr, seed, desc, start, before))
        return out, "apart"
    set_rng_state(states[0], device)
    total, loop_start = ctxs[0].total_steps, time.perf_counter()
    mode, curve, warm_time, capture = "", [], None, 0.0
    if total > 0:
        mode = step_mode(cfg, device, methods[0])
        graphs = mode in ("cuda-graphs", "compile-graphs")
        step = CohortStep(models, ctxs, batches, cfg, lr, capturable=graphs, compiled=mode in ("compile", "compile-graphs"))
        step_fn = GraphedTrainStep(step, CapturePlan(eager_per_length=mode == "compile-graphs")) if graphs else step
        for model in models:
            model.train()
        curve, warm_time = run_steps(step_fn, make_scheduler(step.optimizer, cfg, total), batches, cfg, total, seed,
                                     f"{desc} x{len(models)}", device)
        step.optimizer.zero_grad(set_to_none=True)
        step.unstack(models)
        capture = step_fn.capture_seconds if graphs else 0.0
        del step, step_fn
    end = time.perf_counter()
    steady = steady_rate(total, cfg.batch_size, end, warm_time)
    out = []
    for k, (model, method, ctx, before) in enumerate(zip(models, methods, ctxs, befores)):
        own = [(s, losses[k]) for s, losses in curve]
        model = method.after_training(model, ctx)
        model.eval()
        # the run's wall: its own hooks, then the steps it shared with the others
        out.append((model, TrainStats(total, total * cfg.batch_size, before + end - loop_start, own[-1][1] if own else None,
                                      steady, own, before_seconds=before, step_mode=mode, capture_seconds=capture)))
    return out, "together"


def execute(runs: list) -> list[tuple]:
    """Each `runner.Run` of one cohort (same `key`) begun, trained together (`train_cohort`) and finished:
    returns each run's (record, sidecar), the sidecar saying which runs shared its steps."""
    begun, states = [], []
    for run in runs:
        begun.append(run.begin())
        states.append(rng_state(run.device))
    first = runs[0].prep
    trained, how = train_cohort([b.model for b in begun], [b.method for b in begun], [b.ctx for b in begun], states,
                                     runs[0].train, first.cfg.train, begun[0].epochs, begun[0].lr, first.cfg.seed,
                                     desc="+".join(dict.fromkeys(run.prep.cfg.method for run in runs)))
    info = {"size": len(runs), "run_ids": [run.prep.run_id for run in runs]} if how == "together" else None
    return [run.finish(b, model, stats, cohort=info) for run, b, (model, stats) in zip(runs, begun, trained)]

"""The Optimal BERT Surgeon, oBERT (Kurtic et al. 2022, "The Optimal BERT Surgeon: Scalable and Accurate
Second-Order Pruning for Large Language Models", arXiv:2203.07259): gradual pruning during fine-tuning by
the Optimal Brain Surgeon criterion and weight update, with a block-diagonal empirical Fisher as the Hessian.

The paper's method (Section 3), as implemented here:

- **Empirical Fisher.** F = λI + (1/m) Σᵢ gᵢ gᵢᵀ over m loss gradients gᵢ (m = 1024, λ = 1e-7), kept only in
  blocks of B = 50 consecutive weights of each flattened weight matrix (block-diagonal; a matrix whose size
  is not a multiple of B gets a zero-padded last block, as the authors' code does). Memory is O(B·d) for d
  prunable weights. The paper inverts F block by block with the Woodbury identity, one gradient at a time;
  here the blocks' Gram matrices are accumulated a few gradients at a time (one batched matmul over all
  blocks, never an m x d gradient store) and each block is inverted directly in float64 (`BlockFisher`):
  the same F⁻¹ up to rounding.
- **Saliency** of weight q: ρ_q = w_q² / (2 [F⁻¹]_qq), the increase of the quadratic model of the loss when
  q is removed and the other weights of its block are updated optimally (the OBS result with Q = {q}).
  Weights of lowest saliency are pruned, ranked over all prunable weights together (the authors' recipes:
  ``global_sparsity: True``); pruned weights stay pruned.
- **Update.** Removing q moves the others of its block by δw = −(w_q / [F⁻¹]_qq) F⁻¹ e_q (OBS, Section 3).
  A pruning step removes many weights at once; ``update="independent"`` (default) adds the single-weight
  updates of every weight pruned in a block and then zeroes the pruned weights, which is what the authors'
  implementation (SparseML ``OBSPruningModifier``, whose recipes produced the paper's tables) does;
  ``update="set"`` applies the paper's update for a set Q of weights removed together,
  δw = −F⁻¹ E_Qᵀ ([F⁻¹]_QQ)⁻¹ w_Q (the same OBS derivation with Q the pruned weights of the block; exact for
  the quadratic model, and equal to the single-weight update when Q has one weight).
- **Schedule.** Gradual, cubic in the step (Zhu & Gupta 2017, `methods._schedules.cubic_sparsity`), with a
  fresh Fisher at each of `pruning_steps` pruning steps; the authors' GLUE recipes go from 70% to the
  target at 7 steps 4 epochs apart, then train 4 more epochs at the final mask.

Choices in PruneBench, where the paper's setting differs:

- **Start.** The paper fine-tunes BERT for 2 epochs, then prunes during the next 24 epochs of fine-tuning and
  trains 4 more. Here the method starts from the dense fine-tuned checkpoint (``starts_from =
  "finetuned"``) and prunes gradually during the recovery recipe, like `gradual-magnitude-*`, so the two
  differ only in the criterion and the update: the first pruning step (s_i = `initial_fraction` x target)
  is taken before the first optimiser step, the last one `cooldown_fraction` of the phase before its end.
  The recipe's learning-rate schedule is the harness's, not the paper's cyclic one, and there is no
  distillation unless `distillation --param base=obert` is asked for.
- **Gradients.** Each of the m gradients is the mean-loss gradient of `grad_batch_size` consecutive training
  examples (the authors' GLUE recipes sample batches of 16), computed in eval mode (no dropout, as their
  sampler), in float32, with pruned weights' gradients zeroed. Consecutive pruning steps take consecutive
  examples of the seeded training order; when one pass holds fewer than m such batches (small tasks, the
  tests' 64 examples), a step uses all of them once and the row records how many (`_info.pruning`).
- The 4-block variant of the paper is not implemented.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ._masking import SCOPES, masks_from_scores
from ._schedules import cubic_sparsity, pruning_window
from .base import Method, PruneContext
from .snip import scoring_mode

UPDATES = ("independent", "set")
GRADS_PER_ADD = 16  # gradients stacked per batched outer-product update: bounds memory at 16 x d floats


@dataclass(frozen=True)
class Params:
    num_grads: int = 1024  # m, gradients in the empirical Fisher (the paper)
    grad_batch_size: int = 16  # examples per gradient (the authors' GLUE recipes: grad sampler batch size 16)
    block_size: int = 50  # B, weights per diagonal Fisher block (the paper)
    damp: float = 1e-7  # λ, dampening of the empirical Fisher (the paper)
    update: Literal["independent", "set"] = "independent"  # how weights pruned together update the rest (module docstring)
    initial_fraction: float = 0.875  # s_i as a share of the target (the authors' 80% recipes: 0.7 -> 0.8)
    pruning_steps: int = 7  # Fisher recomputations and mask updates, the first before training (the authors' recipes: 7)
    cooldown_fraction: float = 0.15  # last share of the phase trained at the final mask (the recipes: 4 of 28 epochs)
    scope: str = "global"  # global: one ranking over all prunable weights (the authors' recipes); layer; row

    def check(self) -> None:
        if self.num_grads < 1 or self.grad_batch_size < 1 or self.block_size < 1:
            raise ValueError("num_grads, grad_batch_size and block_size must be >= 1")
        if not self.damp > 0:
            raise ValueError(f"damp must be > 0, got {self.damp}")
        if self.update not in UPDATES:
            raise ValueError(f"unknown update {self.update!r}; valid: {', '.join(UPDATES)}")
        if not 0.0 <= self.initial_fraction <= 1.0:
            raise ValueError(f"initial_fraction must be in [0, 1], got {self.initial_fraction}")
        if self.pruning_steps < 1:
            raise ValueError(f"pruning_steps must be >= 1, got {self.pruning_steps}")
        if not 0.0 <= self.cooldown_fraction < 1.0:
            raise ValueError(f"cooldown_fraction must be in [0, 1), got {self.cooldown_fraction}")
        if self.scope not in SCOPES:
            raise ValueError(f"unknown scope {self.scope!r}; valid: {', '.join(SCOPES)}")


def as_blocks(tensor: torch.Tensor, block_size: int) -> torch.Tensor:
    """One matrix flattened into rows of `block_size` consecutive entries, the last row zero-padded (False for a
    boolean tensor): [n_blocks, B] with n_blocks = ceil(numel / B), the layout of `BlockFisher`."""
    flat = tensor.reshape(-1)
    pad = (-flat.numel()) % block_size
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return flat.view(-1, block_size)


def from_blocks(blocks: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Inverse of `as_blocks`: the first numel(like) entries in like's shape."""
    return blocks.reshape(-1)[: like.numel()].view_as(like)


class BlockFisher:
    """The block-diagonal empirical Fisher of one weight matrix: blocks of B consecutive (flattened) weights.

    `add` accumulates Σ g gᵀ per block from a stack of gradients; `inverse` returns
    F⁻¹ = (λI + (1/m) Σ g gᵀ)⁻¹ per block, [n_blocks, B, B] float32 (oBERT, Section 3). Memory: n_blocks·B²
    floats = about B floats per weight.
    """

    def __init__(self, numel: int, block_size: int, device: torch.device | str = "cpu"):
        self.block_size = block_size
        self.n_blocks = math.ceil(numel / block_size)
        self.gram = torch.zeros(self.n_blocks, block_size, block_size, device=device)
        self.count = 0

    def add(self, grads: torch.Tensor) -> None:
        """Add the outer products of `grads` [k, ...] (k gradients of the matrix, any shape per gradient)."""
        k = grads.shape[0]
        flat = grads.reshape(k, -1).float()
        blocks = torch.nn.functional.pad(flat, (0, self.n_blocks * self.block_size - flat.shape[1]))
        blocks = blocks.view(k, self.n_blocks, self.block_size).transpose(0, 1)  # [n_blocks, k, B]
        self.gram.baddbmm_(blocks.transpose(1, 2), blocks)
        self.count += k

    def inverse(self, damp: float, chunk: int = 8192) -> torch.Tensor:
        """F⁻¹ per block, [n_blocks, B, B] float32, inverted in float64 `chunk` blocks at a time; with no gradient
        added, F = λI. Written over the accumulated Gram matrices (no second d x B copy), so call it once, last."""
        eye = torch.eye(self.block_size, dtype=torch.float64, device=self.gram.device)
        for start in range(0, self.n_blocks, chunk):
            part = self.gram[start : start + chunk]
            part.copy_(torch.linalg.inv(part.double() / max(self.count, 1) + damp * eye))
        inverse, self.gram = self.gram, None
        return inverse


def saliency(weight_blocks: torch.Tensor, fisher_inv: torch.Tensor) -> torch.Tensor:
    """ρ_q = w_q² / (2 [F⁻¹]_qq) per weight, [n_blocks, B] (oBERT Section 3; OBS with Q = {q})."""
    return weight_blocks.square() / (2.0 * torch.diagonal(fisher_inv, dim1=1, dim2=2))


def obs_update(weight_blocks: torch.Tensor, fisher_inv: torch.Tensor, prune: torch.Tensor,
               update: str = "independent") -> torch.Tensor:
    """New weights [n_blocks, B] after removing the weights where `prune` is True, the others updated by OBS.

    ``independent``: δw = −Σ_{q ∈ Q} (w_q / [F⁻¹]_qq) F⁻¹ e_q (the single-weight update, summed over the pruned
    weights of each block, as the authors' implementation). ``set``: δw = −F⁻¹ E_Qᵀ ([F⁻¹]_QQ)⁻¹ w_Q, the exact
    OBS update for removing the set Q of a block together. Either way the pruned weights end exactly 0.
    Raises ValueError for an unknown `update`.
    """
    p = prune.to(weight_blocks.dtype)
    if update == "independent":
        z = weight_blocks * p / torch.diagonal(fisher_inv, dim1=1, dim2=2)
    elif update == "set":
        # ([F⁻¹]_QQ)⁻¹ w_Q for every block at once: rows/columns outside Q are replaced by the identity,
        # which leaves the Q part of the solve unchanged and gives 0 outside Q
        restricted = fisher_inv * (p[:, :, None] * p[:, None, :]) + torch.diag_embed(1.0 - p)
        z = torch.linalg.solve(restricted.double(), (weight_blocks * p).double()).to(weight_blocks.dtype)
    else:
        raise ValueError(f"unknown update {update!r}; valid: {', '.join(UPDATES)}")
    new = weight_blocks - torch.bmm(fisher_inv, z.unsqueeze(2)).squeeze(2)
    return new * (1.0 - p)


class OBert(Method):
    """oBERT (Kurtic et al. 2022): gradual pruning by block-Fisher OBS saliency with the OBS weight update, while fine-tuning."""

    name, kind, version, Params = "obert", "unstructured", 1, Params
    on_step_in_place = True  # weights change in place and masks through ctx.update_masks: the step stays a graph

    @classmethod
    def check_fit(cls, params: Params, sparsity: float, fit) -> None:
        """A gradient is taken over a slice of one training batch, so it cannot hold more examples than a batch."""
        if fit.recipe is not None and params.grad_batch_size > fit.recipe.batch_size:
            raise ValueError(f"obert grad_batch_size={params.grad_batch_size}: a gradient comes from one training batch "
                             f"of batch_size {fit.recipe.batch_size}; valid: grad_batch_size in 1..{fit.recipe.batch_size}")

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        p = self.params
        begin, end = pruning_window(ctx.total_steps, 0.0, p.cooldown_fraction)
        if p.pruning_steps == 1 or end == begin:
            self.update_steps = [begin]
        else:
            self.update_steps = sorted({begin + round(k * (end - begin) / (p.pruning_steps - 1)) for k in range(p.pruning_steps)})
        self.begin, self.end = begin, self.update_steps[-1]
        self.initial = p.initial_fraction * ctx.target_sparsity if len(self.update_steps) > 1 else ctx.target_sparsity
        self._source: Iterator[dict] | None = None
        self._per_pass = self._chunks_per_pass(ctx)
        ctx.info["pruning"] = []
        ctx.info["schedule"] = {"initial_sparsity": self.initial, "update_steps": self.update_steps, "total_steps": ctx.total_steps}
        self._prune(model, 0, ctx)

    def on_step(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        if step > 0 and step in self.update_steps:
            self._prune(model, step, ctx)

    # --- one pruning step -------------------------------------------------------------------------
    def _prune(self, model: nn.Module, step: int, ctx: PruneContext) -> None:
        p = self.params
        start = time.perf_counter()
        sparsity = cubic_sparsity(step, self.initial, ctx.target_sparsity, self.begin, self.end)
        weights = ctx.prunable(model)
        fishers, used = self._fishers(model, weights, ctx)
        fisher_seconds = time.perf_counter() - start
        inverses = {name: fishers.pop(name).inverse(p.damp) for name in list(fishers)}
        scores = {}
        for name, w in weights.items():
            score = from_blocks(saliency(as_blocks(w.detach().float(), p.block_size), inverses[name]), w)
            if name in ctx.masks:
                score = score.masked_fill(ctx.masks[name] == 0, float("-inf"))
            scores[name] = score
        masks = masks_from_scores(scores, sparsity, scope=p.scope)
        with torch.no_grad():
            for name, w in weights.items():
                prune = as_blocks(~masks[name], p.block_size)
                if name in ctx.masks:
                    prune &= as_blocks(ctx.masks[name] != 0, p.block_size)  # only the newly pruned move the rest
                new = obs_update(as_blocks(w.detach().float(), p.block_size), inverses[name], prune, p.update)
                w.copy_(from_blocks(new, w).to(w.dtype))
        ctx.update_masks(model, masks)
        ctx.info["pruning"].append({"step": step, "sparsity": sparsity, "gradients": used,
                                    "fisher_seconds": round(fisher_seconds, 3),
                                    "seconds": round(time.perf_counter() - start, 3)})

    def _fishers(self, model: nn.Module, weights: dict[str, torch.Tensor], ctx: PruneContext) -> tuple[dict[str, BlockFisher], int]:
        """Block Fishers of every prunable matrix from up to `num_grads` gradients (fewer when one pass of the
        training data holds fewer batches of `grad_batch_size`: a step never uses an example twice)."""
        p = self.params
        fishers = {name: BlockFisher(w.numel(), p.block_size, w.device) for name, w in weights.items()}
        tensors = list(weights.values())
        masks = [ctx.masks.get(name) for name in weights]
        wanted = min(p.num_grads, self._per_pass)
        used = 0
        with scoring_mode(model), torch.enable_grad():
            while used < wanted:
                stack: list[list[torch.Tensor]] = [[] for _ in tensors]
                for chunk in itertools.islice(self._chunks(ctx), min(GRADS_PER_ADD, wanted - used)):
                    grads = torch.autograd.grad(ctx.loss_fn(model, chunk), tensors)
                    for i, (g, m) in enumerate(zip(grads, masks)):
                        stack[i].append(g.float() if m is None else g.float() * m)
                    used += 1
                for (name, _), grads in zip(weights.items(), stack):
                    fishers[name].add(torch.stack(grads))
        return fishers, used

    def _chunks(self, ctx: PruneContext) -> Iterator[dict]:
        """Gradient batches, continuing where the previous pruning step stopped (a new pass when one ends)."""
        while True:
            if self._source is None:
                self._source = self._chunk_pass(ctx)
            for chunk in self._source:
                yield chunk
            self._source = None

    def _chunk_pass(self, ctx: PruneContext) -> Iterator[dict]:
        size = self.params.grad_batch_size
        for batch in ctx.train_batches():
            n = len(batch["input_ids"])
            for start in range(0, n, size):
                yield {k: v[start : start + size] for k, v in batch.items()}

    def _chunks_per_pass(self, ctx: PruneContext) -> int:
        size = self.params.grad_batch_size
        return sum(math.ceil(len(batch["input_ids"]) / size) for batch in ctx.train_batches())

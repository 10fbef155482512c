"""SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot";
seed 001): one-shot pruning that solves, layer by layer, for the sparse weights whose outputs best match the
dense layer's on calibration inputs, then the usual recovery fine-tuning with the masks held.

For one linear layer with weight W [rows, cols] and calibration inputs X [cols, tokens], the paper minimises
the layer-wise reconstruction error ‖WX − ŴX‖² over sparse Ŵ (Section 3). Its Hessian is H = 2XXᵀ, the
same for every row, and the Optimal Brain Surgeon update that compensates a pruned weight uses H⁻¹.
Algorithm 1 of the paper, which `sparsegpt_prune` follows step by step:

- dampening: H + λI with λ = `damp` x mean(diag H) (the paper and its code: 1%);
- the inverse-Hessian information is U = Cholesky(H⁻¹), upper triangular: row j of U holds what removing
  column j (once columns < j are fixed) does to columns > j, so one pass from left to right solves every
  row at once;
- columns are processed in blocks of `block_size` (B = 128 in the paper); at the start of each block the
  mask of that block is chosen adaptively, keeping the (1 − p) share of its weights with the largest
  w² / U_cc² (the OBS error of pruning w alone), so sparsity is uniform per block and per matrix but free
  across rows; inside the block each pruned weight's error E = w / U_jj updates the block's later columns
  by E·U[j, j:], and the block's errors update all later columns at once (the "lazy batch" update);
- for the N:M pattern (2:4), the mask is chosen every M columns, keeping the N weights of each row with the
  largest w² / U_cc² (the paper's "semi-structured" variant, Section 3).

Choices in PruneBench, where the paper leaves room or our setting differs:

- **Start and recovery.** The fine-tuned dense model is pruned (``starts_from = "finetuned"``, like
  one-shot magnitude), then trained for the recovery recipe with the masks held. The paper reports the
  one-shot model without retraining: that score is recorded in the row, `method_params` → ``_info`` →
  ``score_before_recovery`` (`PruneContext.record_score_before_recovery`).
- **Calibration.** The first `calibration_sequences` sequences of the task's training split in the run's
  seeded order (the paper: 128 random 2048-token segments of C4, for language models), padding excluded.
  H is averaged over tokens (2XXᵀ / tokens): the scale cancels in the algorithm, and λ is relative.
- **Sequential.** Encoder layers are pruned in order, and each layer's Hessians come from a forward pass
  through the already pruned earlier layers; the linears inside one layer all see the dense layer's
  inputs, as in the paper's code (one pass per layer).
- **Sparsity scope.** Every prunable matrix at the target (uniform), as the paper does.
- **Precision.** H is inverted in float64 (a Cholesky of a dampened Gram matrix), the sweep runs in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ._masking import _keep_top
from .base import Method, PruneContext
from .calibration import calibration_batches, input_grams, linears_by_layer


@dataclass(frozen=True)
class Params:
    calibration_sequences: int = 128  # training sequences whose inputs give H (the paper: 128 segments)
    damp: float = 0.01  # λ as a share of mean(diag H) (the paper's code: 1%)
    block_size: int = 128  # columns per lazy-update block and per adaptive mask selection (the paper: 128)

    def check(self) -> None:
        if self.calibration_sequences < 1:
            raise ValueError(f"calibration_sequences must be >= 1, got {self.calibration_sequences}")
        if not self.damp > 0:
            raise ValueError(f"damp must be > 0 (a share of mean diag(H)), got {self.damp}")
        if self.block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {self.block_size}")


def inverse_hessian_factor(hessian: torch.Tensor, damp: float) -> torch.Tensor:
    """U, upper triangular with Uᵀ U = (H + λI)⁻¹ and λ = damp · mean(diag H) (Algorithm 1's "Cholesky(H⁻¹)ᵀ").

    `hessian` is [cols, cols], symmetric positive semi-definite; computed in float64, returned in float32.
    A Hessian of zeros (no signal reached the layer) is dampened by 1, which makes U a multiple of I and the
    method magnitude pruning. Raises torch.linalg.LinAlgError when H + λI is not positive definite.
    """
    h = hessian.double().clone()
    mean_diag = float(torch.diagonal(h).mean())
    h.diagonal().add_(damp * mean_diag if mean_diag > 0 else 1.0)
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(h))
    return torch.linalg.cholesky(inverse, upper=True).float()


@torch.no_grad()
def sparsegpt_prune(weight: torch.Tensor, hessian: torch.Tensor, sparsity: float, block_size: int = 128,
                    damp: float = 0.01, nm: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 1 of SparseGPT on one matrix: (the updated weight with zeros in place, its boolean keep-mask).

    `weight` is [rows, cols] (an ``nn.Linear`` weight: cols = inputs), `hessian` [cols, cols] (e.g.
    `GramStats.hessian()`). Unstructured (``nm=None``): exactly round(sparsity · rows · cols) zeros, spread
    over the column blocks by cumulative rounding. ``nm=(n, m)``: n kept of every m consecutive inputs of
    each row (`sparsity` is then ignored). Raises ValueError for a shape or block size the pattern cannot tile.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    rows, cols = weight.shape
    if hessian.shape != (cols, cols):
        raise ValueError(f"hessian of shape {tuple(hessian.shape)} does not fit a weight with {cols} columns")
    if nm is not None and (cols % nm[1] or block_size % nm[1]):
        raise ValueError(f"the {nm[0]}:{nm[1]} pattern needs columns ({cols}) and block_size ({block_size}) divisible by {nm[1]}")
    w = weight.detach().float().clone()
    u = inverse_hessian_factor(hessian.to(w.device), damp)
    keep = torch.ones_like(w, dtype=torch.bool)
    for start in range(0, cols, block_size):
        end = min(start + block_size, cols)
        block, u_block = w[:, start:end].clone(), u[start:end, start:end]
        errors = torch.zeros_like(block)
        block_keep = keep[:, start:end]
        if nm is None:  # adaptive mask selection: the block's own count of zeros, lowest w²/U_cc² first
            count = round(sparsity * rows * end) - round(sparsity * rows * start)
            score = block.square() / torch.diagonal(u_block).square()
            block_keep.copy_(_keep_top(score.reshape(1, -1), count)[0].view_as(block))
        for j in range(end - start):
            if nm is not None and j % nm[1] == 0:
                group = slice(j, j + nm[1])
                score = block[:, group].square() / torch.diagonal(u_block)[group].square()
                drop = torch.sort(score, dim=1, stable=True).indices[:, : nm[1] - nm[0]]
                block_keep[:, group] = torch.ones_like(score, dtype=torch.bool).scatter_(1, drop, False)
            error = (block[:, j] / u_block[j, j]) * ~block_keep[:, j]  # zero for the weights kept
            block[:, j:] -= error[:, None] * u_block[j, j:][None, :]  # the pruned weight becomes exactly 0
            errors[:, j] = error
        w[:, start:end] = block
        w[:, end:] -= errors @ u[start:end, end:]  # lazy batch update of the columns after the block
    w *= keep
    return w.to(weight.dtype), keep


class SparseGPT(Method):
    """SparseGPT one-shot pruning (Frantar & Alistarh 2023): layer-wise OBS reconstruction on calibration data, then recovery."""

    name, kind, version, Params = "sparsegpt", "unstructured", 1, Params
    pattern: ClassVar[tuple[int, int] | None] = None  # (n, m) for the N:M variant

    def before_training(self, model: nn.Module, ctx: PruneContext) -> None:
        self.check_sparsity(ctx.target_sparsity)
        p = self.params
        batches = list(calibration_batches(ctx, p.calibration_sequences))
        masks = {}
        for layer, linears in linears_by_layer(model):  # in order: later layers see the pruned earlier ones
            grams = input_grams(model, linears, batches, stop_after=layer)
            for name, linear in linears.items():
                weight, keep = sparsegpt_prune(linear.weight, grams[name].hessian(), ctx.target_sparsity,
                                               p.block_size, p.damp, self.pattern)
                with torch.no_grad():
                    linear.weight.copy_(weight)
                masks[f"{name}.weight"] = keep
            ctx.info["calibration_tokens"] = next(iter(grams.values())).tokens
        ctx.set_masks(model, masks)
        ctx.info["calibration_sequences"] = sum(len(b["input_ids"]) for b in batches)
        ctx.record_score_before_recovery(model)


class SparseGPT2of4(SparseGPT):
    """SparseGPT with the 2:4 pattern (2 kept of every 4 consecutive input weights), then recovery with it held."""

    name, kind = "sparsegpt-2of4", "semi-structured"
    pattern = (2, 4)
    valid_sparsities: ClassVar[tuple[float, ...]] = (0.5,)

    @classmethod
    def parse_params(cls, overrides):
        params = super().parse_params(overrides)
        if params.block_size % cls.pattern[1]:
            raise ValueError(f"block_size must be a multiple of {cls.pattern[1]} for the 2:4 pattern, got {params.block_size}")
        return params

"""2:4 semi-structured magnitude pruning (Mishra et al., 2021, "Accelerating Sparse Deep Neural Networks",
arXiv:2104.08378; NVIDIA's ASP recipe): in every group of four consecutive input weights of each encoder
linear, keep the two of largest |w|, then fine-tune the survivors with the pattern held fixed.

Why a method of its own: unstructured zeros give no speedup in dense kernels, but the 2:4 pattern is what
sparse tensor cores (NVIDIA Ampere and later) execute at up to twice the dense rate, so it is the one kind
of fine-grained sparsity a deployer can turn into speed on a GPU (`prunebench bench-efficiency` measures it
through `torch.sparse.to_sparse_semi_structured`). The pattern fixes the sparsity at exactly 0.5; any
other target is refused before anything runs. Like `magnitude-global` it starts from the fine-tuned dense
model and trains for the recovery recipe; the loop re-applies the mask after every step, so the pattern
holds in the final weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._masking import nm_masks
from .base import Method

N, M = 2, 4


@dataclass(frozen=True)
class Params:
    pass


class Magnitude2of4(Method):
    """2:4 semi-structured magnitude pruning: keep the 2 largest |w| of every 4 consecutive input weights, then recover."""

    name, kind, version, Params = "magnitude-2of4", "semi-structured", 1, Params
    valid_sparsities: ClassVar[tuple[float, ...]] = (N / M,)

    def before_training(self, model, ctx):
        self.check_sparsity(ctx.target_sparsity)
        scores = {n: w.detach().abs() for n, w in ctx.prunable(model).items()}
        ctx.set_masks(model, nm_masks(scores, N, M))

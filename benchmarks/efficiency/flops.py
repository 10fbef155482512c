"""FLOPs of one forward pass, dense and effective.

``dense``: what PyTorch's `FlopCounterMode` counts for the kernels that run: matrix products and attention,
2 FLOPs per multiply-add, zeros included (a dense kernel multiplies them too). This is the `flops` column
of a schema-v1 row. ``effective``: the same count with every ``nn.Linear``'s matmul scaled by the density
of its weight (non-zeros / elements), i.e. the work a kernel that skips zeros would still do. It is a
theoretical count, reached in practice only by kernels that exploit the pattern (2:4 sparse tensor cores
exactly halve a 2:4 layer's matmul). For a physically smaller (structured) model both counts are simply
the smaller model's. Element-wise work (softmax, GELU, LayerNorm, bias adds) is not counted, as in
`FlopCounterMode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .inputs import SEQ_LEN, synthetic_batch


def _attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """Q @ K^T and P @ V of a fused attention kernel: 2 * b * heads * s_q * s_k * (d_qk + d_v)."""
    b, heads, s_q, d = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    return 2 * b * heads * s_q * s_k * (d + d_v)


def _extra_formulas() -> dict:
    """Fused attention kernels `FlopCounterMode` has no formula for (PyTorch 2.11-2.13 counts the CUDA
    flash/efficient/cuDNN kernels but not the CPU one, so CPU rows would miss every attention FLOP)."""
    names = ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_fused_attention_overrideable")
    return {getattr(torch.ops.aten, n): _attention_flops for n in names if hasattr(torch.ops.aten, n)}


def density(weight: torch.Tensor) -> float:
    return int(torch.count_nonzero(weight)) / weight.numel() if weight.numel() else 1.0


@dataclass
class FlopCount:
    """FLOPs of one example at one sequence length."""

    dense: int  # every kernel as it runs, zeros included (the schema-v1 `flops` column)
    effective: int  # linear matmuls scaled by weight density (the non-zero work)
    linears: dict[str, tuple[int, float]] = field(default_factory=dict)  # module name -> (dense FLOPs, weight density)

    def of(self, names) -> tuple[int, int]:
        """(dense, effective) FLOPs of the named linear modules alone."""
        dense = sum(self.linears[n][0] for n in names)
        return dense, round(sum(self.linears[n][0] * self.linears[n][1] for n in names))


@torch.no_grad()
def count_flops(model: nn.Module, device: torch.device | None = None, seq_len: int = SEQ_LEN) -> FlopCount:
    """Count one forward pass of one synthetic example of `seq_len` tokens (no padding)."""
    device = device or next(model.parameters()).device
    inputs = synthetic_batch(model, 1, seq_len, device)
    with FlopCounterMode(display=False, custom_mapping=_extra_formulas()) as counter:
        model(**inputs)
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    linears = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            flops = int(sum(per_module.get(f"{root}.{name}", {}).values()))
            linears[name] = (flops, density(module.weight))
    dense = int(counter.get_total_flops())
    saved = sum(f * (1.0 - d) for f, d in linears.values())
    return FlopCount(dense, round(dense - saved), linears)

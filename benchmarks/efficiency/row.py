"""The efficiency columns of a schema-v1 row: parameters, FLOPs, latency, throughput, memory and size.

One function measures any model a run produces, dense or pruned, so rows compare like for like. Inputs are
synthetic (`inputs.py`) at the benchmark's sequence length (128). Timings: warm-up, synchronise, median of
``repeats`` (`timing.py`). What each column means:

- ``flops``: forward FLOPs per example at sequence length 128 as the kernels run, zeros included (a dense
  kernel multiplies them too); the non-zero ("effective") count goes to the row's sidecar JSON (`flops.py`).
- ``latency_ms``: one example (batch 1); ``throughput``: examples/s at batch 32.
- ``peak_mem_mb``: the model's tensors plus the most intermediate tensor memory alive at once during one
  batch-32 forward, on CUDA from the allocator, on CPU from following every tensor (`memory.py`).
- ``model_size_mb``: the dense safetensors file; the sparse (bit-mask) file size goes to the sidecar (`size.py`).

A value that cannot be measured is ``None`` (an empty cell) with the reason in ``notes``, never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .flops import count_flops
from .inputs import SEQ_LEN, synthetic_batch
from .memory import peak_memory_mb
from .size import dense_size_mb, sparse_size_mb
from .timing import median_seconds

LATENCY_BATCH = 1
THROUGHPUT_BATCH = 32
COLUMNS = ("params_total", "params_nonzero", "flops", "latency_ms", "throughput", "peak_mem_mb", "model_size_mb")


@dataclass
class Efficiency:
    params_total: int
    params_nonzero: int
    flops: int | None  # forward FLOPs per example at SEQ_LEN (dense count: zeros in dense kernels still cost)
    latency_ms: float | None  # batch 1
    throughput: float | None  # examples/s at batch THROUGHPUT_BATCH
    peak_mem_mb: float | None  # model tensors + peak live intermediates of one batch-32 forward (memory.py)
    model_size_mb: float  # dense safetensors file
    flops_effective: int | None = None  # linear matmuls scaled by weight density (sidecar only)
    sparse_size_mb: float | None = None  # bit-mask safetensors file (sidecar only)
    notes: list[str] = field(default_factory=list)

    def columns(self) -> dict:
        """The schema-v1 columns, meanings unchanged."""
        return {k: getattr(self, k) for k in COLUMNS}

    def extras(self) -> dict:
        """What the row's sidecar JSON adds: the non-zero work and the sparse file, with their meaning."""
        return {"flops_effective": self.flops_effective, "sparse_size_mb": self.sparse_size_mb, "seq_len": SEQ_LEN,
                "peak_mem_meaning": "model tensors + peak live intermediate tensors of one batch-32 forward",
                "notes": self.notes}


def count_params(model: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return total, nonzero


def forward_flops(model: nn.Module, device: torch.device, seq_len: int = SEQ_LEN) -> int:
    """FLOPs of one forward pass of one example (matrix products and attention, zeros included)."""
    return count_flops(model, device, seq_len).dense


def measure(model: nn.Module, device: torch.device, repeats: int = 10, bf16: bool = True) -> Efficiency:
    """Measure `model` as it will be deployed: eval mode, bf16 autocast on CUDA, fp32 on CPU."""
    model.eval()
    total, nonzero = count_params(model)
    flops = count_flops(model, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")
    one = synthetic_batch(model, LATENCY_BATCH, SEQ_LEN, device)
    many = synthetic_batch(model, THROUGHPUT_BATCH, SEQ_LEN, device)
    with autocast, torch.inference_mode():
        latency = median_seconds(lambda: model(**one), device, repeats)
        batch_time = median_seconds(lambda: model(**many), device, max(1, repeats // 2), warmup=1)
        peak = peak_memory_mb(model, lambda: model(**many), many, device)
    return Efficiency(total, nonzero, flops.dense, latency * 1e3, THROUGHPUT_BATCH / batch_time, peak,
                      dense_size_mb(model), flops.effective, sparse_size_mb(model))

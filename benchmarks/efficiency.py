"""What a deployer would see of a model: parameters, FLOPs, latency, throughput, memory and size.

One function measures any model, dense or pruned, so the comparison is like for like. Inputs are
synthetic token ids at the benchmark's sequence length (128), since cost does not depend on the text.
Timings: warm-up, synchronise, median of ``repeats``. A value that cannot be measured on a device is
``None`` (an empty cell) with the reason in ``notes``, never a made-up number.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

SEQ_LEN = 128
LATENCY_BATCH = 1
THROUGHPUT_BATCH = 32


@dataclass
class Efficiency:
    params_total: int
    params_nonzero: int
    flops: int | None  # forward FLOPs per example at SEQ_LEN (dense count: zeros in dense kernels still cost)
    latency_ms: float | None  # batch 1
    throughput: float | None  # examples/s at batch THROUGHPUT_BATCH
    peak_mem_mb: float | None  # peak device memory of the throughput measurement (CUDA only)
    model_size_mb: float  # dense safetensors file
    notes: list[str] = field(default_factory=list)

    def columns(self) -> dict:
        return {k: getattr(self, k) for k in ("params_total", "params_nonzero", "flops", "latency_ms", "throughput", "peak_mem_mb", "model_size_mb")}


def count_params(model: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return total, nonzero


def synthetic_batch(model: nn.Module, batch: int, seq_len: int, device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(1000, vocab, (batch, seq_len), generator=g).to(device)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if getattr(model.config, "type_vocab_size", 0):
        inputs["token_type_ids"] = torch.zeros_like(ids)
    return inputs


@torch.no_grad()
def forward_flops(model: nn.Module, device: torch.device, seq_len: int = SEQ_LEN) -> int:
    """FLOPs of one forward pass of one example (matrix products, attention; counted by PyTorch)."""
    inputs = synthetic_batch(model, 1, seq_len, device)
    with FlopCounterMode(display=False) as counter:
        model(**inputs)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def time_forward(model: nn.Module, inputs: dict, device: torch.device, repeats: int, warmup: int = 3) -> float:
    """Median seconds of one forward pass."""
    for _ in range(warmup):
        model(**inputs)
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(**inputs)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def safetensors_size_mb(model: nn.Module) -> float:
    from safetensors.torch import save_model

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        save_model(model, path)
        return os.path.getsize(path) / 2**20


def measure(model: nn.Module, device: torch.device, repeats: int = 10, bf16: bool = True) -> Efficiency:
    """Measure `model` as it will be deployed: eval mode, bf16 autocast on CUDA, fp32 on CPU."""
    model.eval()
    total, nonzero = count_params(model)
    notes = []
    flops = forward_flops(model, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")
    with autocast:
        latency = time_forward(model, synthetic_batch(model, LATENCY_BATCH, SEQ_LEN, device), device, repeats)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        batch_time = time_forward(model, synthetic_batch(model, THROUGHPUT_BATCH, SEQ_LEN, device), device, max(1, repeats // 2), warmup=1)
    peak = None
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        notes.append("peak_mem_mb: measured on CUDA only (the CPU allocator has no peak counter)")
    return Efficiency(total, nonzero, flops, latency * 1e3, THROUGHPUT_BATCH / batch_time, peak, safetensors_size_mb(model), notes)

"""Wall time of a callable as a deployer sees it: warm-up first, then the median of `repeats` timed calls,
each closed by a device synchronisation (CUDA events on a GPU, `perf_counter` on a CPU). The median,
because a shared machine has outliers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(call: Callable[[], object], device: torch.device, repeats: int, warmup: int = 3) -> float:
    """Median seconds of one `call()`."""
    for _ in range(warmup):
        call()
    sync(device)
    times = []
    if device.type == "cuda":
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cuda_graph(call: Callable[[], object], warmup: int = 3) -> Callable[[], object]:
    """Capture `call` (fixed input tensors) as one CUDA graph and return its replay: what a deployer does
    to remove per-kernel launch overhead from a small model. Raises if the call cannot be captured."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            call()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        call()
    return graph.replay

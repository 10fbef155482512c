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
    return statistics.median(_once(call, device) for _ in range(repeats))


def cuda_graph(call: Callable[[], object], warmup: int = 3) -> Callable[[], object]:
    """Capture `call` (fixed input tensors) as one CUDA graph and return its replay: what a deployer does
    to remove per-kernel launch overhead from a small model. Raises if the call cannot be captured.

    Each graph is captured on a stream of its own. PyTorch keys cuBLAS workspaces by capture stream, and
    destroying a graph frees the workspace of its stream (pytorch/pytorch#193402): graphs sharing the
    default capture stream could then replay into freed memory once one of them is gone. Callers free their
    graphs together (`release_graphs`) before capturing the next set. (This was the suspected cause of the
    bench's "illegal memory access" in large-batch `linears` groups; those crashes went on after it,
    results/v1/README.md.)"""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            call()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        call()
    torch.cuda.current_stream().wait_stream(stream)
    return graph.replay


def release_graphs(calls: dict, device: torch.device) -> None:
    """Drop every call of a measured group now, not whenever the garbage collector gets to them: a graph
    freed later, while the next group's graphs run, takes its stream's cuBLAS workspace with it."""
    import gc

    sync(device)  # nothing of the group may still run when its graphs go
    calls.clear()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def interleaved_medians(calls: dict, device: torch.device, repeats: int, warmup: int = 3) -> dict:
    """Median seconds of each call, timed in turns (`interleaved_stats`); a call that raised gets the exception."""
    stats = interleaved_stats(calls, device, repeats, warmup)
    return {k: v if isinstance(v, BaseException) else v[0] for k, v in stats.items()}


def interleaved_stats(calls: dict, device: torch.device, repeats: int, warmup: int = 3) -> dict:
    """(median, first quartile, third quartile) seconds of each call, timed in turns: round r times every
    call once (starting one further along each round), so slow drift on a shared machine (another job
    starting, a thermal limit) reaches every call alike, instead of whichever was timed while it lasted. A
    call that raises gets the exception as its value. Quartiles: `quartiles`."""
    keys = list(calls)
    times: dict = {k: [] for k in keys}
    failed: dict = {}
    for k in keys:
        try:
            for _ in range(warmup):
                calls[k]()
        except Exception as exc:  # reported per call; the others are still timed
            failed[k] = exc.with_traceback(None)  # a traceback would keep this frame, and its graphs, alive
    sync(device)
    alive = [k for k in keys if k not in failed]
    for r in range(repeats):
        for k in alive[r % len(alive):] + alive[: r % len(alive)] if alive else []:
            if k in failed:
                continue
            try:
                times[k].append(_once(calls[k], device))
            except Exception as exc:
                failed[k] = exc.with_traceback(None)
    return {k: failed[k] if k in failed else quartiles(times[k]) for k in keys}


def quartiles(seconds: list[float]) -> tuple[float, float, float]:
    """(median, Q1, Q3) of the timed calls; quartiles by `statistics.quantiles` with the 'inclusive' method
    (interpolated within the data's own range), all three equal for a single call."""
    if len(seconds) < 2:
        return seconds[0], seconds[0], seconds[0]
    q1, median, q3 = statistics.quantiles(seconds, n=4, method="inclusive")
    return median, q1, q3


def _once(call: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    start = time.perf_counter()
    call()
    return time.perf_counter() - start

"""Where one run's wall time goes, phase by phase, so that grid throughput is improved where the time is.

A run's row says how long training took (`train_seconds`); the grid's throughput also pays for everything
around it: starting Python and importing torch, tokenising or loading the token cache, loading the model
and the dense checkpoint, capturing CUDA graphs, evaluating, measuring efficiency and writing the results.
`PhaseTimes` records those seconds into the run's sidecar JSON (`profile`), never into the row, so the
schema and every row's meaning stay as they are (the row itself, one CSV line written after the sidecar,
is the one write the profile cannot include). `scripts/bench_grid_throughput.py` turns the sidecars of a
call into the profile table of `results/v2/README.md`.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

import torch

PHASES = ("process start and imports", "prepare (checks, data files)", "data and token cache", "model load",
          "dense checkpoint (fine-tune or load)", "method before training", "graph capture", "training steps",
          "evaluation", "efficiency measurement", "sidecar writing")


def process_age_seconds() -> float | None:
    """Seconds since this process started (Linux: from /proc/self/stat's start time), or None elsewhere.

    At the start of a run this is the cost of the interpreter start and the imports that preceded it.
    """
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        start_ticks = int(fields[19])  # field 22 of proc(5), counted from after the command name
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _check(name: str) -> None:
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; valid: {', '.join(PHASES)}")


class PhaseTimes:
    """Seconds per named phase of one run; CUDA work is synchronised at each boundary so that asynchronous
    kernels are charged to the phase that launched them (a handful of synchronisations per run)."""

    def __init__(self, device: torch.device | None = None):
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    def _sync(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the wall time of the block to `name`; raises ValueError for a name not in `PHASES`."""
        _check(name)
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - start

    def add(self, name: str, seconds: float) -> None:
        _check(name)
        self.seconds[name] += seconds

    def as_dict(self) -> dict[str, float]:
        return {name: round(self.seconds[name], 4) for name in PHASES if name in self.seconds}

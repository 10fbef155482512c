"""Efficiency measured for real: what a deployer of a pruned model would see.

- `measure` (`row.py`): the efficiency columns of one schema-v1 row, for any model a run produces.
- `bench` (`bench.py`, `prunebench bench-efficiency`): dense vs pruned variants through the speed paths that
  can turn pruning into time (`paths.py`), written to `results/v1/efficiency.csv` (`table.py`), every model
  running the same unmasked attention in every execution (`attention.py`).

FLOPs (`flops.py`), peak memory (`memory.py`), size (`size.py`) and timing (`timing.py`) are one module
each, shared by both, so a row and the efficiency table mean the same thing by the same word. Names are
loaded on first use, so importing the package (the CLI's parser does) does not import torch.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "SEQ_LEN": "inputs", "synthetic_batch": "inputs",
    "LATENCY_BATCH": "row", "THROUGHPUT_BATCH": "row", "Efficiency": "row", "count_params": "row",
    "forward_flops": "row", "measure": "row",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

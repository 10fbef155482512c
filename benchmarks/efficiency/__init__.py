"""Efficiency measured for real: what a deployer of a pruned model would see.

- `measure` (`measure.py`): the efficiency columns of one schema-v1 row, for any model a run produces.
- `bench` (`bench.py`, `prunebench bench-efficiency`): dense vs pruned variants through the speed paths that
  can turn pruning into time (`paths.py`), written to `results/v1/efficiency.csv` (`table.py`).

FLOPs (`flops.py`), peak memory (`memory.py`), size (`size.py`) and timing (`timing.py`) are one module
each, shared by both, so a row and the efficiency table mean the same thing by the same word.
"""

from .inputs import SEQ_LEN, synthetic_batch
from .measure import LATENCY_BATCH, THROUGHPUT_BATCH, Efficiency, count_params, forward_flops, measure

__all__ = ["SEQ_LEN", "LATENCY_BATCH", "THROUGHPUT_BATCH", "Efficiency", "count_params", "forward_flops", "measure",
           "synthetic_batch"]

"""Which GPU a run uses when a machine has several and nobody chose: the least-used one, by lock files.

Snakemake's local executor has no notion of GPU indices (snakemake/snakemake#281, open), so with the GPU profile
every run on a several-GPU machine used to land on GPU 0. Each run process instead claims one *slot*: an
exclusive `flock` on ``gpu<i>.<k>.lock`` under ``$PRUNEBENCH_CACHE/gpu-slots/``, trying slot 0 of every GPU,
then slot 1 of every GPU, and so on, so the runs spread evenly over the GPUs whatever starts them. The lock is
held by the open file until the process ends (a killed run frees its slot), and no file is ever deleted. A
process claims once and keeps its GPU for every run it makes (the persistent workers of `benchmarks.pool`).

Only ``--device auto`` or ``cuda`` with more than one visible GPU claims; ``cuda:<index>``, or a
``CUDA_VISIBLE_DEVICES`` naming one GPU (what `scripts/run_grid.py --gpus N` sets per place), is left alone.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

MAX_SLOTS_PER_GPU = 64  # beyond this many runs on every GPU at once, the last GPU is shared without a slot

_claimed: tuple[int, IO] | None = None  # this process's GPU and the open lock file that holds it


def claim(gpus: int, folder: Path) -> tuple[int, IO | None]:
    """(GPU index, open lock file) of the first free slot, slot by slot across the GPUs; the caller keeps the
    file open for as long as it uses the GPU. Raises ValueError for fewer than one GPU."""
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}")
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS_PER_GPU):
        for gpu in range(gpus):
            handle = open(folder / f"gpu{gpu}.{slot}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return gpu, handle
    return gpus - 1, None


def this_process_gpu(gpus: int, folder: Path) -> int:
    """The GPU this process claimed (claimed on the first call, kept until it exits)."""
    global _claimed
    if _claimed is None:
        _claimed = claim(gpus, folder)
    return _claimed[0]

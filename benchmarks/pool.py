"""A persistent run worker: many `prunebench run` commands, one after another, in one Python process.

Why: on the GPU machine a short run (MRPC, RTE, STS-B) spends more of its wall time starting Python,
importing torch and transformers and creating a CUDA context than training; one process per run pays
that every time (the profile in `results/v2/README.md` says how much). A worker pays it once and then
executes each command exactly as `prunebench run` would, by calling the same CLI entry point in-process.

Isolation: every run seeds Python, NumPy and torch itself before each phase (`train.seed_everything`),
builds its own model, optimiser, data order (seeded NumPy generators) and CUDA graphs, and shares no
module state with the runs before it that can move a result, so a row is the same whichever runs
shared the worker before it (bit-exact on CPU: `tests/test_pool.py`). Between runs the worker drops
what the previous run left (garbage, the CUDA caching allocator's free blocks) and resets logging so
that each run's messages go to its own log file.

Protocol (what `scripts/run_grid.py --pool` speaks): one JSON object per line on stdin,
``{"argv": [...], "log": "PATH"}`` (the arguments after ``prunebench``, and where the run's stdout and
stderr go), answered by one JSON line on stdout, ``{"code": EXIT_CODE, "seconds": WALL_SECONDS}``.
End of input ends the worker.

    python -m prunebench.benchmarks.pool < jobs.jsonl
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import IO


def _reset_logging() -> None:
    """`cli.main` configures logging with `basicConfig`, which does nothing once a handler exists: drop the
    previous run's handler (it writes to that run's closed log file)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def warm() -> None:
    """Import what every run imports and create the CUDA context before the first job arrives.

    Why: `scripts/run_grid.py --pool` starts its workers with the queue, while the first jobs (tokenising, the
    dense checkpoints) run, so these seconds overlap them instead of delaying each worker's first job: a
    checkpoint job that found its checkpoint took 12 s in a worker started for it (results/v2 call 39) and 2-5 s
    in one that had warmed (calls 42 and 45), and the first pruned runs started at 15-19 s instead of 24-25. The
    seconds are recorded as the process start of the worker's first run, as a separate process would report
    them, without the time the worker then waited for it."""
    import importlib

    import torch
    import torch._dynamo  # noqa: F401 - what a compiled step (step_mode auto-compile) imports at its first step

    from prunebench.methods._structure import ROLES
    from prunebench.methods.registry import available

    from . import runner
    from .run_profile import process_age_seconds

    available()  # discovers every method, entry points included
    for model_type in ROLES:  # the transformers model families a run can load
        importlib.import_module(f"transformers.models.{model_type}.modeling_{model_type}")
    if torch.cuda.is_available():
        torch.ones(1, device="cuda").sum().item()
    runner.process_start_seconds = process_age_seconds()


def _release_device_memory() -> None:
    gc.collect()
    import torch

    # dynamo's compiled graphs (step_mode auto-compile) are kept on purpose: a later run of the same architecture
    # reuses its one symbolic-length graph (benchmarks/train.py `_compiled`), the same whichever runs came
    # before, instead of compiling again (a worker's first compile took about 30 s on an H200, a later MRPC run's
    # compile and capture 0.49 s: results/v2 call 39)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


@contextlib.contextmanager
def _output_to(log_path: Path):
    """Point file descriptors 1 and 2 at `log_path` for the block: Python's streams, handlers that captured
    `sys.stderr` earlier (transformers keeps one) and C++ messages all land in the run's own log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.dup2(fd, 1), os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


def execute(argv: list[str], log_path: Path) -> int:
    """Run one `prunebench` command in this process, its output into `log_path`; returns its exit code.

    A crash inside the run (any exception, which in a separate process would be a traceback and exit code 1)
    is written to the log and returned as 1, so one bad run never takes the worker and its queue down."""
    from .cli import main

    with _output_to(log_path):
        _reset_logging()
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # noqa: BLE001 - the exit code a separate process would have given
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            _reset_logging()
    _release_device_memory()
    return code


def serve(jobs: IO[str], answers: IO[str]) -> int:
    """Execute each job line of `jobs`, answering each on `answers`; returns 0 at end of input.

    Raises ValueError on a line that is not a job object (the caller wrote something else)."""
    for line in jobs:
        if not line.strip():
            continue
        job = json.loads(line)
        if not isinstance(job, dict) or not isinstance(job.get("argv"), list) or "log" not in job:
            raise ValueError(f"pool: a job is {{\"argv\": [...], \"log\": PATH}}, got {line.strip()[:200]!r}")
        start = time.perf_counter()
        try:
            code = execute([str(a) for a in job["argv"]], Path(job["log"]))
        except KeyboardInterrupt:  # between runs or outside `cli.main`'s own handler: the same exit code
            code = 130
        answers.write(json.dumps({"code": code, "seconds": time.perf_counter() - start}) + "\n")
        answers.flush()
        if code == 130:  # the run was interrupted (Ctrl-C, `timeout -s INT`): the queue is being stopped
            return 130
    return 0


if __name__ == "__main__":
    warm()
    # answers go to a copy of the original stdout: descriptor 1 itself is pointed at each run's log
    sys.exit(serve(sys.stdin, os.fdopen(os.dup(1), "w")))

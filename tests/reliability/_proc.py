"""`prunebench run` as a separate process, as the workflow starts it: for kills, races and determinism.

Runs use the tiny random BERT, 64 training and 48 evaluation examples of the embedded RTE sample, one
thread each (two processes share the 2 cores of CI), and a cache folder of the caller's choosing.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from conftest import FAST_TRAIN

ROOT = Path(__file__).resolve().parents[2]
# columns that measure the machine or the moment, not the computation
TIMING_COLUMNS = ("created_at", "latency_ms", "throughput", "peak_mem_mb", "train_seconds")


def run_argv(model_dir: Path, out: Path, method: str = "magnitude-global", sparsity: float = 0.5, seed: int = 0) -> list[str]:
    argv = [sys.executable, "-m", "prunebench.benchmarks.cli", "run", "--model", f"local:{model_dir}", "--task", "rte",
            "--method", method, "--sparsity", str(sparsity), "--seed", str(seed), "--data-source", "embedded",
            "--device", "cpu", "--threads", "1", "--out", str(out)]
    for pair in FAST_TRAIN:
        argv += ["--set", pair]
    return argv


def run_grid(model_dir: Path, methods: str, tmp: Path, *flags: str, env: dict[str, str] | None = None):
    """`scripts/run_grid.py` on a one-model, one-task (RTE), one-seed grid of the tiny BERT with FAST_TRAIN, its
    `methods` the YAML mapping's body (e.g. ``"dense: {sparsities: [0.0]}"``), two places on the CPU, into
    `tmp`/root; returns (the finished process, that root)."""
    train = ", ".join(f"{k}: {v}" for k, v in (pair.split("=") for pair in FAST_TRAIN))
    cfg = tmp / "grid.yaml"
    cfg.write_text(f"tag: t\nmodels: ['local:{model_dir}']\ntasks: [rte]\nseeds: [0]\ndata_source: embedded\n"
                   f"methods: {{{methods}}}\ntrain: {{{train}}}\n")
    root = tmp / "root"
    done = subprocess.run([sys.executable, "scripts/run_grid.py", str(cfg), "--root", str(root), "--workers", "2",
                           "--threads", "1", "--device", "cpu", *flags], cwd=ROOT, env=env or run_env(tmp / "cache"),
                          capture_output=True, text=True)
    return done, root


def run_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PRUNEBENCH_CACHE=str(cache), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]))
    return env


def start(argv: list[str], cache: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=run_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def run(argv: list[str], cache: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=run_env(cache), capture_output=True, text=True, timeout=timeout)


def read_row(path: Path) -> dict[str, str]:
    with open(path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    return row


def leftovers(*folders: Path) -> list[Path]:
    """Temporary files or folders (hidden names) anywhere under `folders`."""
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob(".*"))

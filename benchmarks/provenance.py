"""Where a number came from: code version, library versions, device."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """The commit of the code that ran, with ``-dirty`` when the tree had uncommitted changes.

    ``PRUNEBENCH_GIT_COMMIT`` overrides it for copies of the tree without ``.git`` (the GPU machine).
    """
    if os.environ.get("PRUNEBENCH_GIT_COMMIT"):
        return os.environ["PRUNEBENCH_GIT_COMMIT"]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads)"


def pick_device(name: str = "auto") -> torch.device:
    """The device of `name` ("auto": CUDA where there is one). With several visible GPUs, "auto" and "cuda" get
    the least-used one (`gpu_slots`: the runs a workflow starts side by side spread over the GPUs), made the
    current device so that graphs, streams and memory statistics follow it."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and torch.cuda.device_count() > 1:
        from .gpu_slots import this_process_gpu
        from .tokens import cache_dir

        index = this_process_gpu(torch.cuda.device_count(), cache_dir() / "gpu-slots")
        torch.cuda.set_device(index)
        return torch.device(f"cuda:{index}")
    return torch.device(name)


def versions() -> dict[str, str]:
    import transformers

    return {"torch_version": torch.__version__, "transformers_version": transformers.__version__}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

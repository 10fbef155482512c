"""The DeepSparse speed paths: the exported ONNX file compiled by DeepSparse 1.8, a CPU runtime whose own
kernels skip the zeros of unstructured-sparse weights (Kurtic et al. 2022, the oBERT paper, section 4: its
speedups are DeepSparse's).

DeepSparse reached its end of life in June 2025: 1.8.0 is the last release that installs (1.9.0 on PyPI
refuses to build on purpose), its wheels stop at CPython 3.11, and it pins onnx 1.14 and numpy 1.26, which
this project's environment cannot have. So it lives in an environment of its own, made by one command,

    bash scripts/setup_deepsparse.sh        # .venvs/deepsparse with deepsparse==1.8.0 (CPython 3.11)

and the bench talks to it through a worker process (`deepsparse_worker.py`: ONNX files and shapes in, JSON
timings out). Licence: the Neural Magic DeepSparse Community License (the wheel's METADATA); its LICENSE
(November 2022) grants use solely for evaluation in development and testing environments, not for production. Where the environment is missing, the rows say
so and name the command.

| path | model |
|---|---|
| ``deepsparse-fp32`` | the fp32 ONNX file at opset 17 (what onnx 1.14 reads) |
| ``deepsparse-int8`` | that file quantized to int8 QDQ by NNCF post-training quantization (as the OpenVINO int8 path; `quantize` says why not onnxruntime's); whether DeepSparse runs it in its int8 kernels is in the row's kernels and its time |

Each (scope, batch) group of these paths is timed in one worker call, the models in turns (as the bench
times its in-process paths), so each variant is compared with DeepSparse's own dense model under the
same conditions. The worker's time excludes the process hop: it times `engine.run` itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .inputs import synthetic_batch
from .paths import Engine, Unavailable, first_line

PRECISIONS = {"deepsparse-fp32": "fp32", "deepsparse-int8": "int8"}
OPSET = 17
CALIBRATION = 8
SETUP = "bash scripts/setup_deepsparse.sh"
WORKER = Path(__file__).with_name("deepsparse_worker.py")
TIMEOUT_S = 3600


def python() -> Path | None:
    """The DeepSparse environment's interpreter: $PRUNEBENCH_DEEPSPARSE_PYTHON, else .venvs/deepsparse of
    the checkout (or of the working directory); None when there is none."""
    if os.environ.get("PRUNEBENCH_DEEPSPARSE_PYTHON"):
        return Path(os.environ["PRUNEBENCH_DEEPSPARSE_PYTHON"])
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = root / ".venvs" / "deepsparse" / "bin" / "python"
        if candidate.exists():
            return candidate
    return None


def ask(request: dict, timeout_s: float = TIMEOUT_S) -> dict:
    """Send one request to a fresh worker and return its answer. Raises `Unavailable` when there is no
    DeepSparse environment or the worker fails (its last stderr line in the message)."""
    exe = python()
    if exe is None or not exe.exists():
        raise Unavailable(f"no DeepSparse environment (make it with: {SETUP})")
    done = subprocess.run([str(exe), str(WORKER)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, "NM_DISABLE_ANALYTICS": "1"})
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        err = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        answer = lines[-1] if lines else ""
        raise Unavailable(f"DeepSparse worker failed: {answer or err}"[:300])
    return json.loads(lines[-1])


def quantize(onnx_path: str, model: nn.Module, out: str, calibration: list[dict] | None = None) -> str:
    """`onnx_path` quantized to int8 QDQ ONNX by NNCF post-training quantization (its ONNX backend,
    ``ModelType.TRANSFORMER``: the recipe of the OpenVINO int8 path) at `out` (returned, IR `OLD_IR`), calibrated
    on `calibration` (input dicts of numpy arrays; default: `CALIBRATION` synthetic batches of `model`'s inputs).

    Not onnxruntime's `quantize_static`: with MinMax calibration on 64 training sentences (per-channel int8
    weights, uint8 activations) it cost MiniLM 12.9 points of SST-2 dev accuracy already in onnxruntime
    (83.5 -> 70.6; results/v1/README.md), so DeepSparse's int8 rows would have measured that recipe."""
    if os.path.exists(out):
        return out
    import onnx

    from .onnx_export import OLD_IR
    from .openvino_path import post_training_int8

    batches = calibration or [{k: v.numpy() for k, v in synthetic_batch(model, 4, 128, torch.device("cpu"), mask=False).items()}
                              for _ in range(CALIBRATION)]
    quantized = post_training_int8(onnx.load(onnx_path), batches)
    quantized.ir_version = min(quantized.ir_version, OLD_IR)
    onnx.save(quantized, out)
    return out


@dataclass
class Job:
    """One model for the worker: its file and what the worker needs to feed it."""

    onnx: str
    inputs: list[str]
    vocab: int


def deepsparse_engine(path: str, model: nn.Module, device: torch.device, workdir: str, key: str) -> Engine:
    """`model` (a fp32 CPU variant) on a DeepSparse path: exported (and quantized) here, timed by the worker."""
    if device.type != "cpu":
        raise Unavailable("the DeepSparse paths are measured on CPU only")
    if python() is None:
        raise Unavailable(f"no DeepSparse environment (make it with: {SETUP})")
    from . import onnx_export

    model = model.float().eval()
    try:
        onnx_path = onnx_export.cached(model, workdir, key, opset=OPSET)
        if PRECISIONS[path] == "int8":
            onnx_path = quantize(onnx_path, model, onnx_path.removesuffix(".onnx") + "-int8.onnx")
    except Unavailable:
        raise
    except Exception as exc:  # exporter or quantizer; the reason goes into the row
        raise Unavailable(f"ONNX for DeepSparse failed: {first_line(exc)}") from None
    names = list(synthetic_batch(model, 1, 2, torch.device("cpu"), mask=False))
    engine = Engine(path, "deepsparse", lambda feed: None, model, device)
    engine.worker = Job(onnx_path, names, model.config.vocab_size)
    engine.row = {"dtype": PRECISIONS[path] if PRECISIONS[path] == "int8" else "float32"}
    engine.notes.append(f"DeepSparse {'int8 (NNCF post-training QDQ quantization)' if PRECISIONS[path] == 'int8' else 'fp32'}, "
                        f"opset {OPSET}, timed in its own process (.venvs/deepsparse)")
    return engine


def time_group(jobs: dict, batch: int, seq_len: int, repeats: int, warmup: int, threads: int) -> dict:
    """Time the worker jobs of one (batch, sequence length) group in one worker call, in turns.

    `jobs`: key -> `Job`. Returns key -> {"median_s", "q1_s", "q3_s", "threads", "kernels", "runtime_version"}
    or an exception (that model failed, or the worker did)."""
    if not jobs:
        return {}
    first = next(iter(jobs.values()))
    request = {"task": "time", "models": {str(k): j.onnx for k, j in jobs.items()}, "inputs": first.inputs,
               "vocab": first.vocab, "batch": batch, "seq_len": seq_len, "repeats": repeats, "warmup": warmup,
               "threads": threads}
    try:
        answer = ask(request)
    except (Unavailable, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return {k: RuntimeError(first_line(exc)) for k in jobs}
    out = {}
    for k in jobs:
        got = answer["results"].get(str(k), {"error": "no answer for this model"})
        out[k] = (RuntimeError(got["error"]) if "error" in got
                  else {**got, "runtime_version": f"deepsparse {answer['deepsparse_version']}"})
    return out


def run_logits(onnx_path: str, arrays: dict, batch: int, threads: int, workdir: str) -> tuple:
    """The model's first output (logits, (rows, labels)) for `arrays` (name -> int64 (rows, seq_len)) run by
    DeepSparse in the worker; returns (logits as a numpy array, the worker's answer). Raises `Unavailable`."""
    import numpy as np

    src, dst = os.path.join(workdir, "ds-inputs.npz"), os.path.join(workdir, "ds-logits.npz")
    np.savez(src, **arrays)
    answer = ask({"task": "run", "model": onnx_path, "inputs_npz": src, "out_npz": dst, "batch": batch, "threads": threads})
    with np.load(dst) as data:
        return data["logits"], answer


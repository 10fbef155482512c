"""The DeepSparse worker: runs in DeepSparse's own environment (`scripts/setup_deepsparse.sh`), never
imports the project, and talks JSON: one request on stdin, one answer on stdout.

DeepSparse 1.8 pins onnx 1.14 and numpy 1.26, which the project's own environment cannot have, so the
bench (`deepsparse_path.py`) starts ``<deepsparse python> deepsparse_worker.py`` and sends it one of:

    {"task": "time", "models": {"<name>": "<file.onnx>", ...}, "inputs": ["input_ids", ...], "vocab": 30522,
     "batch": 32, "seq_len": 128, "repeats": 10, "warmup": 2, "threads": 1}
      -> {"deepsparse_version": "1.8.0",
          "results": {"<name>": {"seconds": [...], "median_s": .., "q1_s": .., "q3_s": .., "threads": 1,
                                 "kernels": "..."} | {"error": "<one line>"}}}
    {"task": "run", "model": "<file.onnx>", "inputs_npz": "<in.npz>", "out_npz": "<out.npz>", "batch": 32, "threads": 1}
      -> {"deepsparse_version": "1.8.0", "rows": <count>, "kernels": "...", "threads": 1}

``time`` compiles every model for that batch and sequence length, then times them in turns (`interleaved`:
round r starts one model further along), as the bench does in its own process: the dense model and its
variants share the machine's drift. Inputs are random token ids in [min(1000, vocab-1), vocab) (seeded) and
zeros for the other inputs. ``run`` feeds the arrays of ``inputs_npz`` (each shaped (rows, seq_len)) in
batches of ``batch`` (the last one padded with its first row and cut) and writes the first output
(logits, (rows, labels)) to ``out_npz`` as ``logits``. Errors: a model that fails gets ``error``;
a bad request exits 2 with {"error": ...}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def interleaved(calls: dict, repeats: int, warmup: int) -> dict:
    """Seconds of every call of `calls` (name -> zero-argument callable), `repeats` timed calls each, in turns:
    every call warms up `warmup` times, then round r times each call once, starting r places along. Returns
    name -> list of seconds, or the exception of a call that raised."""
    names = list(calls)
    out: dict = {n: [] for n in names}
    for n in names:
        try:
            for _ in range(warmup):
                calls[n]()
        except Exception as exc:  # reported for that model; the others are still timed
            out[n] = exc
    alive = [n for n in names if isinstance(out[n], list)]
    for r in range(repeats):
        for n in alive[r % len(alive):] + alive[: r % len(alive)] if alive else []:
            if not isinstance(out[n], list):
                continue
            try:
                start = time.perf_counter()
                calls[n]()
                out[n].append(time.perf_counter() - start)
            except Exception as exc:
                out[n] = exc
    return out


def summary(seconds: list[float]) -> dict:
    """Median and quartiles (the 'inclusive' method: the data's own range) of a list of seconds."""
    if len(seconds) > 1:
        q1, _, q3 = statistics.quantiles(seconds, n=4, method="inclusive")
    else:
        q1 = q3 = seconds[0]
    return {"seconds": seconds, "median_s": statistics.median(seconds), "q1_s": q1, "q3_s": q3}


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def kernels(engine) -> str:
    """What DeepSparse says about how it runs the model: its instruction set and the share of the graph's
    operators its own kernels run (the rest runs in its bundled onnxruntime)."""
    vnni = " VNNI" if engine.cpu_vnni else ""
    return f"DeepSparse {engine.cpu_avx_type}{vnni}; {engine.fraction_of_supported_ops:.1%} of operators in DeepSparse kernels"


def _compile(path: str, batch: int, shape: list[int], count: int, threads: int):
    """DeepSparse's engine for `path` at one input shape. DeepSparse writes the shapes it is asked for into
    the ONNX file it is given, so it gets a copy (kept until the worker exits: the engine reads its file
    again for its input names): the caller's file keeps its dynamic axes."""
    import atexit
    import os
    import shutil
    import tempfile

    from deepsparse import compile_model

    folder = tempfile.mkdtemp(prefix="deepsparse-worker-")
    atexit.register(shutil.rmtree, folder, True)
    copy = os.path.join(folder, os.path.basename(path))
    shutil.copyfile(path, copy)
    return compile_model(copy, batch_size=batch, num_cores=threads, input_shapes=[shape] * count)


def _time(request: dict) -> dict:
    import numpy as np

    batch, seq_len, vocab = int(request["batch"]), int(request["seq_len"]), int(request["vocab"])
    rng = np.random.default_rng(0)
    arrays = {}
    for name in request["inputs"]:
        if name == "input_ids":
            arrays[name] = rng.integers(min(1000, vocab - 1), vocab, (batch, seq_len), dtype=np.int64)
        else:
            arrays[name] = (np.ones if name == "attention_mask" else np.zeros)((batch, seq_len), dtype=np.int64)
    engines, feeds, results = {}, {}, {}
    for name, path in request["models"].items():
        try:
            engines[name] = _compile(path, batch, [batch, seq_len], len(arrays), int(request["threads"]))
            feeds[name] = [arrays[n] for n in engines[name].input_names]  # in the graph's order
        except Exception as exc:  # a model DeepSparse cannot compile: said for that model
            engines.pop(name, None)
            results[name] = {"error": f"compile failed: {_line(exc)}"}
    timed = interleaved({n: (lambda e=e, f=feeds[n]: e.run(f, val_inp=False)) for n, e in engines.items()},
                        int(request["repeats"]), int(request["warmup"]))
    for name, seconds in timed.items():
        if isinstance(seconds, BaseException):
            results[name] = {"error": f"run failed: {_line(seconds)}"}
        else:
            results[name] = {**summary(seconds), "threads": engines[name].num_cores, "kernels": kernels(engines[name])}
    return {"results": results}


def _run(request: dict) -> dict:
    import numpy as np

    batch = int(request["batch"])
    with np.load(request["inputs_npz"]) as data:
        named = {k: data[k] for k in data.files}
    rows, seq_len = next(iter(named.values())).shape
    engine = _compile(request["model"], batch, [batch, seq_len], len(named), int(request["threads"]))
    arrays = [named[n] for n in engine.input_names]  # in the graph's order
    logits = []
    for start in range(0, rows, batch):
        chunk = [a[start:start + batch] for a in arrays]
        n = len(chunk[0])
        if n < batch:  # the engine is compiled for one batch size
            chunk = [np.concatenate([c, np.repeat(c[:1], batch - n, axis=0)]) for c in chunk]
        logits.append(engine.run(chunk, val_inp=False)[0][:n])
    np.savez(request["out_npz"], logits=np.concatenate(logits))
    return {"rows": rows, "threads": engine.num_cores, "kernels": kernels(engine)}


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        task = request["task"]
        if task not in ("time", "run"):
            raise ValueError(f"unknown task {task!r}; valid tasks: time, run")
    except (ValueError, KeyError, TypeError) as exc:
        print(json.dumps({"error": f"bad request: {_line(exc)}"}))
        return 2
    answer_to, sys.stdout = sys.stdout, sys.stderr  # DeepSparse's own messages must not mix into the answer
    import deepsparse

    answer = _time(request) if task == "time" else _run(request)
    answer_to.write(json.dumps({"deepsparse_version": deepsparse.__version__, **answer}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

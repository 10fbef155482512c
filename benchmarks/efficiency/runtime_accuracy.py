"""What a runtime and precision cost in accuracy: the dev-set score of a fine-tuned (pruned) checkpoint run
through the same runtime and precision as its timed rows, next to its score in PyTorch fp32.

    python -m prunebench.benchmarks.efficiency.runtime_accuracy --checkpoint DIR --task sst2 \\
        --paths openvino,deepsparse --out results/v1/efficiency-accuracy.csv

Sentences are tokenized to at most `SEQ_LEN` tokens, padded, with the attention mask as an input of the exported
model (the timing rows need no mask: their synthetic batches have no padding). int8 models are calibrated
on `CALIBRATION` training sentences (NNCF post-training quantization, for OpenVINO and DeepSparse alike),
never on the dev set they are scored on. Each row: the checkpoint, task, path, score (the task's primary
metric, 0-100, `metrics.primary_score`), the PyTorch fp32 score of the same checkpoint, their difference,
the share of dev examples whose predicted class differs from PyTorch's (`flipped`), and, last, the share of
zero encoder-linear weights of the scored model (`sparsity`) and what those weights are (`weights`:
`fine-tuned`, a run's final model, dense or pruned then fine-tuned, as `prunebench run --save-model` keeps
it; `one-shot`, pruned here by `--variant` with no recovery training). Rows written before those two columns
existed leave them empty; `analysis/runtimes.load_accuracy` reads them from the checkpoint label.

The checkpoint is loaded as every run's own checkpoint is (`models.load_model` with its trained head kept).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from prunebench.benchmarks.errors import UsageError

SEQ_LEN = 128
BATCH = 32
CALIBRATION = 64  # training sentences for int8 calibration
COLUMNS = ("checkpoint", "task", "path", "dtype", "examples", "score", "torch_score", "score_delta", "flipped",
           "runtime_version", "kernels", "git_commit", "created_at", "sparsity", "weights")
RUN_INFO = "prunebench-run.json"  # written beside the weights by `prunebench run --save-model` (runner.save_model)


def _run_task(folder: Path) -> str | None:
    """The task the run that saved `folder` trained on (`RUN_INFO`), or None for a folder from elsewhere."""
    import json

    info_path = folder / RUN_INFO
    return json.loads(info_path.read_text())["row"]["task"] if info_path.is_file() else None


def checkpoint_label(folder: Path) -> str:
    """How a checkpoint is named in the table: from the run that saved it where `RUN_INFO` says (model, method,
    sparsity, task, training examples, recipe, the run's own score), else the folder's path."""
    import json

    info_path = folder / RUN_INFO
    if not info_path.is_file():
        return str(folder)
    info = json.loads(info_path.read_text())
    row, train = info["row"], info["config"]["train"]
    method = "dense" if row["method"] == "dense" else f"{row['method']}@{row['target_sparsity']:g}"
    recipe = f"{train['epochs']:g} epochs, lr {train['lr']:g}"
    if row["method"] != "dense":
        recipe += f"; recovery {train['recovery_epochs']:g} epochs, lr {train['recovery_lr']:g}"
    return (f"{row['model']} {method} fine-tuned on {row['task']} ({row['train_examples']} training examples, {recipe}; "
            f"run {row['run_id']}, dev {row['metric']} {row['score']:.2f})")


def encode(tokenizer, task, frame, seq_len: int = SEQ_LEN) -> dict[str, np.ndarray]:
    """The sentences of `frame` (the task's text columns) as int64 arrays (rows, length): cut at `seq_len`
    tokens and padded to the longest of the frame, one shape for all (DeepSparse compiles for one shape)."""
    texts = [frame[f].astype(str).tolist() for f in task.fields]
    encoded = tokenizer(*texts, padding="longest", truncation=True, max_length=seq_len, return_tensors="np")
    return {k: v.astype(np.int64) for k, v in encoded.items()}


def _batches(arrays: dict[str, np.ndarray], size: int):
    rows = len(next(iter(arrays.values())))
    for start in range(0, rows, size):
        yield {k: v[start:start + size] for k, v in arrays.items()}


def torch_logits(model: nn.Module, arrays: dict[str, np.ndarray], batch: int = BATCH) -> np.ndarray:
    """The reference: the model in PyTorch fp32, (rows, labels)."""
    model = model.float().eval()
    with torch.inference_mode():
        return np.concatenate([model(**{k: torch.from_numpy(v) for k, v in b.items()}).logits.numpy()
                               for b in _batches(arrays, batch)])


def runtime_logits(path: str, model: nn.Module, arrays: dict[str, np.ndarray], calibration: dict[str, np.ndarray],
                   workdir: str, threads: int = 1, batch: int = BATCH) -> tuple[np.ndarray, dict]:
    """Logits (rows, labels) of `model` on `arrays` through one runtime path (`paths.RUNTIMES`), and what the
    runtime reports (dtype, kernels, runtime_version). `calibration`: input arrays for int8 paths. Raises
    `paths.Unavailable` where the runtime is missing."""
    from . import onnx_export
    from .paths import Unavailable

    calib = list(_batches(calibration, 8))
    if path == "onnxruntime":
        import onnxruntime as ort

        onnx_path = onnx_export.cached(model, workdir, "scored", mask=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        out = np.concatenate([session.run(None, {k: v for k, v in b.items() if k in names})[0] for b in _batches(arrays, batch)])
        return out, {"dtype": "float32", "runtime_version": f"onnxruntime {ort.__version__}", "kernels": ""}
    if path.startswith("openvino"):
        from . import openvino_path as ovp

        onnx_path = onnx_export.cached(model, workdir, "scored", mask=True)
        precision = ovp.PRECISIONS[path]
        source = onnx_path
        if precision.startswith("int8"):
            source = ovp.quantize(onnx_path, calib, onnx_path.removesuffix(".onnx") + "-int8.xml")
        compiled = ovp.compile_model(source, precision, threads)
        request = compiled.create_infer_request()
        names = {i.get_any_name() for i in compiled.inputs}
        out = np.concatenate([next(iter(request.infer({k: v for k, v in b.items() if k in names}).values())).copy()
                              for b in _batches(arrays, batch)])
        said = ovp.reported(compiled)
        return out, {"dtype": "int8" if precision.startswith("int8") else said["precision"],
                     "runtime_version": f"openvino {ovp.version()}", "kernels": ovp.kernels(compiled)}
    if path.startswith("deepsparse"):
        from . import deepsparse_path as dsp

        onnx_path = onnx_export.cached(model, workdir, "scored", mask=True, opset=dsp.OPSET)
        if dsp.PRECISIONS[path] == "int8":
            onnx_path = dsp.quantize(onnx_path, model, onnx_path.removesuffix(".onnx") + "-int8.onnx", calibration=calib)
        out, answer = dsp.run_logits(onnx_path, arrays, batch, threads, workdir)
        return out, {"dtype": dsp.PRECISIONS[path].replace("fp32", "float32"),
                     "runtime_version": f"deepsparse {answer['deepsparse_version']}", "kernels": answer["kernels"]}
    raise Unavailable(f"no dev-set scoring for path {path!r}")


def score_paths(model: nn.Module, tokenizer, task, dev, train, paths: list[str], threads: int = 1) -> list[dict]:
    """One row per path: the dev-set score through that runtime and precision against PyTorch fp32's."""
    from prunebench.benchmarks.metrics import compute_metrics, predictions_from_logits, primary_score

    from .paths import first_line

    arrays, labels = encode(tokenizer, task, dev), dev["label"].to_numpy()
    calibration = encode(tokenizer, task, train.head(CALIBRATION))
    reference = torch_logits(model, arrays)
    ref_pred = predictions_from_logits(task, reference)
    ref_score = primary_score(task, compute_metrics(task, ref_pred, labels))
    rows = []
    with tempfile.TemporaryDirectory(prefix="prunebench-acc-") as workdir:
        for path in paths:
            row = {"task": task.name, "path": path, "examples": len(labels), "torch_score": ref_score}
            try:
                logits, said = runtime_logits(path, model, arrays, calibration, workdir, threads)
            except Exception as exc:  # a runtime missing or failing on this model: said in its row, the others go on
                rows.append({**row, "kernels": f"not scored: {first_line(exc)}"})
                continue
            pred = predictions_from_logits(task, logits)
            score = primary_score(task, compute_metrics(task, pred, labels))
            flipped = float(np.mean(pred != ref_pred)) if not task.is_regression else None
            rows.append({**row, **said, "score": score, "score_delta": score - ref_score, "flipped": flipped})
    return rows


def main(argv: list[str] | None = None) -> int:
    from prunebench.benchmarks import provenance
    from prunebench.benchmarks.data import load_splits
    from prunebench.benchmarks.errors import unknown
    from prunebench.benchmarks.tasks import get_task

    from .paths import GROUPS, RUNTIMES

    p = argparse.ArgumentParser(prog="runtime_accuracy", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="a fine-tuned sequence-classification model folder (e.g. from prunebench run --save-model)")
    p.add_argument("--task", default="sst2")
    p.add_argument("--tokenizer", type=Path, default=None, help="tokenizer folder or alias (default: the checkpoint's)")
    p.add_argument("--variant", default="dense",
                   help="prune the checkpoint first, as bench-efficiency does (e.g. magnitude-global@0.5): one-shot, "
                        "with no recovery training, so the score measures what the runtime and precision change, "
                        "not what pruning costs after fine-tuning")
    p.add_argument("--paths", default="openvino,deepsparse", help=f"comma-separated: {', '.join((*RUNTIMES, *GROUPS))}")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("results/v1/efficiency-accuracy.csv"))
    args = p.parse_args(argv)
    try:
        paths = [q for x in args.paths.split(",") if x.strip() for q in GROUPS.get(x.strip(), (x.strip(),))]
        for x in paths:
            if x not in RUNTIMES:
                raise unknown("path", x, (*RUNTIMES, *GROUPS))
        task = get_task(args.task)
        if not (args.checkpoint / "config.json").is_file():
            raise UsageError(f"--checkpoint: {args.checkpoint} has no config.json (a saved transformers model folder)")
        from prunebench.benchmarks.models import load_model, resolve

        from .variants import build, parse_variant

        variant = parse_variant(args.variant)
        spec = resolve(f"local:{args.checkpoint}")  # checks the folder: config readable, whole safetensors weights
        trained_on = _run_task(args.checkpoint)
        if trained_on not in (None, task.name):
            raise UsageError(f"--checkpoint {args.checkpoint} was fine-tuned on {trained_on} ({RUN_INFO}), not on --task {task.name}")
        torch.set_num_threads(args.threads)
        # the run's own head is the point here: kept, as the harness keeps a checkpoint it saved for this task
        loaded = load_model(spec, task, keep_head=True).eval()
        if args.tokenizer is not None and not args.tokenizer.exists():
            args.tokenizer = Path(resolve(str(args.tokenizer)).location)
    except UsageError as exc:
        print(f"runtime_accuracy: error: {exc}", file=sys.stderr)
        return 2
    from transformers import AutoTokenizer

    from prunebench.methods._masking import measured_sparsity
    from prunebench.methods._structure import prunable_weights

    model = build(variant, loaded)
    sparsity = measured_sparsity(prunable_weights(model))
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or args.checkpoint)
    splits = load_splits(task)
    dev = next(iter(splits.evals.values()))
    rows = score_paths(model, tokenizer, task, dev, splits.train, paths, args.threads)
    import pandas as pd

    name = checkpoint_label(args.checkpoint) + ("" if variant.name == "dense" else f" + {variant.name} (one-shot, no recovery)")
    stamp = {"checkpoint": name, "git_commit": provenance.git_commit(), "created_at": provenance.utc_now(),
             "sparsity": sparsity, "weights": "fine-tuned" if variant.name == "dense" else "one-shot"}
    new = pd.DataFrame([{**stamp, **r} for r in rows], columns=list(COLUMNS))
    if args.out.exists():
        old = pd.read_csv(args.out, dtype=str)
        keep = ~old.set_index(["checkpoint", "task", "path"]).index.isin(new.set_index(["checkpoint", "task", "path"]).index)
        new = pd.concat([old[keep], new.astype(str)], ignore_index=True)
    new.to_csv(args.out, index=False)
    print(new.tail(len(rows)).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

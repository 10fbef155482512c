"""One ONNX file per model, shared by every ONNX-fed speed path (onnxruntime, OpenVINO, DeepSparse).

The export keeps the batch and sequence axes dynamic, so one file serves every batch size and every
dev-set length. It uses the dynamo exporter with explicit ``dynamic_shapes`` (one `torch.export.Dim` per
input axis) rather than ``dynamic_axes``: issue 25 reported ``dynamic_axes`` ignored by the TorchScript exporter
(``dynamo=False``) on torch 2.13; on a tiny BERT here both exporters kept the axes, so the report could not be
reproduced, and explicit shapes leave nothing to the exporter's conversion. `tests/test_runtime_paths.py`
checks that both axes stay symbolic in the file and that other shapes than the traced one run (a static axis
would make OpenVINO recompile per shape and DeepSparse refuse other batch sizes).

DeepSparse 1.8 reads ONNX through onnx 1.14, which knows IR version <= 9; the dynamo exporter writes IR
10 at opset 18+. `export(..., opset=17)` asks the exporter to convert to opset 17 and marks the file IR 8
(what onnx 1.10-1.12 wrote for opsets up to 17): nothing in an opset-17 graph needs more.
"""

from __future__ import annotations

import contextlib
import io
import os

import torch
from torch import nn

from .inputs import synthetic_batch

OLD_IR = 8  # the IR version of opset-17 files, readable by onnx 1.14 (DeepSparse 1.8)


@contextlib.contextmanager
def quiet():
    """The exporter prints its progress and warns about optional packages (torchvision) it does not need."""
    import logging
    import warnings

    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export(model: nn.Module, path: str, mask: bool = False, opset: int | None = None) -> str:
    """Write `model` (fp32, CPU) as ONNX to `path` with dynamic batch and sequence axes; returns `path`.

    Inputs are named as the model's forward names them (``input_ids``, ``token_type_ids`` where the config
    has token types, ``attention_mask`` if `mask`: the dev-set scoring pads, the timing does not).
    `opset` converts the file to that opset (DeepSparse: 17) and, at 17 or below, marks it IR `OLD_IR`.
    Raises whatever the exporter raises; callers turn it into their path's `Unavailable`."""
    model = model.float().eval()
    example = synthetic_batch(model, 2, 16, torch.device("cpu"), mask=mask)
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=2, max=model.config.max_position_embeddings)
    extra = {} if opset is None else {"opset_version": opset}
    with quiet():
        program = torch.onnx.export(model, (), kwargs=example, dynamo=True, verbose=False, optimize=True,
                                    dynamic_shapes={k: {0: batch, 1: seq} for k in example}, **extra)
        program.save(path)
    if opset is not None and opset <= 17:
        import onnx

        proto = onnx.load(path)
        proto.ir_version = min(proto.ir_version, OLD_IR)
        onnx.save(proto, path)
    return path


def cached(model: nn.Module, workdir: str, key: str, mask: bool = False, opset: int | None = None) -> str:
    """The ONNX file of `model` under `workdir`, exported on the first call for `key` (a variant name):
    several paths of one variant share one export, which takes seconds for MiniLM."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    path = os.path.join(workdir, f"{safe}{'-mask' if mask else ''}{f'-opset{opset}' if opset else ''}.onnx")
    if not os.path.exists(path):
        export(model, path, mask=mask, opset=opset)
    return path


def dynamic_axes(path: str) -> dict[str, list[str | int]]:
    """Each graph input's dimensions as the file stores them: a name where the axis is symbolic, an int
    where it is fixed."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}

"""The OpenVINO speed paths: the exported ONNX file compiled for the CPU at one inference precision.

| path | what OpenVINO is asked for |
|---|---|
| ``openvino-fp32`` | ``INFERENCE_PRECISION_HINT=f32``: without it OpenVINO runs fp32 models in bf16 on CPUs with AMX (its default there), so an "fp32" row would not be fp32 |
| ``openvino-bf16`` | ``INFERENCE_PRECISION_HINT=bf16``: bf16 matmuls where the CPU has AVX512-BF16 or AMX, else OpenVINO falls back (the row's dtype and kernels say which) |
| ``openvino-int8`` | the model quantized by NNCF post-training quantization (`nncf.quantize`, ``ModelType.TRANSFORMER``: int8 weights and activations of the matmuls, calibrated on `CALIBRATION` batches) |
| ``openvino-int8-sparse`` | the same int8 model with ``CPU_SPARSE_WEIGHTS_DECOMPRESSION_RATE`` = `SPARSE_RATE`: int8 weights whose share of zeros reaches that rate are stored compressed and decompressed inside the matmul kernel (an AMX feature; elsewhere nothing changes and the kernels say so) |

Each row names the kernels that actually ran, read back from the compiled model's runtime graph
(`kernels`: the ``primitiveType`` of every FullyConnected and MatMul node, e.g. ``brgemm_avx512_amx_sparse_I8``),
and the threads and precision the compiled model reports, not the ones asked for. One stream, one infer
request, the latency hint: one call at a time, as the other paths run. Calibration (timing): synthetic
token batches (`inputs.synthetic_batch`), since timing does not depend on values; the dev-set scores
(`runtime_accuracy.py`) calibrate on training sentences instead.
"""

from __future__ import annotations

import os
from collections import Counter

import torch
from torch import nn

from .inputs import synthetic_batch
from .paths import Engine, Unavailable, first_line

PRECISIONS = {"openvino-fp32": "fp32", "openvino-bf16": "bf16", "openvino-int8": "int8", "openvino-int8-sparse": "int8-sparse"}
HINT = {"fp32": "f32", "bf16": "bf16"}
SPARSE_RATE = 0.5  # the least share of zeros in an int8 weight for sparse decompression
CALIBRATION = 8  # synthetic calibration batches for the timed int8 models
COMPUTE = ("FullyConnected", "MatMul")  # the node types whose kernels a row names


def version() -> str:
    """The installed OpenVINO version ("" when it is not installed)."""
    try:
        import openvino
    except ImportError:
        return ""
    return openvino.get_version().split("-")[0]


def _runtime():
    try:
        import openvino as ov
    except ImportError:
        raise Unavailable("OpenVINO is not installed (pip install -e '.[openvino]')") from None
    return ov


def quantize(onnx_path: str, calibration: list[dict], out: str) -> str:
    """`onnx_path` quantized to int8 by NNCF post-training quantization, saved as OpenVINO IR at `out`
    (returned). `calibration`: the input dicts (numpy arrays) NNCF runs to pick activation ranges.
    Raises `Unavailable` when NNCF is missing."""
    ov = _runtime()
    if os.path.exists(out):
        return out
    ov.save_model(post_training_int8(ov.Core().read_model(onnx_path), calibration), out)
    return out


def post_training_int8(model, calibration: list[dict]):
    """NNCF post-training quantization of `model` (an OpenVINO model or an ONNX ModelProto; NNCF picks its
    backend by type) with the transformer preset, calibrated on every batch of `calibration`. Raises
    `Unavailable` when NNCF is missing."""
    try:
        import nncf
    except ImportError:
        raise Unavailable("NNCF is not installed (pip install -e '.[openvino]')") from None
    import logging

    logging.getLogger("nncf").setLevel(logging.ERROR)
    return nncf.quantize(model, nncf.Dataset(calibration), model_type=nncf.ModelType.TRANSFORMER,
                         subset_size=len(calibration))


def compile_model(model_path: str, precision: str, threads: int):
    """`model_path` (ONNX, or IR for int8) compiled for the CPU at `precision` (a value of `PRECISIONS`)
    with `threads` inference threads, one stream, latency hint. Returns the compiled model."""
    ov = _runtime()
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision in HINT:
        config["INFERENCE_PRECISION_HINT"] = HINT[precision]
    if precision == "int8-sparse":
        config["CPU_SPARSE_WEIGHTS_DECOMPRESSION_RATE"] = SPARSE_RATE
    core = ov.Core()
    return core.compile_model(core.read_model(model_path), "CPU", config)


def kernels(compiled) -> str:
    """The kernels of the compute nodes as they ran: ``<layerType>: <primitiveType> x<count>, ...`` per
    type in `COMPUTE`, from the runtime graph's ``rt_info`` (what OpenVINO's benchmark_app reports per
    layer). Sorted, so rows of different variants compare as text."""
    counts: Counter = Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = str(info["layerType"].astype(str)) if "layerType" in info else ""
        if layer in COMPUTE:
            counts[(layer, str(info["primitiveType"].astype(str)))] += 1
    return "; ".join(f"{layer}: {kernel} x{n}" for (layer, kernel), n in sorted(counts.items()))


def reported(compiled) -> dict:
    """What the compiled model says it does: threads and inference precision (not what was asked for)."""
    threads = int(compiled.get_property("INFERENCE_NUM_THREADS"))
    hint = str(compiled.get_property("INFERENCE_PRECISION_HINT")).removeprefix("<Type: '").removesuffix("'>")
    return {"threads": threads, "precision": hint}


def openvino_engine(path: str, model: nn.Module, device: torch.device, workdir: str, key: str) -> Engine:
    """`model` (a fp32 CPU variant) on one OpenVINO path; its row fields come from the compiled model."""
    if device.type != "cpu":
        raise Unavailable("the OpenVINO paths are measured on CPU only")
    from . import onnx_export

    _runtime()
    precision = PRECISIONS[path]
    model = model.float().eval()
    try:
        onnx_path = onnx_export.cached(model, workdir, key)
    except Exception as exc:  # the exporter raises many types
        raise Unavailable(f"ONNX export failed: {first_line(exc)}") from None
    source = onnx_path
    try:
        if precision.startswith("int8"):
            calibration = [{k: v.numpy() for k, v in synthetic_batch(model, 4, 128, torch.device("cpu"), mask=False).items()}
                           for _ in range(CALIBRATION)]
            source = quantize(onnx_path, calibration, onnx_path.removesuffix(".onnx") + "-int8.xml")
        compiled = compile_model(source, precision, torch.get_num_threads())
    except Unavailable:
        raise
    except Exception as exc:  # OpenVINO and NNCF raise their own types; the reason goes into the row
        raise Unavailable(f"OpenVINO {precision} failed: {first_line(exc)}") from None
    request = compiled.create_infer_request()
    said = reported(compiled)
    engine = Engine(path, "openvino", lambda feed: request.infer(feed, share_inputs=True), model, device)
    engine.row = {"dtype": "int8" if precision.startswith("int8") else said["precision"], "threads": said["threads"],
                  "runtime_version": f"openvino {version()}"}
    engine.report = lambda: {"kernels": _with_verdict(kernels(compiled), precision)}  # chosen at the first call (dynamic shapes)
    engine.notes.append(f"OpenVINO {version()} CPU plugin, inference precision {said['precision']}, "
                        f"{said['threads']} threads, 1 stream"
                        + (f"; NNCF {_nncf_version()} int8 (post-training, {CALIBRATION} synthetic calibration batches)"
                           if precision.startswith("int8") else "")
                        + (f"; sparse weight decompression rate {SPARSE_RATE}" if precision == "int8-sparse" else ""))
    return engine


def _with_verdict(names: str, precision: str) -> str:
    """For int8-sparse, whether sparse decompression engaged: OpenVINO names such kernels ``..._sparse_...``
    (e.g. ``brgemm_avx512_amx_sparse_I8``); on a CPU without AMX none is, and the row says so."""
    if precision != "int8-sparse":
        return names
    engaged = sum(int(part.rsplit(" x", 1)[1]) for part in names.split("; ") if "sparse" in part)
    return names + (f" (sparse decompression in {engaged} nodes)" if engaged else " (sparse decompression not engaged)")


def _nncf_version() -> str:
    import nncf

    return nncf.__version__

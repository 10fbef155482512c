"""Speed paths: the ways a pruned model can be run, each timed against the dense model under the same
conditions (same process, device, dtype, runtime and execution mode).

| path | devices | for | what runs |
|---|---|---|---|
| ``dense-kernels`` | CPU, CUDA | dense, masked | the model in eager PyTorch; zeros cost what non-zeros cost |
| ``structured`` | CPU, CUDA | head/FFN/layer pruning | the same, on the physically smaller model |
| ``semi-structured-2:4`` | CUDA (capability >= 8.0, fp16/bf16) | ``magnitude-2of4`` | each encoder linear weight converted by `torch.sparse.to_sparse_semi_structured` (cuSPARSELt when PyTorch has it, else CUTLASS); `F.linear` dispatches to the sparse kernel, with cuSPARSELt's algorithm searched per shape and batch and the output made row-major |
| ``onnxruntime`` | CPU | dense, unstructured | the model exported to ONNX (`torch.onnx.export`, dynamo) and run by onnxruntime's CPU provider |
| ``torch-csr`` | CPU | unstructured | each encoder linear weight stored as CSR, the matmul done by `torch.sparse.mm` |
| ``openvino-fp32``, ``-bf16``, ``-int8``, ``-int8-sparse`` | CPU | dense, unstructured | the same ONNX file compiled by OpenVINO at that inference precision; int8 is NNCF post-training quantization, ``-int8-sparse`` adds sparse-weight decompression (`openvino_path.py`) |
| ``deepsparse-fp32``, ``-int8`` | CPU (x86 AVX2/AVX-512) | dense, unstructured | the ONNX file (opset 17) compiled by DeepSparse 1.8 in its own environment, timed by a worker process; int8 is NNCF's QDQ quantization (`deepsparse_path.py`) |

A path that cannot run here raises `Unavailable` with the reason, which the bench writes into the row.
Rows of a path are compared with the dense model on the path's reference (`REFERENCE`): every ONNX runtime
and precision with its own dense model, every PyTorch path with dense PyTorch kernels. `--paths openvino`
or `deepsparse` stands for all precisions of that runtime (`GROUPS`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .inputs import synthetic_batch
from .variants import DENSE, MASKED, Variant

OPENVINO = ("openvino-fp32", "openvino-bf16", "openvino-int8", "openvino-int8-sparse")  # openvino_path.py
DEEPSPARSE = ("deepsparse-fp32", "deepsparse-int8")  # deepsparse_path.py
RUNTIMES = ("onnxruntime", *OPENVINO, *DEEPSPARSE)  # CPU runtimes fed the exported ONNX file, each its own reference
PATHS = ("dense-kernels", "structured", "semi-structured-2:4", "onnxruntime", "torch-csr", *OPENVINO, *DEEPSPARSE)
GROUPS = {"openvino": OPENVINO, "deepsparse": DEEPSPARSE}  # --paths openvino: every OpenVINO precision
REFERENCE = {p: p for p in RUNTIMES}  # path -> the dense reference's path; default dense-kernels
TWO_FOUR = "magnitude-2of4"


class Unavailable(Exception):
    """This path cannot run here; the message says why (it goes into the row's notes)."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line, for a row's notes."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def reference_path(path: str) -> str:
    return REFERENCE.get(path, "dense-kernels")


def applicable(variant: Variant, device: torch.device) -> list[str]:
    """The paths that say something about this variant on this device."""
    cpu = device.type == "cpu"
    if variant.kind in DENSE:
        return ["dense-kernels", *(RUNTIMES if cpu else [])]
    if variant.structured:
        return ["structured"]
    if variant.kind == TWO_FOUR:
        return ["dense-kernels", "semi-structured-2:4"] if not cpu else ["dense-kernels"]
    if variant.kind in MASKED:
        return ["dense-kernels", *(["onnxruntime", "torch-csr", *OPENVINO, *DEEPSPARSE] if cpu else [])]
    raise ValueError(f"no paths known for variant kind {variant.kind!r}")


@dataclass
class Engine:
    """A variant made ready on one path: builds fixed inputs for a batch and returns a zero-argument call."""

    path: str
    execution: str  # eager (the bench may also replay it as a CUDA graph, or compile it), or the runtime's name
    forward: Callable[[dict], object]
    model: nn.Module  # the PyTorch module that runs (onnxruntime: the exported one, for its config)
    device: torch.device
    linears: list[nn.Module] = field(default_factory=list)  # the encoder linears as this path runs them
    notes: list[str] = field(default_factory=list)
    tune: Callable[[int], str] | None = None  # per input-row count kernel choice (2:4); returns a note for the row
    _compiled: dict = field(default_factory=dict)  # torch.compile mode -> compiled model
    row: dict = field(default_factory=dict)  # what the runtime reports for the row: dtype, threads, kernels, runtime_version
    worker: object = None  # a runtime timed in a process of its own (deepsparse_path.Job); forward unused then
    report: Callable[[], dict] | None = None  # row fields read back from the runtime after a group ran (kernels)

    def call(self, batch: int, seq_len: int) -> tuple[Callable[[], object], dict]:
        inputs = synthetic_batch(self.model, batch, seq_len, self.device, mask=False)
        if self.execution in ("onnxruntime", "openvino"):
            feed = {k: v.cpu().numpy() for k, v in inputs.items()}
            return (lambda: self.forward(feed)), inputs
        return (lambda: self.forward(inputs)), inputs

    def compiled_call(self, batch: int, seq_len: int, mode: str = "default") -> tuple[Callable[[], object], dict]:
        """The forward compiled by TorchInductor (pointwise kernels fused into their neighbours), which the
        bench replays as a CUDA graph like the eager forward. ``max-autotune-no-cudagraphs`` also times
        Triton GEMM templates against cuBLAS for every matmul shape: small GEMMs are where a physically
        smaller model loses most of its FLOP reduction."""
        if mode not in self._compiled:
            self._compiled[mode] = torch.compile(self.model, mode=mode)
        compiled = self._compiled[mode]
        inputs = synthetic_batch(self.model, batch, seq_len, self.device, mask=False)
        return (lambda: compiled(**inputs)), inputs

    def linear_call(self, batch: int, seq_len: int, dtype: torch.dtype) -> Callable[[], object] | None:
        """All encoder linears of the path, each on a (batch * seq_len, in) input: the layers pruning changes."""
        if not self.linears:
            return None
        g = torch.Generator().manual_seed(1)
        xs = [torch.randn(batch * seq_len, lin.in_features, generator=g).to(self.device, dtype) for lin in self.linears]
        pairs = list(zip(self.linears, xs))
        return lambda: [lin(x) for lin, x in pairs]


class CSRLinear(nn.Module):
    """A linear whose weight is a CSR matrix: y = (W x^T)^T + b with `torch.sparse.mm` (MKL on CPU)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_csr", linear.weight.detach().to_sparse_csr())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        y = torch.sparse.mm(self.weight_csr, flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)


def _swap_linears(model: nn.Module, make: Callable[[nn.Linear], nn.Module]) -> list[nn.Module]:
    from prunebench.methods._structure import prunable

    swapped = []
    for name, linear in prunable(model):
        parent, _, attr = name.rpartition(".")
        new = make(linear)
        setattr(model.get_submodule(parent), attr, new)
        swapped.append(new)
    return swapped


def _torch_engine(path: str, model: nn.Module, device: torch.device, dtype: torch.dtype) -> Engine:
    from prunebench.methods._structure import prunable

    model = model.to(device=device, dtype=dtype).eval()
    return Engine(path, "eager", lambda inputs: model(**inputs), model, device, [m for _, m in prunable(model)])


def _semi_structured_engine(model: nn.Module, device: torch.device, dtype: torch.dtype) -> Engine:
    if device.type != "cuda":
        raise Unavailable("2:4 sparse kernels run on CUDA only")
    capability = torch.cuda.get_device_capability(device)
    if capability < (8, 0):
        raise Unavailable(f"2:4 sparse tensor cores need CUDA capability >= 8.0, this GPU has {capability[0]}.{capability[1]}")
    if dtype not in (torch.float16, torch.bfloat16):
        raise Unavailable(f"to_sparse_semi_structured needs fp16 or bf16 weights here, not {dtype}")
    try:
        return _convert_two_four(model, device, dtype)
    except Unavailable:
        raise
    except Exception as exc:  # a prototype API: any failure is a stated fallback, never a crash of the bench
        raise Unavailable(f"to_sparse_semi_structured failed: {first_line(exc)}") from None


def _convert_two_four(model: nn.Module, device: torch.device, dtype: torch.dtype) -> Engine:
    from prunebench.methods._masking import follows_nm
    from prunebench.methods._structure import prunable
    from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured

    cusparselt = bool(getattr(torch.backends, "cusparselt", None) and torch.backends.cusparselt.is_available())
    SparseSemiStructuredTensor._FORCE_CUTLASS = not cusparselt
    backend = torch.sparse.SparseSemiStructuredTensorCUSPARSELT if cusparselt else torch.sparse.SparseSemiStructuredTensorCUTLASS
    limits = backend._DTYPE_SHAPE_CONSTRAINTS[dtype]
    for name, linear in prunable(model):
        rows, cols = linear.weight.shape
        if rows % limits.sparse_min_rows or cols % limits.sparse_min_cols:
            raise Unavailable(f"{name}: weight {rows}x{cols} is not a multiple of ({limits.sparse_min_rows}, "
                              f"{limits.sparse_min_cols}), which {backend.BACKEND} needs for {dtype}")
        if not follows_nm(linear.weight):
            raise Unavailable(f"{name}: weight does not follow the 2:4 pattern")
    engine = _torch_engine("semi-structured-2:4", model, device, dtype)
    probe = synthetic_batch(engine.model, 2, 64, device, mask=False)
    with torch.inference_mode():
        reference = engine.model(**probe).logits.float()
    for _, linear in prunable(engine.model):
        linear.weight = nn.Parameter(to_sparse_semi_structured(linear.weight.detach().contiguous()), requires_grad=False)
    first = engine.linears[0]
    with torch.inference_mode():
        transposed = not first(torch.ones(64, first.in_features, device=device, dtype=dtype)).is_contiguous()
    if transposed:
        for linear in engine.linears:
            linear.register_forward_hook(contiguous_output)
    with torch.inference_mode():
        diff = (engine.model(**probe).logits.float() - reference).abs().max().item()
    engine.notes.append(f"2:4 backend {backend.BACKEND}; max |logit difference| vs dense kernels {diff:.2g}"
                        + ("; each 2:4 output copied to row-major (this PyTorch returns a transposed view)" if transposed else ""))
    if cusparselt:
        engine.tune = _algorithm_search([m.weight for m in engine.linears], device, dtype)
    return engine


def contiguous_output(module: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    """A 2:4 linear's output as the dense linear gives it: row-major. PyTorch 2.11 computes W @ x^T with
    cuSPARSELt and returns its transpose as a view, so the next layer sees a last-dimension stride of
    batch x seq: SDPA's fused kernels refuse such queries and fall back to the fp32 math path, and every
    following elementwise kernel reads strided memory. One copy here is what newer PyTorch saves by having
    cuSPARSELt write the transposed result directly; it is part of the 2:4 time."""
    return output if output.is_contiguous() else output.contiguous()


def _algorithm_search(weights: list, device: torch.device, dtype: torch.dtype) -> Callable[[int], str]:
    """cuSPARSELt has several kernels per product and PyTorch runs algorithm 0 unless told otherwise; like
    cuBLAS's heuristics for the dense model, a deployer picks the fastest one per weight shape and input row
    count. `torch._cslt_sparse_mm_search` times them on the product `F.linear` runs (W @ x^T, x^T a
    transposed view); the choice is set on each weight before its batch is timed."""
    found: dict[tuple[int, int, int], int] = {}

    def tune(rows: int) -> str:
        for w in weights:
            key = (*w.shape, rows)
            if key not in found:
                x = torch.randn(rows, w.shape[1], device=device, dtype=dtype)
                try:
                    found[key] = int(torch._cslt_sparse_mm_search(w.packed, x.t()))
                except Exception as exc:  # a private API: every weight back to algorithm 0, and the row says so
                    for v in weights:
                        v.alg_id_cusparselt = 0
                    return f"cuSPARSELt algorithm search failed ({first_line(exc, 80)}), algorithm 0 kept"
        for w in weights:
            w.alg_id_cusparselt = found[(*w.shape, rows)]
        chosen = sorted({(k[0], k[1], a) for k, a in found.items() if k[2] == rows})
        return "cuSPARSELt algorithm per weight shape (searched): " + ", ".join(f"{o}x{i}:{a}" for o, i, a in chosen)

    return tune


def _csr_engine(model: nn.Module, device: torch.device, dtype: torch.dtype) -> Engine:
    if device.type != "cpu":
        raise Unavailable("the torch CSR path is measured on CPU only")
    import warnings

    model = model.to(dtype=dtype).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta": known, and what we measure
        linears = _swap_linears(model, CSRLinear)
    return Engine("torch-csr", "eager", lambda inputs: model(**inputs), model, device, linears)


def onnxruntime_version() -> str:
    try:
        import onnxruntime
    except ImportError:
        return ""
    return onnxruntime.__version__


def _onnx_engine(model: nn.Module, device: torch.device, workdir: str, key: str) -> Engine:
    if device.type != "cpu":
        raise Unavailable("the onnxruntime path is measured on CPU only")
    try:
        import onnxruntime as ort
    except ImportError:
        raise Unavailable("onnxruntime is not installed (pip install -e '.[onnx]')") from None
    from . import onnx_export

    model = model.float().eval()
    try:
        path = onnx_export.cached(model, workdir, key)
    except Exception as exc:  # the exporter raises many types; the reason goes into the row
        raise Unavailable(f"ONNX export failed: {first_line(exc)}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    engine = Engine("onnxruntime", "onnxruntime", lambda feed: session.run(None, feed), model, device)
    engine.row = {"runtime_version": f"onnxruntime {ort.__version__}", "threads": options.intra_op_num_threads}
    engine.notes.append(f"onnxruntime {ort.__version__}, {options.intra_op_num_threads} intra-op threads, full graph optimisation")
    return engine


def prepare(path: str, variant: Variant, model: nn.Module, device: torch.device, dtype: torch.dtype, workdir: str | None = None) -> Engine:
    """Make `model` (a fp32 CPU copy of the variant, which this may change) ready to run on `path`."""
    if path in ("dense-kernels", "structured"):
        return _torch_engine(path, model, device, dtype)
    if path == "semi-structured-2:4":
        return _semi_structured_engine(model, device, dtype)
    if path == "torch-csr":
        return _csr_engine(model, device, dtype)
    workdir = workdir or tempfile.mkdtemp(prefix="prunebench-onnx-")
    if path == "onnxruntime":
        return _onnx_engine(model, device, workdir, variant.name)
    if path in OPENVINO:
        from .openvino_path import openvino_engine

        return openvino_engine(path, model, device, workdir, variant.name)
    if path in DEEPSPARSE:
        from .deepsparse_path import deepsparse_engine

        return deepsparse_engine(path, model, device, workdir, variant.name)
    raise ValueError(f"unknown path {path!r}; valid paths: {', '.join(PATHS)}")

"""`results/v1/efficiency.csv`: one row per device x model x variant x path x execution x scope x batch.

Columns (documented for readers in `results/v1/README.md`):

device, device_detail       where it ran (`provenance.device_name`, plus CPU model or GPU capability)
model, variant              model name as given; ``dense`` or ``<kind>@<sparsity>`` (`variants.py`)
path, execution             speed path (`paths.py`); eager, cuda-graph, compiled or compiled-autotuned (torch.compile + CUDA graph), onnxruntime
scope                       ``model``: the whole forward; ``linears``: the encoder linears alone
batch, seq_len, dtype, threads
params_total, params_nonzero
flops_dense, flops_effective   per example, of the scope: as run (zeros included) / non-zero work (`flops.py`)
theoretical_speedup         flops_dense of the dense model / flops_effective of this variant, same scope
latency_ms, throughput      median time of one call at this batch (ms); batch / that time (examples/s)
speedup_vs_dense            the dense model's time / this variant's, same device, path reference, execution, scope, batch
speedup_fraction            speedup_vs_dense / theoretical_speedup: how much of the FLOP reduction turned into time
peak_mem_mb                 model tensors + peak live intermediates of one eager call (`memory.py`); scope model only
size_dense_mb, size_sparse_mb   safetensors file, and the bit-mask sparse file (`size.py`), in the measured dtype
notes                       why a value is missing, which backend ran, ...
torch_version, transformers_version, onnxruntime_version, git_commit, created_at
latency_iqr_ms              interquartile range of the timed calls behind latency_ms (ms; `timing.quartiles`)
kernels                     the kernels the runtime reports it ran (OpenVINO: primitive types of the FullyConnected and
                            MatMul nodes; DeepSparse: instruction set and its share of operators); empty for PyTorch paths
runtime_version             the runtime that ran the row and its version (onnxruntime, openvino, deepsparse); empty for PyTorch
load_avg                    the machine's 1-minute load average when the row's group was timed

The last four columns came with the OpenVINO and DeepSparse paths (issue 25); rows written before them are
read with those cells empty (`OLD_COLUMNS`). For a runtime row, ``threads`` and ``dtype`` are what the
runtime reports it used (``int8`` for quantized models), not what was asked for.

Accuracy is not here: a variant's accuracy cost comes from the result rows of its method, which change as
runs land, so the report joins it from `results/v1/results.csv` (`analysis/speedup.py`).

A bench replaces only the rows of its device, model, batch sizes and executions: every (batch, execution)
is timed together with its own dense reference, so CPU and GPU rows made on different machines, a later
bench at other batch sizes (e.g. a larger batch where the GPU is compute-bound) and a bench of compiled
models alone live in one file. Written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.records import read_with_header, write_atomic

COLUMNS = (
    "device", "device_detail", "model", "variant", "path", "execution", "scope", "batch", "seq_len", "dtype", "threads",
    "params_total", "params_nonzero", "flops_dense", "flops_effective", "theoretical_speedup", "latency_ms", "throughput",
    "speedup_vs_dense", "speedup_fraction", "peak_mem_mb", "size_dense_mb", "size_sparse_mb", "notes", "torch_version", "transformers_version", "onnxruntime_version", "git_commit",
    "created_at", "latency_iqr_ms", "kernels", "runtime_version", "load_avg",
)
OLD_COLUMNS = COLUMNS[: COLUMNS.index("latency_iqr_ms")]  # the header before issue 25
SORT = ("device", "model", "variant", "path", "execution", "scope", "batch")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def read(path: Path) -> list[dict[str, str]]:
    """Rows of an efficiency table; a file with another header is refused, never mixed in."""
    rows = read_with_header(path, COLUMNS)
    if rows is None:
        rows = read_with_header(path, OLD_COLUMNS)
        rows = None if rows is None else [{**{c: "" for c in COLUMNS}, **r} for r in rows]
    if rows is None:
        raise UsageError(f"{path} is not an efficiency table of this version (its header differs from benchmarks/efficiency/table.py)")
    return rows


def _key(row: dict) -> tuple:
    return tuple(int(row[c]) if c == "batch" and str(row[c]).isdigit() else str(row[c]) for c in SORT)


def _group(row: dict) -> tuple[str, str, str]:
    return row["device"], row["model"], str(row["batch"])


def merge(existing: list[dict], new: list[dict]) -> list[dict]:
    """`existing` without the rows `new` replaces, plus `new`, in a stable order. `new` replaces, in each
    (device, model, batch) group it has rows for, the rows of the executions it ran and the rows that did not
    run at all (empty execution): a bench of compiled models alone keeps the eager and CUDA-graph rows."""
    ran = {(*_group(r), r.get("execution") or "") for r in new}
    groups = {_group(r) for r in new}
    kept = [r for r in existing
            if _group(r) not in groups or ((r.get("execution") or "") and (*_group(r), r["execution"]) not in ran)]
    rows = [{c: _cell(r.get(c)) for c in COLUMNS} for r in [*kept, *new]]
    return sorted(rows, key=_key)


def to_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_merged(out: Path, new: list[dict]) -> int:
    """Merge `new` rows into `out` (created if absent), atomically; returns the row count written."""
    existing = read(out) if Path(out).exists() else []
    rows = merge(existing, new)
    write_atomic(out, to_text(rows))
    return len(rows)

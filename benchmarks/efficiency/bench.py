"""`prunebench bench-efficiency`: dense vs pruned variants of one model, timed through every speed path
that applies on this device, in one process, into `results/v1/efficiency.csv`.

    prunebench bench-efficiency --model minilm-l6                       # CPU here, all default variants
    prunebench bench-efficiency --model minilm-l6 --device cuda --out /tmp/eff/efficiency.csv
    prunebench bench-efficiency --model minilm-l6 --device cuda --executions compiled --batches 32,128
    prunebench bench-efficiency --merge-from /tmp/eff/efficiency.csv     # fold another machine's rows in

Variants are built from the pre-trained weights (`variants.py`): speed does not depend on fine-tuned values,
only on shapes and zero patterns. Their accuracy cost is not measured here: the report joins it from the
result rows of the method each stands for (`analysis/speedup.py`). The dense model is always measured, as the
reference of every speedup. Everything is checked before any model is loaded: bad input is one line and
exit code 2, and nothing is written. The table is rewritten (atomically) after every (scope, batch) group, so a
crash keeps what was measured before it.
"""

from __future__ import annotations

import argparse
import copy
import logging
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prunebench.benchmarks.errors import UsageError

log = logging.getLogger("prunebench")

DEFAULT_VARIANTS = ("dense", "magnitude-global@0.5", "magnitude-global@0.9", "magnitude-2of4@0.5", "head+ffn@0.5",
                    "layer-drop@0.5")
DEFAULT_BATCHES = (1, 32, 128)
DTYPES = ("auto", "fp32", "fp16", "bf16")
EXECUTIONS = ("eager", "cuda-graph", "compiled", "compiled-autotuned")  # how a PyTorch path runs; onnxruntime runs as itself
COMPILE_MODES = {"compiled": "default", "compiled-autotuned": "max-autotune-no-cudagraphs"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="minilm-l6",
                   help="alias, hf:<id> or local:<dir> (default minilm-l6); or shape:bert-base, shape:bert-large, "
                        "shape:distilbert: random weights of that architecture, for speed only (efficiency/shapes.py)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help="comma-separated: dense, <kind>@<sparsity> with kind magnitude-global, magnitude-layerwise, "
                        "magnitude-2of4 (@0.5), head-pruning, ffn-pruning, head+ffn, layer-drop (dense is always added)")
    p.add_argument("--paths", default=None, help="only these paths (comma-separated; default: every path that applies)")
    p.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)), help="comma-separated batch sizes")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    p.add_argument("--dtype", default="auto", choices=DTYPES, help="auto: fp32 on CPU, fp16 on CUDA (the 2:4 kernels need half weights)")
    p.add_argument("--executions", default="eager,cuda-graph",
                   help="how PyTorch paths run on CUDA (comma-separated): eager, cuda-graph (the eager forward "
                        "captured once and replayed), compiled (torch.compile, then replayed as a CUDA graph; "
                        "model scope only), compiled-autotuned (the same with mode max-autotune-no-cudagraphs, which "
                        "times many kernel candidates per variant and batch first). CPU runs eager. Default eager,cuda-graph")
    p.add_argument("--no-cuda-graphs", action="store_true", help="same as --executions eager")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch and onnxruntime (default: all cores)")
    p.add_argument("--out", type=Path, default=Path("results/v1/efficiency.csv"),
                   help="efficiency table to update: rows of this device, model, batch sizes and executions are replaced, others kept")
    p.add_argument("--merge-from", type=Path, default=None, metavar="FILE",
                   help="measure nothing: merge FILE's rows (e.g. from the GPU machine) into --out, replacing the rows of its (device, model, batch) groups")


@dataclass
class Plan:
    model: str
    device: str
    variants: list
    paths: list[str] | None
    batches: list[int]
    seq_len: int
    repeats: int
    warmup: int
    dtype: str
    executions: list[str]
    out: Path


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a comma-separated list of integers") from None
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{what}: give integers >= 1, got {text!r}")
    return values


def plan_from(args) -> Plan:
    """Check every argument; raises UsageError before anything is loaded or written."""
    from prunebench.benchmarks.cli import _check_device
    from prunebench.benchmarks.models import resolve

    from .paths import PATHS
    from .variants import Variant, parse_variant

    variants = [parse_variant(v) for v in args.variants.split(",") if v.strip()]
    if Variant("dense") not in variants:
        variants.insert(0, Variant("dense"))
    variants = list(dict.fromkeys(variants))
    paths = None
    if args.paths:
        from .paths import GROUPS

        paths = [q for p in args.paths.split(",") if p.strip() for q in GROUPS.get(p.strip(), (p.strip(),))]
        for p in paths:
            if p not in PATHS:
                from prunebench.benchmarks.errors import unknown

                raise unknown("path", p, (*PATHS, *GROUPS))
    if args.seq_len < 2:
        raise UsageError(f"--seq-len must be >= 2, got {args.seq_len}")
    if args.repeats < 1 or args.warmup < 0:
        raise UsageError(f"--repeats must be >= 1 and --warmup >= 0, got {args.repeats} and {args.warmup}")
    device = _check_device(args.device)
    from prunebench.benchmarks.provenance import pick_device

    from .paths import applicable

    here = pick_device(device)
    if not any(p in (paths or PATHS) for v in variants for p in applicable(v, here)):
        raise UsageError(f"no path of --paths {','.join(paths or [])} applies on {here.type} to the variants asked for; "
                         f"paths on {here.type}: {', '.join(sorted({p for v in variants for p in applicable(v, here)}))}")
    from . import shapes

    if shapes.is_shape(args.model):
        shapes.check(args.model)
    else:
        resolve(args.model)
    executions = ["eager"] if args.no_cuda_graphs else [e.strip() for e in args.executions.split(",") if e.strip()]
    for e in executions:
        if e not in EXECUTIONS:
            from prunebench.benchmarks.errors import unknown

            raise unknown("execution", e, EXECUTIONS)
    if not executions:
        raise UsageError(f"--executions: give at least one of {', '.join(EXECUTIONS)}")
    return Plan(args.model, device, variants, paths, _ints(args.batches, "--batches"), args.seq_len, args.repeats,
                args.warmup, args.dtype, executions, args.out)


def _dtype(name: str, device):
    import torch

    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.float16
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]


def _device_detail(device) -> str:
    import torch

    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        cusparselt = getattr(torch.backends, "cusparselt", None)
        has = bool(cusparselt and cusparselt.is_available())
        return f"capability {major}.{minor}, cuSPARSELt {'yes' if has else 'no'}"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _executions(engine, device, asked: list[str]) -> list[str]:
    if engine.execution in ("onnxruntime", "openvino", "deepsparse"):  # a runtime runs as itself
        return [engine.execution]
    return asked if device.type == "cuda" else ["eager"]


@dataclass
class Unit:
    """One measurement: an engine (variant on a path), how it executes, what is timed, at which batch."""

    info: dict
    engine: object
    execution: str
    scope: str
    flops: tuple[int, int]  # (dense, effective) per example of the scope


def _call(unit: Unit, batch: int, plan: Plan, dtype):
    """(zero-argument call, its inputs, a note or None) for one unit at one batch; raises with the reason if
    it cannot run."""
    from .paths import first_line
    from .timing import cuda_graph

    note = unit.engine.tune(batch * plan.seq_len) if unit.engine.tune is not None else None
    if unit.execution in COMPILE_MODES:
        call, inputs = unit.engine.compiled_call(batch, plan.seq_len, COMPILE_MODES[unit.execution])
    elif unit.scope == "model":
        call, inputs = unit.engine.call(batch, plan.seq_len)
    else:
        call, inputs = unit.engine.linear_call(batch, plan.seq_len, dtype), None
    if unit.execution == "cuda-graph" or unit.execution in COMPILE_MODES:
        try:
            call = cuda_graph(call, warmup=max(1, plan.warmup))
        except Exception as exc:  # capture (or compilation, on its first call) fails for many reasons; the row says which
            raise RuntimeError(f"{unit.execution} capture failed: {first_line(exc)}") from None
    return call, inputs, note


def _measure_group(units: list[Unit], batch: int, plan: Plan, dtype, device) -> list[dict]:
    """Time every unit of one (scope, batch) in turns, then take each eager model's peak memory."""
    import torch

    from .memory import peak_memory_mb
    from .paths import first_line
    from .timing import interleaved_stats, release_graphs

    calls, inputs, notes, tuned = {}, {}, {}, {}
    load = _load_average()
    with torch.inference_mode():
        for i, unit in enumerate(units):
            if unit.engine.worker is not None:
                continue
            try:
                calls[i], inputs[i], tuned[i] = _call(unit, batch, plan, dtype)
            except Exception as exc:
                notes[i] = first_line(exc)
        stats = interleaved_stats(calls, device, plan.repeats, plan.warmup)
        stats.update(_worker_stats(units, batch, plan))
        rows = []
        for i, unit in enumerate(units):
            seconds, iqr, reported = stats.get(i), None, {}
            if isinstance(seconds, dict):  # timed by a worker process: what it read back from its runtime
                reported = {k: seconds[k] for k in ("threads", "kernels", "runtime_version")}
                seconds = (seconds["median_s"], seconds["q1_s"], seconds["q3_s"])
            if isinstance(seconds, BaseException):
                notes[i], seconds = f"timing failed: {first_line(seconds)}", None
            if seconds is not None:
                seconds, iqr = seconds[0], seconds[2] - seconds[1]
                if unit.engine.report is not None:
                    reported.update(unit.engine.report())
            peak = None
            if seconds is not None and unit.scope == "model" and unit.execution == "eager":
                try:
                    peak = peak_memory_mb(unit.engine.model, calls[i], inputs[i], device)
                except Exception as exc:
                    notes[i] = f"peak memory not measured: {first_line(exc)}"
            dense_f, effective_f = unit.flops
            rows.append({**unit.info, **unit.engine.row, **reported, "execution": unit.execution, "scope": unit.scope,
                         "batch": batch, "flops_dense": dense_f, "flops_effective": effective_f, "load_avg": load,
                         "latency_ms": None if seconds is None else seconds * 1e3,
                         "latency_iqr_ms": None if iqr is None else iqr * 1e3,
                         "throughput": None if seconds is None else batch / seconds, "peak_mem_mb": peak,
                         "notes": "; ".join([*unit.engine.notes, *filter(None, [tuned.get(i), notes.get(i)])]) or None})
        release_graphs(calls, device)
    return rows


def _load_average() -> float | None:
    """The machine's 1-minute load average when a group starts (None where the OS has none): on a shared
    machine it says how busy the cores were while the group was timed."""
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _worker_stats(units: list[Unit], batch: int, plan: Plan) -> dict:
    """The units timed by a worker process (DeepSparse), all in one call and in turns: index -> the
    worker's answer for that unit, or the exception."""
    jobs = {i: u.engine.worker for i, u in enumerate(units) if u.engine.worker is not None}
    if not jobs:
        return {}
    import torch

    from .deepsparse_path import time_group

    return time_group(jobs, batch, plan.seq_len, plan.repeats, plan.warmup, torch.get_num_threads())


def run(plan: Plan, on_group: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Measure every (variant, path, execution, scope, batch) of the plan; returns the table rows.

    All variants are made ready first, then each (scope, batch) is timed with every variant and path in
    turns (`timing.interleaved_medians`), so the dense reference and the variants share the same conditions.
    After each group, `on_group` gets every row so far: a group holds its own dense reference, so what was
    measured before a crash that takes the process down (a CUDA error poisons the context) is complete."""
    import torch
    from tqdm.auto import tqdm

    from prunebench.benchmarks import provenance
    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task
    from prunebench.methods._structure import prunable

    from .flops import count_flops
    from .row import count_params
    from .paths import Unavailable, applicable, onnxruntime_version, prepare, reference_path
    from .size import dense_size_mb, sparse_size_mb
    from .variants import build, check_fits

    device = provenance.pick_device(plan.device)
    dtype = _dtype(plan.dtype, device)
    from . import shapes

    torch.manual_seed(0)  # the fresh classification head
    base = (shapes.build(plan.model) if shapes.is_shape(plan.model)
            else load_model(resolve(plan.model), get_task("sst2")).eval())
    for variant in plan.variants:  # every variant fits the model, or one line and nothing timed
        check_fits(variant, base)
    attention = _unpadded_attention(base)
    common = {"device": provenance.device_name(device), "device_detail": _device_detail(device), "model": plan.model,
              "seq_len": plan.seq_len, "dtype": str(dtype).removeprefix("torch."), "threads": torch.get_num_threads(),
              **provenance.versions(), "onnxruntime_version": onnxruntime_version(), "git_commit": provenance.git_commit(),
              "runtime_version": "", "kernels": "",
              "created_at": provenance.utc_now()}
    jobs = [(v, p) for v in plan.variants for p in applicable(v, device) if plan.paths is None or p in plan.paths]
    rows, units = [], []
    with tempfile.TemporaryDirectory(prefix="prunebench-bench-") as workdir:
        for variant, path in tqdm(jobs, desc="prepare variants", unit="path"):
            model = build(variant, base)
            flops = count_flops(model, torch.device("cpu"), plan.seq_len)
            encoder = flops.of([name for name, _ in prunable(model)])  # before a path swaps the linears out
            total, nonzero = count_params(model)
            sized = copy.deepcopy(model).to(dtype)  # the files a deployer would ship, in the measured dtype
            sizes = {"size_dense_mb": dense_size_mb(sized), "size_sparse_mb": sparse_size_mb(sized)}
            del sized
            info = {**common, "variant": variant.name, "path": path, "params_total": total, "params_nonzero": nonzero,
                    **sizes, "_reference": reference_path(path)}
            try:
                engine = prepare(path, variant, model, device, dtype, workdir)
            except Unavailable as exc:
                log.warning("%s on %s: skipped (%s)", variant.name, path, exc)
                rows += [{**info, "execution": "", "scope": "model", "batch": batch, "notes": f"not measured: {exc}",
                          "flops_dense": flops.dense, "flops_effective": flops.effective} for batch in plan.batches]
                continue
            engine.notes.insert(0, attention)
            for execution in _executions(engine, device, plan.executions):
                units.append(Unit(info, engine, execution, "model", (flops.dense, flops.effective)))
                if engine.linears and execution not in COMPILE_MODES:  # compiling a list of matmuls fuses nothing
                    units.append(Unit(info, engine, execution, "linears", encoder))
        groups = [(scope, batch) for scope in ("model", "linears") for batch in plan.batches]
        for scope, batch in tqdm(groups, desc="measure (scope, batch)", unit="group"):
            rows += _measure_group([u for u in units if u.scope == scope], batch, plan, dtype, device)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if on_group is not None:
                on_group(_with_speedups(rows))
    return _with_speedups(rows)


def _unpadded_attention(model) -> str:
    """Every variant is built from `model`, so they all run the attention chosen here (`attention.py`)."""
    from .attention import use_unpadded_sdpa
    from .paths import first_line

    try:
        return use_unpadded_sdpa(model)
    except Exception as exc:  # an older transformers without the interfaces: its default, said in every row
        return f"attention: transformers' default {model.config._attn_implementation} ({first_line(exc, 80)})"


def _with_speedups(measured: list[dict]) -> list[dict]:
    """Copies of the rows with theoretical and measured speedup filled from the dense rows of the same
    reference conditions (copies: the bench calls this after every group on the growing list)."""
    rows = [dict(r) for r in measured]
    dense = {(r["path"], r["execution"], r["scope"], r["batch"]): r for r in rows if r["variant"] == "dense"}
    for r in rows:
        ref = dense.get((r.pop("_reference", r["path"]), r.get("execution"), r["scope"], r["batch"]))
        if ref is None:
            continue
        if r.get("flops_effective"):
            r["theoretical_speedup"] = ref["flops_dense"] / r["flops_effective"]
        if r.get("latency_ms") and ref.get("latency_ms"):
            r["speedup_vs_dense"] = ref["latency_ms"] / r["latency_ms"]
            if r.get("theoretical_speedup"):
                r["speedup_fraction"] = r["speedup_vs_dense"] / r["theoretical_speedup"]
    return rows


def summary(rows: list[dict]) -> str:
    """One line per measured row of the model scope: what a reader looks for first."""
    lines = []
    for r in rows:
        if r["scope"] != "model" or r.get("latency_ms") is None:
            continue
        speed = f"{r['speedup_vs_dense']:.2f}x" if r.get("speedup_vs_dense") else "  -  "
        theory = f"{r['theoretical_speedup']:.2f}x" if r.get("theoretical_speedup") else "  -  "
        lines.append(f"{r['variant']:<22} {r['path']:<20} {r['execution']:<11} batch {r['batch']:>4}: "
                     f"{r['latency_ms']:9.2f} ms {r['throughput']:9.1f} ex/s  speedup {speed} (FLOPs {theory})")
    return "\n".join(lines)


def main(args) -> int:
    from .table import read, write_merged

    if args.merge_from is not None:
        if not args.merge_from.is_file():
            raise UsageError(f"--merge-from: no such file {args.merge_from}")
        rows = read(args.merge_from)
        n = write_merged(args.out, rows)
        devices = sorted({r["device"] for r in rows})
        print(f"{args.out}: {n} rows ({len(rows)} from {args.merge_from}: {', '.join(devices) or 'none'})")
        return 0
    plan = plan_from(args)
    if args.out.exists():
        read(args.out)  # refuse a foreign file before measuring, not after
    if args.threads is not None:
        from prunebench.benchmarks.cli import _set_threads

        _set_threads(args.threads)
    rows = run(plan, on_group=lambda so_far: write_merged(args.out, so_far))
    n = write_merged(args.out, rows)
    print(summary(rows))
    print(f"{args.out}: {len(rows)} rows measured on {rows[0]['device'] if rows else plan.device}, {n} in the table")
    return 0

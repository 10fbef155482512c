"""The efficiency table: parameters, FLOPs, latency, throughput and size per method and sparsity.

Efficiency depends on the model, the method and the sparsity, hardly on the task, and its timings depend
on the device. So rows are grouped by (model, device, method, target sparsity) and summarised by the
median over tasks and seeds (a median, because a latency measured on a shared machine has outliers).
Devices are never mixed: each (model, device) gets its own table. An empty CSV cell (a value the harness
could not measure, e.g. peak memory on CPU) stays missing: it prints "—", never 0.
"""

from __future__ import annotations

import pandas as pd

from .labels import compression, model_label, model_slug, percent, safe
from .results import DENSE
from .tables import MISSING, Table, number

COLUMNS = {  # CSV column -> (header, scale, decimals)
    "achieved_sparsity": ("Achieved sparsity (%)", 100.0, 1),
    "params_nonzero": ("Non-zero params (M)", 1e-6, 2),
    "flops": ("FLOPs/example (G)", 1e-9, 2),
    "latency_ms": ("Latency (ms)", 1.0, 2),
    "throughput": ("Throughput (ex/s)", 1.0, 1),
    "model_size_mb": ("Size (MB)", 1.0, 1),
    "peak_mem_mb": ("Peak memory (MB)", 1.0, 0),
}
GROUP = ["model", "device", "method", "target_sparsity"]


def efficiency_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Median of each efficiency column per (model, device, method, target sparsity), with the row count."""
    if df.empty:
        return pd.DataFrame(columns=[*GROUP, *COLUMNS, "runs"])
    summary = df.groupby(GROUP, sort=True)[list(COLUMNS)].median()
    summary["runs"] = df.groupby(GROUP, sort=True).size()
    return summary.reset_index()


def _order(method: str) -> tuple[int, str]:
    return (0 if method == DENSE else 1, method)  # the dense reference first, then methods by name


def efficiency_tables(df: pd.DataFrame) -> list[Table]:
    """One table per (model, device)."""
    summary = efficiency_summary(df)
    tables = []
    for (model, device), g in summary.groupby(["model", "device"], sort=True):
        g = g.assign(_o=[_order(m) for m in g["method"]]).sort_values(["_o", "target_sparsity"])
        rows = []
        for r in g.itertuples(index=False):
            row = [r.method, f"{percent(r.target_sparsity)}%", compression(r.target_sparsity)]
            for col, (_, scale, digits) in COLUMNS.items():
                value = getattr(r, col)
                row.append(MISSING if pd.isna(value) else number(float(value) * scale, digits))
            rows.append([*row, str(r.runs)])
        headers = ["Method", "Target sparsity", "Compression", *[h for h, _, _ in COLUMNS.values()], "Runs"]
        caption = (f"Efficiency of {model_label(model)} on {device}. Median over the tasks and seeds of each "
                   f"(method, target sparsity); {MISSING} = not measured on this device.")
        notes = ["Compression is 1/(1 - target sparsity) of the prunable (encoder linear) weights. FLOPs and latency at "
                 "sequence length 128, latency at batch 1, throughput at batch 32, as measured by the harness.",
                 # a grid call runs several runs per GPU (8 in the v1 and v2 campaigns): each run times its model
                 # while the others train beside it, so contention, not the pruned shape, moves these two columns
                 "Latency and throughput are timed inside each run, while the other runs of its device call may share "
                 "the device (the GPU campaigns ran 8 to a GPU), so they compare rows only loosely; the measured "
                 "speedup table times each pruned shape alone (`prunebench bench-efficiency`)."]
        label = f"tab:efficiency-{model_slug(model)}-{safe(device).lower()}"
        tables.append(Table(headers, rows, caption, label, notes))
    return tables

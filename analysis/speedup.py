"""Measured speedup against theoretical FLOP reduction, from `results/v1/efficiency.csv` (written by
`prunebench bench-efficiency`; columns in `benchmarks/efficiency/table.py` and `results/v1/README.md`).

The figure puts every measured (variant, speed path, execution) of the whole model at batch 32 at x =
theoretical speedup (dense FLOPs / the variant's non-zero FLOPs) and y = measured speedup over the dense
model under the same conditions, one panel per device and model, with y = x (all of the FLOP reduction became time) and y = 1 (no speedup
at all) for reference. Points under y = 1 are slower than dense. Axes are logarithmic, so 2x faster and 2x
slower are the same distance from 1. Variants and paths come from the CSV; nothing is named here.

Without the CSV (no bench has run) the figure and the table say so instead of failing the report.

A variant's accuracy cost is joined here, at report time, from the result rows of the method it stands for
(same method, same requested sparsity), so it always matches `results.csv`: the mean over seeds of score -
dense score of the same seed, per task and data regime (never averaged across regimes).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .plots import MARKERS, STYLE  # noqa: E402
from .results import DENSE  # noqa: E402
from .tables import MISSING, Table, number  # noqa: E402

NOT_PRUNED = (DENSE, "dense-repeat")  # dense-repeat: the dense model timed twice, the noise (analysis/runtimes.py)
NO_DATA = "No efficiency measurement yet: run `prunebench bench-efficiency` to write results/v1/efficiency.csv."


def load_efficiency(path: str | Path) -> pd.DataFrame | None:
    """The efficiency table, or None when no bench has written it."""
    path = Path(path)
    if not path.is_file():
        return None
    return pd.read_csv(path)


def speedup_points(df: pd.DataFrame | None) -> pd.DataFrame:
    """Whole-model rows of pruned variants with both a measured and a theoretical speedup."""
    if df is None or df.empty:
        return pd.DataFrame()
    keep = (df["scope"] == "model") & ~df["variant"].isin(NOT_PRUNED) & df["speedup_vs_dense"].notna() & df["theoretical_speedup"].notna()
    cols = ["device", "model", "variant", "path", "execution", "batch", "theoretical_speedup", "speedup_vs_dense"]
    return df.loc[keep, cols].sort_values(["device", "model", "variant", "path", "execution", "batch"]).reset_index(drop=True)


FIGURE_BATCH = 32  # the batch the efficiency targets are set at; the table has every batch


def figure_points(points: pd.DataFrame) -> pd.DataFrame:
    """The points a panel draws: its rows at batch 32, or at its largest batch where 32 was not measured.
    Every batch at once put five markers per variant and path on top of each other (the table lists them)."""
    if points.empty:
        return points
    chosen = []
    for _, g in points.groupby(["device", "model"], sort=True):
        batch = FIGURE_BATCH if (g["batch"] == FIGURE_BATCH).any() else g["batch"].max()
        chosen.append(g[g["batch"] == batch])
    return pd.concat(chosen, ignore_index=True)


def speedup_figure(df: pd.DataFrame | None) -> plt.Figure:
    """One panel per device and model at one batch: measured vs theoretical speedup, coloured by variant and
    path (the variants of a panel mostly share one theoretical speedup, so a label stack could not say which
    point is which), marker by execution (eager, CUDA graph, compiled)."""
    points = figure_points(speedup_points(df))
    if not points.empty:
        points = points.assign(kind=points["variant"] + " · " + points["path"])
    with plt.rc_context(STYLE), sns.axes_style("whitegrid"):
        if points.empty:
            fig, ax = plt.subplots(figsize=(6.4, 2.0), layout="constrained")
            ax.axis("off")
            ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", wrap=True)
            return fig
        panels = sorted(points.groupby(["device", "model"]).groups)
        columns = min(len(panels), 3)
        rows = -(-len(panels) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.6 * rows), layout="constrained", squeeze=False)
        kinds = sorted(points["kind"].unique())
        palette = dict(zip(kinds, sns.color_palette("colorblind", n_colors=len(kinds))))
        executions = sorted(points["execution"].unique())
        markers = {e: MARKERS[i % len(MARKERS)] for i, e in enumerate(executions)}
        low = min(points["theoretical_speedup"].min(), points["speedup_vs_dense"].min(), 1.0) / 1.25
        high = max(points["theoretical_speedup"].max(), points["speedup_vs_dense"].max(), 1.0) * 1.25
        for ax in axes.flat[len(panels):]:
            ax.axis("off")
        for ax, (device, model) in zip(axes.flat, panels):
            mine = points[(points["device"] == device) & (points["model"] == model)]
            ax.plot([low, high], [low, high], color="0.35", linestyle="--", linewidth=1)
            ax.axhline(1.0, color="0.6", linestyle=":", linewidth=1)
            for r in mine.itertuples(index=False):
                ax.scatter([r.theoretical_speedup], [r.speedup_vs_dense], color=palette[r.kind],
                           marker=markers[r.execution], s=40, alpha=0.85, edgecolor="black", linewidth=0.3, zorder=3)
            # the legend: colour = variant and path, marker = execution, drawn once per kind present here
            handles = [matplotlib.lines.Line2D([], [], color="0.35", linestyle="--", label="y = x (all of the FLOP reduction)"),
                       matplotlib.lines.Line2D([], [], color="0.6", linestyle=":", label="no speedup")]
            for kind in sorted(mine["kind"].unique()):
                handles.append(matplotlib.lines.Line2D([], [], color=palette[kind], marker="o", linestyle="", label=kind))
            for execution in sorted(mine["execution"].unique()):
                handles.append(matplotlib.lines.Line2D([], [], color="0.5", marker=markers[execution], linestyle="",
                                                       markeredgecolor="black", markeredgewidth=0.3, label=execution))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            ticks = [t for t in 2.0 ** np.arange(-4, 5) if low <= t <= high]
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
                axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
            ax.set_xlabel("theoretical speedup (dense FLOPs / non-zero FLOPs)")
            ax.set_ylabel("measured speedup over dense, same path and execution")
            ax.set_title(f"{device} · {model} · batch {int(mine['batch'].iloc[0])}", fontsize=9)
            ax.legend(handles=handles, fontsize=6, loc="upper left", frameon=True)
    return fig


def accuracy_costs(results: pd.DataFrame | None, variants, model: str) -> dict[str, str]:
    """Variant name -> "score delta (task, regime)" cells from `analysis.results.load_results` rows of `model`; a
    variant whose method has no rows of that model at its sparsity is absent (its cell prints as missing), and
    so is dense: it is the reference every delta is taken against, and a column of zeros for it would only
    hide the real costs. The model must match: a bench of `shape:bert-base` (random weights) has no accuracy,
    and MiniLM's would be another model's."""
    from prunebench.benchmarks.efficiency.variants import parse_variant

    costs: dict[str, str] = {}
    if results is None or results.empty:
        return costs
    results = results[results["model"] == model]
    for name in sorted(set(variants)):
        variant = parse_variant(name)
        if variant.method in (None, DENSE):
            continue
        rows = results[(results["method"] == variant.method) & ((results["target_units"] - variant.sparsity).abs() < 1e-9)]
        parts = []
        for (task, regime), g in rows.groupby(["task_label", "regime_label"], sort=True):
            parts.append(f"{(g['score'] - g['dense_score']).mean():+.2f} ({task}, {regime}, {g['seed'].nunique()} seeds)")
        if parts:
            costs[name] = "; ".join(parts)
    return costs


def _cell(value, digits: int = 2, suffix: str = "") -> str:
    return MISSING if pd.isna(value) else number(float(value), digits) + suffix


def _times(value) -> str:
    return _cell(value, 2, "×")


def speedup_table(df: pd.DataFrame | None, results: pd.DataFrame | None = None) -> Table | None:
    """The whole-model rows, every variant and path, with the accuracy each variant cost (if measured)."""
    if df is None or df.empty:
        return None
    costs = {model: accuracy_costs(results, g["variant"], model) for model, g in df.groupby("model")}
    rows = df[df["scope"] == "model"].sort_values(["device", "model", "variant", "path", "execution", "batch"])
    body = []
    for r in rows.itertuples(index=False):
        delta = costs[r.model].get(r.variant, MISSING)
        body.append([r.device, r.model, r.variant, r.path, str(r.execution) if not pd.isna(r.execution) else MISSING, str(r.batch),
                     _cell(r.latency_ms), _cell(r.throughput, 1), _times(r.theoretical_speedup),
                     _times(r.speedup_vs_dense), _cell(r.peak_mem_mb, 0), _cell(r.size_dense_mb, 1),
                     _cell(r.size_sparse_mb, 1), delta])
    columns = ["Device", "Model", "Variant", "Path", "Execution", "Batch", "Latency (ms)", "Throughput (ex/s)", "FLOP speedup",
               "Measured speedup", "Peak memory (MB)", "Size (MB)", "Sparse size (MB)", "Score Δ (task, regime, seeds)"]
    caption = ("Measured efficiency of dense and pruned variants. Sequence length 128; latency is one call at the "
               "batch shown, speedup is against the dense model on the same device, path reference, execution and batch.")
    notes = ["FLOP speedup = dense FLOPs / non-zero FLOPs of the variant (theoretical). Score Δ = pruned - dense score of "
             "the same seed, from the result rows of the variant's method at its requested sparsity (fine-tuned), seed "
             "mean per task and regime; " + MISSING + " where none exist. Empty timings: the path could not "
             "run there (reason in the CSV's notes)."]
    return Table(columns, body, caption, "tab:efficiency-bench", notes)


def batch_summary(df: pd.DataFrame | None, batch: int = FIGURE_BATCH) -> Table | None:
    """The question a deployer asks first, one row per pruned variant, path and execution at one batch: how
    much faster is the whole model, how much of its FLOP reduction is that, and what do the pruned linear
    layers alone gain, at this batch and at their best larger one. Read from the same rows as the full table."""
    if df is None or df.empty:
        return None
    pruned = df[~df["variant"].isin(NOT_PRUNED) & df["speedup_vs_dense"].notna()]
    model = pruned[(pruned["scope"] == "model") & (pruned["batch"] == batch)]
    if model.empty:
        return None
    linears = pruned[pruned["scope"] == "linears"]
    keys = ["device", "model", "variant", "path", "execution"]
    body = []
    for r in model.sort_values(keys).itertuples(index=False):
        mine = linears[(linears["device"] == r.device) & (linears["model"] == r.model) & (linears["variant"] == r.variant)
                       & (linears["path"] == r.path) & (linears["execution"] == r.execution)]
        here = mine[mine["batch"] == batch]["speedup_vs_dense"]
        larger = mine[mine["batch"] >= batch]
        best = larger.loc[larger["speedup_vs_dense"].idxmax()] if not larger.empty else None
        body.append([r.device, r.model, r.variant, r.path, r.execution, _times(r.theoretical_speedup),
                     _times(r.speedup_vs_dense), _cell(r.speedup_fraction),
                     _times(here.iloc[0]) if len(here) else MISSING,
                     MISSING if best is None else f"{_times(best['speedup_vs_dense'])} (batch {int(best['batch'])})"])
    columns = ["Device", "Model", "Variant", "Path", "Execution", "FLOP speedup", "Measured speedup",
               "Share of FLOP speedup", f"Linears, batch {batch}", f"Linears, best at batch ≥ {batch}"]
    caption = (f"Whole model and encoder linears at batch {batch}, sequence length 128: speedup over the dense model "
               "under the same conditions, and the share of the FLOP reduction it turned into time.")
    notes = ["Share of FLOP speedup = measured / FLOP speedup (whole model). Linears: the encoder linear layers alone, "
             "each on its (batch x 128, in) input, as the path runs them; " + MISSING + " where that scope has no row "
             "(not timed for compiled executions; CUDA-graph replay of it crashed at large batches, results/v1/README.md)."]
    return Table(columns, body, caption, f"tab:efficiency-batch-{batch}", notes)


def probe_table(path: str | Path) -> Table | None:
    """`scripts/probe_semi_structured.py`'s rows: one linear layer with a 2:4 weight against the same weight
    dense, replayed as a CUDA graph (the kernels alone, no host overhead), per weight shape and cuSPARSELt
    algorithm choice, one column per input row count. None when the probe has not run."""
    path = Path(path)
    if not path.is_file():
        return None
    probe = pd.read_csv(path, comment="#")
    graph = probe[probe["execution"] == "cuda-graph"]
    if graph.empty:
        return None
    counts = sorted(graph["rows"].unique())
    body = []
    for (device, n_out, n_in, backend), g in graph.groupby(["device", "out", "in", "backend"], sort=True):
        cells = {int(r): _times(v) for r, v in zip(g["rows"], g["speedup"])}
        body.append([device, f"{n_out} x {n_in}", backend, *(cells.get(int(c), MISSING) for c in counts)])
    columns = ["Device", "Weight (out x in)", "2:4 kernel", *(f"{int(c):,} rows" for c in counts)]
    caption = "One linear layer, 2:4 weight against the same weight dense (fp16, CUDA graph): dense time / 2:4 time"
    notes = ["Rows = batch x sequence length (4,096 = batch 32 at 128 tokens). cusparselt: PyTorch's default "
             "cuSPARSELt algorithm; cusparselt-searched: the one torch._cslt_sparse_mm_search finds fastest for that "
             "shape and row count, which the bench's 2:4 path uses. The kernel alone: the whole-model rows above "
             "also pay PyTorch 2.11's copy of the transposed output. From results/v1/probe-semi-structured.csv."]
    return Table(columns, body, caption, "tab:probe-semi-structured", notes)

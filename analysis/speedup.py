"""Measured speedup against theoretical FLOP reduction, from `results/v1/efficiency.csv` (written by
`prunebench bench-efficiency`; columns in `benchmarks/efficiency/table.py` and `results/v1/README.md`).

The figure puts every measured (variant, speed path, batch) of the whole model at x = theoretical speedup
(dense FLOPs / the variant's non-zero FLOPs) and y = measured speedup over the dense model under the same
conditions, one panel per device, with y = x (all of the FLOP reduction became time) and y = 1 (no speedup
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
    keep = (df["scope"] == "model") & (df["variant"] != DENSE) & df["speedup_vs_dense"].notna() & df["theoretical_speedup"].notna()
    cols = ["device", "model", "variant", "path", "execution", "batch", "theoretical_speedup", "speedup_vs_dense"]
    return df.loc[keep, cols].sort_values(["device", "model", "variant", "path", "execution", "batch"]).reset_index(drop=True)


def speedup_figure(df: pd.DataFrame | None) -> plt.Figure:
    """One panel per device: measured vs theoretical speedup, coloured by path, marker by batch."""
    points = speedup_points(df)
    with plt.rc_context(STYLE), sns.axes_style("whitegrid"):
        if points.empty:
            fig, ax = plt.subplots(figsize=(6.4, 2.0), layout="constrained")
            ax.axis("off")
            ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", wrap=True)
            return fig
        devices = sorted(points["device"].unique())
        fig, axes = plt.subplots(1, len(devices), figsize=(5.2 * len(devices), 4.6), layout="constrained", squeeze=False)
        paths = sorted(points["path"].unique())
        palette = dict(zip(paths, sns.color_palette("colorblind", n_colors=len(paths))))
        batches = sorted(points["batch"].unique())
        markers = {b: MARKERS[i % len(MARKERS)] for i, b in enumerate(batches)}
        low = min(points["theoretical_speedup"].min(), points["speedup_vs_dense"].min(), 1.0) / 1.25
        high = max(points["theoretical_speedup"].max(), points["speedup_vs_dense"].max(), 1.0) * 1.25
        for ax, device in zip(axes[0], devices):
            mine = points[points["device"] == device]
            ax.plot([low, high], [low, high], color="0.35", linestyle="--", linewidth=1, label="y = x (all of the FLOP reduction)")
            ax.axhline(1.0, color="0.6", linestyle=":", linewidth=1, label="no speedup")
            for (path, execution, batch), g in mine.groupby(["path", "execution", "batch"], sort=True):
                label = f"{path}, batch {batch}" if execution in (path, "eager") else f"{path} ({execution}), batch {batch}"
                ax.scatter(g["theoretical_speedup"], g["speedup_vs_dense"], color=palette[path], marker=markers[batch],
                           s=36, alpha=0.85 if execution != "eager" or mine["execution"].nunique() == 1 else 0.45,
                           edgecolor="black", linewidth=0.3, label=label, zorder=3)
            # variants at one x (e.g. every 50% mask) get their labels stacked above the cluster's top point
            firsts = mine.groupby("variant", sort=True).agg(x=("theoretical_speedup", "first"), y=("speedup_vs_dense", "max"))
            # (a quarter octave: 1.90x for a 50% mask and 2.00x for a halved layer share one stack)
            firsts["cluster"] = np.round(np.log2(firsts["x"]) * 4) / 4
            for _, cluster in firsts.groupby("cluster", sort=True):
                top = cluster["y"].max()
                for slot, (variant, r) in enumerate(cluster.sort_values("y").iterrows()):
                    right = r["x"] * 1.6 > high  # near the right edge the label reads leftwards, inside the axes
                    ax.annotate(variant, (r["x"], top), textcoords="offset points", xytext=(-4 if right else 4, 4 + 9 * slot),
                                ha="right" if right else "left", fontsize=6.5, color="0.25")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            ticks = [t for t in 2.0 ** np.arange(-4, 5) if low <= t <= high]
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
                axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
            ax.set_xlabel("theoretical speedup (dense FLOPs / non-zero FLOPs)")
            ax.set_ylabel("measured speedup over dense, same path and batch")
            ax.set_title(f"{device} · {', '.join(sorted(mine['model'].unique()))}", fontsize=9)
            ax.legend(fontsize=6, loc="upper left", frameon=True)
    return fig


def accuracy_costs(results: pd.DataFrame | None, variants, model: str) -> dict[str, str]:
    """Variant name -> "score delta (task, regime)" cells from `analysis.results.load_results` rows of `model`; a
    variant whose method has no rows of that model at its sparsity is absent (its cell prints as missing), and
    so is dense: it is the reference every delta is taken against, and a column of zeros for it would only
    hide the real costs. The model must match: a bench of `shape:bert-base` (random weights) has no accuracy,
    and MiniLM's would be another model's."""
    from benchmarks.efficiency.variants import parse_variant

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


def speedup_table(df: pd.DataFrame | None, results: pd.DataFrame | None = None) -> Table | None:
    """The whole-model rows, every variant and path, with the accuracy each variant cost (if measured)."""
    if df is None or df.empty:
        return None
    costs = {model: accuracy_costs(results, g["variant"], model) for model, g in df.groupby("model")}
    rows = df[df["scope"] == "model"].sort_values(["device", "model", "variant", "path", "execution", "batch"])

    def cell(value, digits=2, suffix=""):
        return MISSING if pd.isna(value) else number(float(value), digits) + suffix

    body = []
    for r in rows.itertuples(index=False):
        delta = costs[r.model].get(r.variant, MISSING)
        body.append([r.device, r.model, r.variant, r.path, str(r.execution) if not pd.isna(r.execution) else MISSING, str(r.batch),
                     cell(r.latency_ms), cell(r.throughput, 1), cell(r.theoretical_speedup, 2, "×"),
                     cell(r.speedup_vs_dense, 2, "×"), cell(r.peak_mem_mb, 0), cell(r.size_dense_mb, 1),
                     cell(r.size_sparse_mb, 1), delta])
    columns = ["Device", "Model", "Variant", "Path", "Execution", "Batch", "Latency (ms)", "Throughput (ex/s)", "FLOP speedup",
               "Measured speedup", "Peak memory (MB)", "Size (MB)", "Sparse size (MB)", "Score Δ (task, regime, seeds)"]
    caption = ("Measured efficiency of dense and pruned variants. Sequence length 128; latency is one call at the "
               "batch shown, speedup is against the dense model on the same device, path reference, execution and batch.")
    notes = ["FLOP speedup = dense FLOPs / non-zero FLOPs of the variant (theoretical). Score Δ = pruned - dense score of "
             "the same seed, from the result rows of the variant's method at its requested sparsity (fine-tuned), seed "
             "mean per task and regime; " + MISSING + " where none exist. Empty timings: the path could not "
             "run there (reason in the CSV's notes)."]
    return Table(columns, body, caption, "tab:efficiency-bench", notes)

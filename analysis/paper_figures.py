"""The paper's figures: small multiples of score against sparsity, the speedup Pareto figure, and the recipe
sweeps' effect. All three are drawn at print size (6.5 inches wide, the paper's text width), so a 7-point label
in the PDF is a 7-point label on paper.

**Small multiples** (``family_grid``): one row per (model, task, regime), one column per method family
(``families``), at most ``PER_PANEL`` curves in a panel. A panel shows each method's seed mean with its 95%
interval as a band (the percentile bootstrap over seeds of ``results.aggregate``; one seed: no band), the dense
model as a grey band (its seed mean and interval), the task's chance level (dotted, or an arrow with its value
when it lies below the panel), and, in the magnitude column of a full-data row, seed 003's reported DistilBERT
curve (grey, dashed: another model, cited, not measured). The y-axis is fitted to what the row draws and shared
by the row's panels, so one glance compares families on one task; below each panel a phase strip gives each
curve's safe zone, degrading part and over-pruned part (``phases``), with a triangle at the knee.

**Pareto** (``pareto_figure``): for every pruned variant of ``results/v1/efficiency.csv`` whose method has
result rows on the same model, its retained score (seed mean per task, then mean over the full-data tasks)
against its measured whole-model speedup at batch 32, one panel per device, colour by speed path and marker
by execution. The open grey marker of each variant sits at its FLOP speedup: where the point would lie if all
of the FLOP reduction became time (the y = x line of measured against FLOP speedup). CPU runtimes at bf16 or
int8 are left out until their own dev-set scores exist (``runtimes.scored_as_trained``).

**Sweeps** (``sweep_figure``): each recipe's seed-0 validation score minus the best recipe's, per sweep and
task (``results/v1/sweeps.csv``), the chosen recipe and the recipe before the sweep (``TrainConfig``'s
defaults) marked; a third panel lists the pruning methods that have no tuned sweep of their own yet.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from .curves import Curve  # noqa: E402
from .families import MAGNITUDE, family_columns  # noqa: E402
from .paper_tables import short  # noqa: E402
from .labels import model_label, task_label  # noqa: E402
from .plots import MARKERS, PHASE_COLOURS  # noqa: E402
from .reference import REFERENCE_REGIME  # noqa: E402
from .regimes import from_key  # noqa: E402
from .results import DENSE  # noqa: E402

PER_PANEL = 6
WIDTH = 6.5  # inches: the paper's text width (A4, 2.2 cm margins)
FONT = {"font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6,
        "legend.fontsize": 6, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "prunebench", "savefig.dpi": 200}
REFERENCE_COLOUR = "0.45"
DENSE_BAND = "0.82"


def _percent(v, _=None) -> str:
    return f"{100 * v:.0f}"


def _wrap(text: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=True)) or text


def _row_limits(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return (0.0, 1.0)
    low, high = min(finite), max(finite)
    pad = max(0.06 * (high - low), 0.5)
    return (low - pad, high + pad)


def family_grid(rows: list[tuple[str, str, str]], curves: list[Curve], dense: pd.DataFrame,
                reference: list[Curve]) -> plt.Figure:
    """Small multiples for the given (model, task, regime) rows; `dense` is ``results.dense_baselines`` indexed
    by (model, task, regime); `reference` is ``curves.reference_curves`` (seed 003, model ``distilbert``)."""
    mine = [c for c in curves if (c.model, c.task, c.regime) in set(rows)]
    columns = family_columns([c.method for c in mine], PER_PANEL)
    palette = sns.color_palette("colorblind", PER_PANEL)
    style = {m: (palette[i], MARKERS[i]) for _, names in columns for i, m in enumerate(names)}
    n_cols = max(len(columns), 1)
    strip = 0.07 * PER_PANEL + 0.12
    lines = max([sum(_wrap(short(m)).count("\n") + 1 for m in names) + (j == 0)
                 for j, (_, names) in enumerate(columns)] or [1])
    heights = [0.32 + 0.088 * lines] + [h for _ in rows for h in (1.15, strip)]
    with plt.rc_context(FONT), sns.axes_style("whitegrid"):
        fig = plt.figure(figsize=(WIDTH, sum(heights) + 0.45 * len(rows) + 0.2), layout="constrained")
        gs = fig.add_gridspec(len(heights), n_cols, height_ratios=heights)
        x_range = {}
        for j, (_, names) in enumerate(columns):
            xs = [s for c in mine if c.method in names for s in c.sparsity]
            x_range[j] = (min(xs) - 0.04, max(xs) + 0.03) if xs else (0.0, 1.0)
        for j, (title, names) in enumerate(columns):  # legend row: one legend per family column
            ax = fig.add_subplot(gs[0, j])
            ax.axis("off")
            handles = [Line2D([], [], color=style[m][0], marker=style[m][1], markersize=3, linewidth=1,
                              label=_wrap(short(m))) for m in names]
            if j == 0:
                handles.append(Line2D([], [], color=REFERENCE_COLOUR, linestyle="--", marker="x", markersize=3,
                                      label="seed 003, DistilBERT (reported)"))
            ax.set_title(_wrap(title, 20), fontsize=7, fontweight="bold", loc="left")
            legend = ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=5.5, handlelength=1.4,
                               borderaxespad=0, labelspacing=0.15, bbox_to_anchor=(-0.02, 1), handletextpad=0.4)
            legend.set_in_layout(False)  # long names may run into the gutter; they must not squeeze the panels
        for i, key in enumerate(rows):
            model, task, regime = key
            base = dense.loc[key] if key in dense.index else None
            here = [c for c in mine if (c.model, c.task, c.regime) == key]
            refs = [c for c in reference if c.task == task] if regime == REFERENCE_REGIME else []
            values = [v for c in here for v in (*c.mean, *c.ci_low, *c.ci_high)]
            values += [v for c in refs for v in c.mean]
            if base is not None:
                values += [base["mean"], base["ci_low"], base["ci_high"]]
            low, high = _row_limits(values)
            chance = here[0].chance if here else math.nan
            metric = here[0] if here else None
            r = from_key(regime)
            label = f"{task_label(task, r.qqp_subset)}\n{r.label}" if metric else task_label(task, r.qqp_subset)
            for j, (title, names) in enumerate(columns):
                ax = fig.add_subplot(gs[1 + 2 * i, j])
                strip_ax = fig.add_subplot(gs[2 + 2 * i, j], sharex=ax)
                panel = [c for c in here if c.method in names]
                _panel(ax, panel, base, chance, refs if title.startswith(MAGNITUDE) else [], style, (low, high))
                ax.set_xlim(*x_range[j])
                ax.xaxis.set_major_locator(MaxNLocator(4))
                ax.xaxis.set_major_formatter(FuncFormatter(_percent))
                ax.tick_params(labelbottom=False, pad=1)
                if j == 0:
                    ax.set_ylabel(label + f"\n({model_label(model)})", fontsize=6.5)
                else:
                    ax.tick_params(labelleft=False)
                _strip(strip_ax, panel, style, x_range[j][1])
                strip_ax.tick_params(labelbottom=True, pad=1)
                if i == len(rows) - 1:
                    strip_ax.set_xlabel("weight sparsity (%)", fontsize=6)
        fig.legend(handles=[Patch(color=DENSE_BAND, label="dense, 95% interval"),
                            Line2D([], [], color="0.4", linestyle=":", label="chance"),
                            *[Patch(color=c, label=n) for n, c in PHASE_COLOURS.items()],
                            Line2D([], [], marker="v", color="black", linestyle="none", markersize=3, label="knee")],
                   loc="lower center", ncols=6, frameon=False, fontsize=6, bbox_to_anchor=(0.5, -0.005))
        fig.get_layout_engine().set(h_pad=0.02, hspace=0.0, rect=(0, 0.03, 1, 0.97))
    return fig


def _panel(ax, panel: list[Curve], base, chance: float, refs: list[Curve], style: dict, limits) -> None:
    low, high = limits
    if base is not None and not math.isnan(base["mean"]):
        if not math.isnan(base["ci_low"]):
            ax.axhspan(base["ci_low"], base["ci_high"], color=DENSE_BAND, zorder=0, linewidth=0)
        ax.axhline(base["mean"], color="0.5", linewidth=0.8, zorder=1)
    if not math.isnan(chance):
        if low <= chance <= high:
            ax.axhline(chance, color="0.4", linestyle=":", linewidth=0.9, zorder=1)
        else:
            ax.annotate(f"chance {chance:.0f} ↓", xy=(0.03, 0.03), xycoords="axes fraction", fontsize=5, color="0.35")
    for c in refs:
        ax.plot(c.sparsity, c.mean, color=REFERENCE_COLOUR, linestyle="--", marker="x", markersize=3, linewidth=0.9,
                zorder=2)
    for c in panel:
        colour, marker = style[c.method]
        if not np.isnan(c.ci_low).all():
            ax.fill_between(c.sparsity, np.where(np.isnan(c.ci_low), c.mean, c.ci_low),
                            np.where(np.isnan(c.ci_high), c.mean, c.ci_high), color=colour, alpha=0.2, linewidth=0)
        ax.plot(c.sparsity, c.mean, color=colour, marker=marker, markersize=2.5, linewidth=1.0, zorder=3)
    if not panel:
        ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center", fontsize=6, color="0.4")
    ax.set_ylim(low, high)


def _strip(ax, panel: list[Curve], style: dict, right: float) -> None:
    for row, c in enumerate(panel):
        p = c.phases()
        y = PER_PANEL - 1 - row
        start = float(c.sparsity[0])
        safe = p.safe_end if not math.isnan(p.safe_end) else start
        over = p.over_start if not math.isnan(p.over_start) else float(c.sparsity[-1])
        if not math.isnan(p.safe_end):
            ax.barh(y, p.safe_end - start, left=start, height=0.8, color=PHASE_COLOURS["safe zone"])
        if over > safe:
            ax.barh(y, over - safe, left=safe, height=0.8, color=PHASE_COLOURS["degrading"])
        if not math.isnan(p.over_start):
            ax.barh(y, max(float(c.sparsity[-1]), p.over_start) - p.over_start + 0.01, left=p.over_start, height=0.8,
                    color=PHASE_COLOURS["over-pruned"])
        ax.plot([start - 0.012], [y], marker="s", markersize=2.2, color=style[c.method][0], linestyle="none")
        if not math.isnan(p.knee):
            ax.plot([p.knee], [y], marker="v", color="black", markersize=2.5, linestyle="none")
    ax.set_ylim(-0.6, PER_PANEL - 0.4)
    ax.set_yticks([])
    ax.grid(False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def retained_by_variant(results: pd.DataFrame, variants, model: str) -> dict[str, tuple[float, int]]:
    """Variant name -> (retained score, tasks): seed mean of score / dense score per full-data task of `model`,
    then the mean over those tasks; variants with no result rows (a combination of methods, another model's
    shapes) are absent."""
    from prunebench.benchmarks.efficiency.variants import parse_variant

    out = {}
    rows = results[(results["model"] == model) & (results["regime"] == REFERENCE_REGIME)]
    for name in sorted(set(variants)):
        v = parse_variant(name)
        if v.method in (None, DENSE):
            continue
        hit = rows[(rows["method"] == v.method) & ((rows["target_units"] - v.sparsity).abs() < 1e-9)]
        if hit.empty:
            continue
        per_task = hit.groupby("task")["retained"].mean()
        out[name] = (float(per_task.mean()), len(per_task))
    return out


PARETO_BATCH = 32


def pareto_points(results: pd.DataFrame, efficiency: pd.DataFrame | None, batch: int = PARETO_BATCH) -> pd.DataFrame:
    """Whole-model rows at `batch` of pruned variants with a retained score (see ``retained_by_variant``)."""
    columns = ["device", "model", "variant", "path", "execution", "speedup_vs_dense", "theoretical_speedup",
               "retained", "tasks"]
    if efficiency is None or efficiency.empty:
        return pd.DataFrame(columns=columns)
    from .runtimes import scored_as_trained

    rows = efficiency[(efficiency["scope"] == "model") & (efficiency["variant"] != DENSE) & (efficiency["batch"] == batch)
                      & efficiency["speedup_vs_dense"].notna() & scored_as_trained(efficiency)]
    out = []
    for model, g in rows.groupby("model"):
        kept = retained_by_variant(results, g["variant"], model)
        for r in g.itertuples(index=False):
            if r.variant in kept:
                out.append([r.device, r.model, r.variant, r.path, r.execution, r.speedup_vs_dense,
                            r.theoretical_speedup, *kept[r.variant]])
    return pd.DataFrame(out, columns=columns)


def pareto_figure(points: pd.DataFrame) -> plt.Figure:
    """Retained score against measured speedup, one panel per device (see the module docstring)."""
    with plt.rc_context(FONT), sns.axes_style("whitegrid"):
        if points.empty:
            fig, ax = plt.subplots(figsize=(WIDTH, 1.2), layout="constrained")
            ax.axis("off")
            ax.text(0.5, 0.5, "No efficiency row has a pruned variant with result rows yet.", ha="center", va="center")
            return fig
        devices = sorted(points["device"].unique())
        fig, axes = plt.subplots(1, len(devices), figsize=(WIDTH, 2.9), layout="constrained", squeeze=False,
                                 sharey=True)
        paths = sorted(points["path"].unique())
        colours = dict(zip(paths, sns.color_palette("colorblind", len(paths))))
        executions = sorted(points["execution"].astype(str).unique())
        markers = {e: MARKERS[i % len(MARKERS)] for i, e in enumerate(executions)}
        xs = np.concatenate([points["speedup_vs_dense"], points["theoretical_speedup"], [1.0]])
        lo, hi = xs.min() / 1.3, xs.max() * 1.3
        for ax, device in zip(axes[0], devices):
            mine = points[points["device"] == device]
            ax.axvline(1.0, color="0.5", linestyle=":", linewidth=0.9)
            for v, g in mine.groupby("variant"):
                flop, kept = float(g["theoretical_speedup"].iloc[0]), float(g["retained"].iloc[0])
                ax.scatter([flop], [kept], facecolor="none", edgecolor="0.3", marker="o", s=30, zorder=2)
                n = int(g["tasks"].iloc[0])
                ax.annotate(f"{v} ({n} task{'s' if n != 1 else ''})", (flop, kept), xytext=(3, 3),
                            textcoords="offset points", fontsize=5, color="0.3")
                for r in g.itertuples(index=False):
                    ax.plot([r.speedup_vs_dense, flop], [kept, kept], color="0.75", linewidth=0.6, zorder=1)
                    ax.scatter([r.speedup_vs_dense], [kept], color=colours[r.path], marker=markers[str(r.execution)],
                               s=22, edgecolor="black", linewidth=0.3, zorder=3)
            ax.set_xscale("log", base=2)
            ax.set_xlim(lo, hi)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
            ax.set_xlabel(f"speedup over dense, whole model, batch {PARETO_BATCH}")
            ax.set_title(device, fontsize=7)
        axes[0][0].set_ylabel("retained score (mean over tasks)")
        axes[0][0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
        handles = [Line2D([], [], color=colours[p], marker="o", linestyle="none", markersize=4, label=p) for p in paths]
        handles += [Line2D([], [], color="0.5", marker=markers[e], linestyle="none", markersize=4,
                           markeredgecolor="black", markeredgewidth=0.3, label=e) for e in executions]
        handles += [Line2D([], [], color="0.3", marker="o", markerfacecolor="none", linestyle="none", markersize=4,
                           label="FLOP speedup (measured = FLOPs)"),
                    Line2D([], [], color="0.5", linestyle=":", label="no speedup")]
        fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False, fontsize=6)
    return fig


def sweep_figure(sweeps: pd.DataFrame, methods: list[str]) -> plt.Figure:
    """Every recipe's seed-0 score minus the best recipe's of the same sweep and task; `sweeps` is
    ``recipes.load_sweep`` rows of every sweep with a ``sweep`` column; `methods` the pruning methods of the
    results CSV (those without sweep rows of their own are listed as pending)."""
    from prunebench.benchmarks.config import TrainConfig

    default = TrainConfig()
    seed0 = sweeps[sweeps["seed"].astype(int) == 0]
    panels = sorted(seed0["sweep"].unique())
    tuned = set(seed0.loc[seed0["method"] != DENSE, "method"])
    untuned = [m for m in methods if m not in tuned]
    with plt.rc_context(FONT), sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, len(panels) + 1, figsize=(WIDTH, 2.5), layout="constrained", squeeze=False,
                                 width_ratios=[*([2.2] * len(panels)), 1.4])
        for ax, name in zip(axes[0], panels):
            g = seed0[seed0["sweep"] == name]
            spread = g.groupby(["task", "method", "target_sparsity"])["score"].nunique()
            keys = sorted(k for k, n in spread.items() if n > 1)  # all recipes equal (dense rows of a recovery sweep)
            for x, (task, method, s) in enumerate(keys):
                cell = g[(g["task"] == task) & (g["method"] == method) & (g["target_sparsity"] == s)]
                delta = cell["score"] - cell["score"].max()
                ax.scatter(np.full(len(cell), x), delta, color="0.55", s=9, zorder=2)
                before = cell[_is_default(cell, default)]
                if len(before):
                    ax.scatter([x], [float(before["score"].iloc[0] - cell["score"].max())], marker="D", s=22,
                               facecolor="none", edgecolor="#d55e00", linewidth=1.0, zorder=3)
                ax.scatter([x], [0.0], marker="*", s=40, color="#0072b2", zorder=4)
            ax.set_xticks(range(len(keys)))
            ax.set_xticklabels([task_label(t) + ("" if m == DENSE else f"\n{m}@{100 * s:.0f}%") for t, m, s in keys],
                               fontsize=5.5, rotation=0)
            ax.set_title(name, fontsize=7)
            ax.set_ylabel("score − best recipe's (points)")
        ax = axes[0][-1]
        ax.axis("off")
        ax.set_title("tuned method sweeps", fontsize=7)
        text = ("pending for " + str(len(untuned)) + " of " + str(len(methods)) + " methods:\n" + "\n".join(untuned)
                if untuned else "every method has a sweep")
        ax.text(0.0, 1.0, text, va="top", ha="left", fontsize=5, transform=ax.transAxes, color="0.25")
        fig.legend(handles=[Line2D([], [], color="0.55", marker="o", linestyle="none", markersize=3, label="a recipe"),
                            Line2D([], [], color="#0072b2", marker="*", linestyle="none", markersize=5,
                                   label="chosen (best seed-0 score)"),
                            Line2D([], [], color="#d55e00", marker="D", markerfacecolor="none", linestyle="none",
                                   markersize=4, label="recipe before the sweep (defaults)")],
                   loc="outside lower center", ncols=3, frameon=False, fontsize=6)
    return fig


def _is_default(cell: pd.DataFrame, default) -> pd.Series:
    """Rows run with the pre-sweep defaults in every swept field present as a ``train.<field>`` column."""
    keep = pd.Series(True, index=cell.index)
    for field in ("lr", "epochs", "recovery_lr", "recovery_epochs"):
        column = f"train.{field}"
        if column in cell and cell[column].astype(str).nunique() > 1:
            keep &= np.isclose(cell[column].astype(float), float(getattr(default, field)))
    return keep

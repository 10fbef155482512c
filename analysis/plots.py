"""Sparsity-curve figures: score against sparsity for every method of one (model, task, regime).

What a figure shows, and why:

- one series per method: seed mean with the bootstrap 95% interval as error bars (no bar for one seed);
  lines join only *consecutive measured* sparsities of the figure's grid, so a sparsity a method was not
  run at is a visible gap, never an interpolated line, and nothing is smoothed;
- the dense model as a dashed horizontal line (and a marker at 0), the task's chance level (``chance``) as a
  dotted one;
- the compression ratio 1/(1 - s) of the prunable weights on a top axis, at round ratios (1x, 1.5x, 2x,
  3x, 4x, 5x, 10x, ...); the bottom axis is ticked at every measured sparsity, labelled where labels do not
  collide (structured methods put points at 8%, 17%, 33% and 67% next to the 5-point grid);
- the legend beside the plot once there are more methods than fit inside it without hiding points;
- below the plot, one strip per method with its three phases (``phases``) shaded: safe zone, degrading,
  over-pruned, and a triangle at the knee. Shading the main plot instead would force one method's phases on
  all the others.

Colours and markers come from the sorted list of every method in the CSV, so a method looks the same in
every figure. Files are written with the Agg backend and without a creation date, so rerunning on the same
CSV gives the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .curves import Curve  # noqa: E402
from .labels import compression  # noqa: E402

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
PHASE_COLOURS = {"safe zone": "#9ecf9a", "degrading": "#f3d27a", "over-pruned": "#e8918a"}
DENSE_COLOUR = "0.35"
CHANCE_COLOUR = "0.6"
MAX_SPARSITY_FOR_RATIO = 0.999  # the top axis maps s -> 1/(1-s); keep it finite at the right edge
COMPRESSION_TICKS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0)
MIN_LABEL_GAP = 0.045  # sparsity units between labelled bottom ticks (about 0.25 inch at the figure's width)
LEGEND_INSIDE_MAX = 8  # legend entries that still fit inside the plot

STYLE = {"svg.hashsalt": "prunebench", "pdf.fonttype": 42, "ps.fonttype": 42, "figure.dpi": 100,
         "savefig.dpi": 150, "font.size": 9}


def method_styles(methods: list[str]) -> dict[str, tuple[tuple[float, float, float], str]]:
    """Colour and marker per method, from the sorted method list (so the same method looks the same everywhere).
    The colour-blind palette has 10 colours; past ten methods the marker shifts by one per round, so no two
    methods share both (up to 100)."""
    names = sorted(methods)
    palette = sns.color_palette("colorblind")
    return {m: (palette[i % len(palette)], MARKERS[(i + i // len(palette)) % len(MARKERS)]) for i, m in enumerate(names)}


def tick_labels(ticks: np.ndarray, gap: float = MIN_LABEL_GAP) -> list[str]:
    """Percent labels for sorted sparsity ticks, blank where a label would touch its left neighbour; the last
    tick is always labelled (the highest sparsity is what a reader looks for), dropping its neighbour instead."""
    keep = []
    for i, s in enumerate(ticks):
        if not keep or s - ticks[keep[-1]] >= gap:
            keep.append(i)
    if len(ticks) and keep[-1] != len(ticks) - 1:
        if len(keep) > 1 and ticks[-1] - ticks[keep[-1]] < gap:
            keep.pop()
        keep.append(len(ticks) - 1)
    return [f"{100 * s:g}" if i in keep else "" for i, s in enumerate(ticks)]


def _runs(points: np.ndarray, grid: np.ndarray) -> list[np.ndarray]:
    """Split a method's point indices into runs that are consecutive on the figure's sparsity grid."""
    position = np.searchsorted(grid, points)
    breaks = np.where(np.diff(position) != 1)[0] + 1
    return np.split(np.arange(points.size), breaks)


def _to_ratio(s):
    return 1.0 / (1.0 - np.clip(s, None, MAX_SPARSITY_FOR_RATIO))


def _to_sparsity(r):
    return 1.0 - 1.0 / np.clip(r, 1e-9, None)


def sparsity_figure(curves: list[Curve], dense: float, dense_n: int, title: str, ylabel: str,
                    styles: dict[str, tuple]) -> plt.Figure:
    """The figure of one (model, task, regime); `curves` are its methods' curves (see ``curves.build_curves``)."""
    grid = np.unique(np.concatenate([c.sparsity for c in curves])) if curves else np.array([])
    n_strips = len(curves)
    with plt.rc_context(STYLE), sns.axes_style("whitegrid"):
        outside = n_strips + 2 > LEGEND_INSIDE_MAX
        fig = plt.figure(figsize=(6.4 + (2.6 if outside else 0.0), 3.6 + 0.22 * n_strips), layout="constrained")
        heights = [3.2] + ([0.22 * n_strips + 0.25] if n_strips else [])
        gs = fig.add_gridspec(len(heights), 1, height_ratios=heights)
        ax = fig.add_subplot(gs[0])
        if not math.isnan(dense):
            ax.axhline(dense, color=DENSE_COLOUR, linestyle="--", linewidth=1.2, zorder=1)
            ax.plot([0.0], [dense], marker="*", markersize=9, color=DENSE_COLOUR, linestyle="none", zorder=3)
        handles = [Line2D([], [], color=DENSE_COLOUR, linestyle="--", marker="*",
                          label=f"dense ({dense_n} seed{'s' if dense_n != 1 else ''})")]
        chance = curves[0].chance if curves else math.nan
        if not math.isnan(chance):
            ax.axhline(chance, color=CHANCE_COLOUR, linestyle=":", linewidth=1.0, zorder=1)
            handles.append(Line2D([], [], color=CHANCE_COLOUR, linestyle=":", label="chance (constant predictor)"))
        for c in curves:
            colour, marker = styles[c.method]
            low = np.where(np.isnan(c.ci_low), c.mean, c.ci_low)
            high = np.where(np.isnan(c.ci_high), c.mean, c.ci_high)
            yerr = None if np.isnan(c.ci_low).all() else [c.mean - low, high - c.mean]  # one seed: no bars at all
            ax.errorbar(c.sparsity, c.mean, yerr=yerr, fmt=marker, color=colour, markersize=5, capsize=3,
                        elinewidth=1, linestyle="none", zorder=4)
            for run in _runs(c.sparsity, grid):
                if run.size > 1:
                    ax.plot(c.sparsity[run], c.mean[run], color=colour, linewidth=1.4, zorder=3)
            handles.append(Line2D([], [], color=colour, marker=marker, label=c.method))
        right = float(grid.max()) if grid.size else 1.0
        ax.set_xlim(-0.02, right + 0.04)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ticks = np.unique(np.concatenate([[0.0], grid]))
        ax.set_xticks(ticks)
        ax.set_xticklabels(tick_labels(ticks))
        ax.set_xlabel("sparsity of the encoder linear weights, measured (%)")
        top = ax.secondary_xaxis("top", functions=(_to_ratio, _to_sparsity))
        ratios = [r for r in COMPRESSION_TICKS if _to_sparsity(r) <= right + 0.04]
        top.set_xticks(ratios)
        top.set_xticklabels([compression(float(_to_sparsity(r))) for r in ratios], fontsize=7)
        top.set_xlabel("compression of the prunable weights", fontsize=8)
        if outside:
            ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        else:
            ax.legend(handles=handles, fontsize=7, loc="best", frameon=True)
        if n_strips:
            _phase_strips(fig.add_subplot(gs[1], sharex=ax), curves, styles, right)
            ax.tick_params(labelbottom=True)
    return fig


def _phase_strips(ax: plt.Axes, curves: list[Curve], styles: dict[str, tuple], right: float) -> None:
    """One row per method: safe zone, degrading and over-pruned spans, and the knee."""
    for row, c in enumerate(curves):
        p = c.phases()
        y = len(curves) - 1 - row
        end = float(c.sparsity[-1])
        start_degrading = 0.0 if math.isnan(p.safe_end) else p.safe_end
        stop_degrading = end if math.isnan(p.over_start) else p.over_start
        if not math.isnan(p.safe_end):
            ax.barh(y, p.safe_end, left=0.0, height=0.7, color=PHASE_COLOURS["safe zone"])
        if stop_degrading > start_degrading:
            ax.barh(y, stop_degrading - start_degrading, left=start_degrading, height=0.7,
                    color=PHASE_COLOURS["degrading"])
        if not math.isnan(p.over_start):  # drawn to the plot's edge: pruning further stays over-pruned
            ax.barh(y, right + 0.04 - p.over_start, left=p.over_start, height=0.7, color=PHASE_COLOURS["over-pruned"])
        if not math.isnan(p.knee):
            ax.plot([p.knee], [y], marker="v", color="black", markersize=5, linestyle="none")
        ax.plot(c.sparsity, np.full(c.sparsity.shape, y), marker="|", color=styles[c.method][0], linestyle="none")
    ax.set_yticks(range(len(curves)))
    ax.set_yticklabels([c.method for c in reversed(curves)], fontsize=7)
    ax.set_ylim(-0.6, len(curves) - 0.4)
    ax.set_xlim(-0.02, right + 0.04)
    ax.grid(False)
    ax.tick_params(axis="x", labelbottom=False)
    legend = [Patch(color=colour, label=name) for name, colour in PHASE_COLOURS.items()]
    legend.append(Line2D([], [], marker="v", color="black", linestyle="none", label="knee"))
    ax.legend(handles=legend, fontsize=6, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.05), frameon=False)


def save_figure(fig: plt.Figure, stem: Path) -> list[Path]:
    """`stem`.pdf and `stem`.png, with no timestamps in either file."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    pdf, png = stem.with_suffix(".pdf"), stem.with_suffix(".png")
    with plt.rc_context(STYLE):
        fig.savefig(pdf, metadata={"CreationDate": None, "ModDate": None})
        fig.savefig(png, metadata={"Software": None})
    plt.close(fig)
    return [pdf, png]

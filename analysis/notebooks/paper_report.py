# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The paper's figures, tables and headline numbers
#
# Everything `paper/main.tex` shows in its main text and appendix, from `results/v1/results.csv`,
# `results/v1/efficiency.csv` and `results/v1/sweeps.csv` only: the small multiples of score against sparsity
# (one panel per task and method family, `analysis/paper_figures.py`), the Pareto figure of retained score against
# measured speedup, the recipe sweeps' effect; the main table, the compact leaderboard, the phase table, the
# efficiency summary at batch 1/32/128, the CPU runtimes and precisions (`analysis/runtimes.py`) and the
# appendix's per-task tables (`analysis/paper_tables.py`); and the
# headline numbers the abstract quotes (`\pb{...}` keys in `report_numbers.tex`). Output folder: `paper/report/`.

# %% tags=["parameters"]
from pathlib import Path

from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
EFFICIENCY = param("efficiency", "results/v1/efficiency.csv")
ACCURACY = param("accuracy", "results/v1/efficiency-accuracy.csv")
SWEEPS = param("sweeps", "results/v1/sweeps")
PAPER_CONFIG = param("paper_config", "config/paper.yaml")
OUT = param("out", "paper/report")

# %%
import math

import pandas as pd
import yaml

from prunebench.analysis import paper_figures as figures
from prunebench.analysis import paper_tables as tables
from prunebench.analysis.comparison import task_order
from prunebench.analysis.curves import build_curves, phase_table, reference_curves
from prunebench.analysis.grid import pending_cells
from prunebench.analysis.labels import model_label, model_slug
from prunebench.analysis.plots import save_figure
from prunebench.analysis.ranking import leaderboard
from prunebench.analysis.recipes import load_sweep
from prunebench.analysis.reference import design_for, load_reported
from prunebench.analysis.results import CURVE, dense_baselines, load_results, pruning_methods
from prunebench.analysis.runtimes import accuracy_table, load_accuracy, runtime_sentences, runtime_table
from prunebench.analysis.speedup import load_efficiency
from prunebench.analysis.tables import GENERATED_TEX, latex_escape, to_latex

df = load_results(RESULTS)
curves = build_curves(df)
dense = dense_baselines(df).set_index(CURVE)
reported = load_reported()
design = design_for(results_label())
pending = pending_cells(df, design)
board = leaderboard(df, curves)
efficiency = load_efficiency(EFFICIENCY)
sweep_frames = []
for folder in sorted(p for p in SWEEPS.iterdir() if p.is_dir()) if SWEEPS.is_dir() else []:
    rows, _ = load_sweep(folder)
    sweep_frames.append(rows.assign(sweep=folder.name))
sweeps = pd.concat(sweep_frames, ignore_index=True) if sweep_frames else pd.DataFrame()
OUT.mkdir(parents=True, exist_ok=True)
source = "analysis/notebooks/paper_report.py"
header = GENERATED_TEX.format(source=source, results=results_label())
print(f"{len(df)} rows, {len(curves)} curves, {len(pending)} pending cells, {len(sweeps)} sweep rows")


# %%
def tex_figure(stem: str, caption: str, label: str) -> str:
    return "\n".join([r"\begin{figure}[tbp]", r"\centering", rf"\includegraphics[width=\linewidth]{{report/{stem}.pdf}}",
                      rf"\caption{{{latex_escape(caption)}}}", rf"\label{{{label}}}", r"\end{figure}", ""])


ROWS_PER_FIGURE = 3
keys = sorted({(c.model, c.task, c.regime) for c in curves},
              key=lambda k: (model_slug(k[0]), -max(int(c.n.max()) for c in curves if (c.model, c.task, c.regime) == k),
                             task_order(k[1]), k[2]))
reference = reference_curves(reported)
floats = []
for i in range(0, len(keys), ROWS_PER_FIGURE):
    rows = keys[i:i + ROWS_PER_FIGURE]
    stem = f"families-{i // ROWS_PER_FIGURE + 1}"
    save_figure(figures.family_grid(rows, curves, dense, reference), OUT / stem)
    caption = ("Score (the task's metric, ×100) against measured weight sparsity, one panel per task and method family, "
               "seed mean with its 95% bootstrap band over seeds (no band: one seed). Grey band: dense model, its 95% "
               "interval; dotted: chance (or its value, when below the panel); grey dashed: seed 003's reported DistilBERT "
               "curve (another model, cited). Strips: each curve's safe zone, degrading part and over-pruned part; "
               "triangle: knee.")
    floats.append(tex_figure(stem, caption if i == 0 else "(continued) " + caption.split(", one panel")[0] + ".",
                             f"fig:families-{i // ROWS_PER_FIGURE + 1}"))
(OUT / "families.tex").write_text(header + "\n".join(floats))

points = figures.pareto_points(df, efficiency)
save_figure(figures.pareto_figure(points), OUT / "pareto")
(OUT / "pareto.tex").write_text(header + tex_figure(
    "pareto", f"Retained score against measured whole-model speedup over dense at batch {figures.PARETO_BATCH} (sequence "
    "length 128), one panel per device; colour: speed path, marker: execution. Open circle: the variant's FLOP "
    "speedup, where it would sit if all of its FLOP reduction became time; the grey line joins it to what was measured. "
    "Retained score: seed mean per full-data task, then mean over the tasks named.", "fig:pareto"))

if sweeps.empty:
    (OUT / "sweeps.tex").write_text(header + "No recipe sweep has been run yet.\n")
else:
    save_figure(figures.sweep_figure(sweeps, pruning_methods(df)), OUT / "sweeps")
    (OUT / "sweeps.tex").write_text(header + tex_figure(
        "sweeps", "What tuning the recipe moved: each recipe's seed-0 validation score minus the best recipe's, per sweep "
        f"and task ({Path(results_label()).parent / 'sweeps.csv'}); star: the chosen recipe, diamond: the recipe before the sweep. Right: pruning "
        "methods whose own tuned sweep is still pending.", "fig:sweeps"))


# %%
def render(tabs) -> str:
    """Booktabs floats at their natural width (never scaled), in footnote size so that they fit the text width."""
    out = []
    for t in tabs:
        if t is None:
            continue
        sep = "2.5pt" if t.label.startswith("tab:leaderboard") else "4pt"  # the leaderboard has the most columns
        tex = to_latex(t, resize=False).replace(r"\small", rf"\footnotesize\setlength{{\tabcolsep}}{{{sep}}}", 1)
        out.append(tex.replace(r"{\small", rf"{{\footnotesize\setlength{{\tabcolsep}}{{{sep}}}", 1))
    return "\n".join(out) or "Nothing measured yet.\n"


main = tables.main_table(df)
(OUT / "main_table.tex").write_text(header + render(main))
(OUT / "leaderboard.tex").write_text(header + render(tables.leaderboard_table(board)))
phases = phase_table(curves)
(OUT / "phases.tex").write_text(header + render(tables.phase_table(phases)))
models = sorted(df["model"].unique())
(OUT / "efficiency.tex").write_text(header + render([tables.efficiency_summary(efficiency, m) for m in models]))
runtime_accuracy = load_accuracy(ACCURACY)
(OUT / "runtimes.tex").write_text(header + render([runtime_table(efficiency), accuracy_table(runtime_accuracy)]))
appendix = tables.appendix_tables(df, reported, design, pending)
(OUT / "appendix_tables.tex").write_text(header + render(appendix))
config_models = yaml.safe_load(PAPER_CONFIG.read_text()).get("models", []) if PAPER_CONFIG.is_file() else []
hub_models = [m for m in config_models if m not in set(df["model"])]
(OUT / "hub.tex").write_text(header + render([tables.hub_table(reported, hub_models)]))
print(f"{len(main)} main, {len(appendix)} appendix tables")

# %%
from prunebench.analysis.ranking import LEADERBOARD_SPARSITIES, retained_column  # noqa: E402
from prunebench.benchmarks.efficiency.variants import parse_variant  # noqa: E402
from prunebench.analysis.intervals import MIN_SEEDS  # noqa: E402
from prunebench.analysis.labels import percent  # noqa: E402
from prunebench.analysis.texnumbers import join  # noqa: E402

counts = tables.pending_counts(pending, df)
full = board[board["regime_family"] == "full"]
weights = full[(full["grid"] == "weights") & full["rank"].notna()].sort_values("rank")
last = retained_column(LEADERBOARD_SPARSITIES[-1])
NONE = "none yet"  # every key the paper quotes is always set, so a CSV without such rows prints words, never ??key
values = {key: NONE for key in ("top-method", "top-auc", "top-retained-last", "top-tasks", "best-last-method",
                                "best-last", "worst-last-method", "worst-last", "fastest-variant", "fastest-speedup",
                                "fastest-device", "fastest-retained", "best-weight-speedup", "top-range")}
values |= {
    "pending-hub": str(counts["hub"]),
    "pending-dense-only": str(counts["dense-only"]),
    "pending-grid": str(counts["grid"]),
    "hub-models": join([model_label(m) for m in hub_models]),
    "n-appendix-tables": str(len(appendix)),
}
# the headline compares complete methods on one range (comparable) by AUC, ranked or not: a rank also needs seeds
comparable = full[(full["grid"] == "weights") & full["comparable"]].sort_values("auc", ascending=False)
values["n-ranked"] = str(len(weights))
values["n-complete"] = str(len(comparable))
if len(comparable):
    top = comparable.iloc[0]
    values["top-method"] = top["method"]
    values["top-auc"] = f"{top['auc']:.3f}"
    values["top-retained-last"] = f"{100 * top[last]:.1f}\\%" if not math.isnan(top[last]) else "not measured"
    values["top-tasks"] = str(int(top["n_tasks"]))
    values["top-range"] = f"{percent(top['auc_from'])}--{percent(top['auc_to'])}\\%"
complete = full[full["complete"] & (full["grid"] == "weights")]
if len(complete) and complete[last].notna().any():
    best = complete.loc[complete[last].idxmax()]
    worst = complete.loc[complete[last].idxmin()]
    values["best-last-method"], values["best-last"] = best["method"], f"{100 * best[last]:.1f}\\%"
    values["worst-last-method"], values["worst-last"] = worst["method"], f"{100 * worst[last]:.1f}\\%"
values["last-sparsity"] = f"{100 * LEADERBOARD_SPARSITIES[-1]:g}\\%"
values["min-seeds"] = str(MIN_SEEDS)
values["pareto-batch"] = str(figures.PARETO_BATCH)
values["runtime-summary"] = runtime_sentences(efficiency, runtime_accuracy)  # analysis/runtimes.py: where sparsity pays, where precision pays more
if len(points):
    fastest = points.loc[points["speedup_vs_dense"].idxmax()]
    values["fastest-variant"] = fastest["variant"]
    values["fastest-speedup"] = f"{fastest['speedup_vs_dense']:.2f}"
    values["fastest-device"] = fastest["device"]
    values["fastest-retained"] = f"{100 * fastest['retained']:.1f}\\%"
    # weight-pruned variants only: a structured variant (heads, neurons or layers removed) is faster by shape
    weight_pruned = ~points["variant"].map(lambda v: parse_variant(v).structured)
    unstructured = points[points["path"].isin(["torch-csr", "semi-structured-2:4", "onnxruntime", "dense-kernels"])
                          & weight_pruned]
    if len(unstructured):
        values["best-weight-speedup"] = f"{unstructured['speedup_vs_dense'].max():.2f}"
raw = {k for k, v in values.items() if "\\%" in v}
text = "\n".join(f"\\pbset{{{k}}}{{{v if k in raw else latex_escape(v)}}}" for k, v in sorted(values.items()))
(OUT / "report_numbers.tex").write_text(header + text + "\n")
values

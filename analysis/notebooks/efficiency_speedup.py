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
# # Measured speedup vs theoretical FLOP reduction
#
# From `results/v1/efficiency.csv` (written by `prunebench bench-efficiency`, not by the workflow: it times
# the machine it runs on). Every pruned variant and speed path of the whole model, measured speedup over dense
# against dense FLOPs / non-zero FLOPs, with y = x for reference (`analysis/speedup.py`). Outputs:
# `paper/generated/speedup.{pdf,png}`, `paper/generated/speedup.tex` (the figure float), and
# `results/v1/tables/speedup.md` (the figure; every variant at batch 32, whole model and linears; the 2:4 kernel
# probe's rows from `results/v1/probe-semi-structured.csv` when it has run; every measured row), and
# `paper/generated/runtimes.{pdf,png}`: latency against sparsity per CPU runtime and precision, with their tables in
# speedup.md where the bench timed them (`analysis/runtimes.py`: speed, and the dev-set score of fine-tuned dense and
# pruned checkpoints through each runtime from `results/v1/efficiency-accuracy.csv`). Without the efficiency CSV,
# each output says that nothing has been measured yet.

# %% tags=["parameters"]
from prunebench.analysis.params import param

EFFICIENCY = param("efficiency", "results/v1/efficiency.csv")
PROBE = param("probe", "results/v1/probe-semi-structured.csv")
RESULTS = param("results", "results/v1/results.csv")
ACCURACY = param("accuracy", "results/v1/efficiency-accuracy.csv")
SPEEDUP_FIGURE = param("speedup_figure", "paper/generated/speedup.pdf")
SPEEDUP_MD = param("speedup_md", "results/v1/tables/speedup.md")
SPEEDUP_TEX = param("speedup_tex", "paper/generated/speedup.tex")
RUNTIMES_FIGURE = param("runtimes_figure", "paper/generated/runtimes.pdf")

# %%
import os

from prunebench.analysis.plots import save_figure
from prunebench.analysis.results import load_results
from prunebench.analysis.runtimes import accuracy_table, load_accuracy, runtime_figure, runtime_sentences, runtime_table
from prunebench.analysis.speedup import (NO_DATA, batch_summary, load_efficiency, probe_table, speedup_figure, speedup_points,
                              speedup_table)
from prunebench.analysis.tables import GENERATED_MD, GENERATED_TEX, latex_escape, to_markdown

df = load_efficiency(EFFICIENCY)
results = load_results(RESULTS) if RESULTS.is_file() else None
points = speedup_points(df)
print("no efficiency table" if df is None else f"{len(df)} rows, {len(points)} measured speedups of pruned variants")

# %%
stem = SPEEDUP_FIGURE.with_suffix("")
save_figure(speedup_figure(df), stem)
source = "analysis/notebooks/efficiency_speedup.py"
for path in (SPEEDUP_MD, SPEEDUP_TEX):
    path.parent.mkdir(parents=True, exist_ok=True)
header_md = GENERATED_MD.format(source=source, results="results/v1/efficiency.csv")
header_tex = GENERATED_TEX.format(source=source, results="results/v1/efficiency.csv")
if points.empty:
    SPEEDUP_TEX.write_text(header_tex + latex_escape(NO_DATA.replace("`", "")) + "\n")
else:
    caption = latex_escape("Measured speedup over the dense model against the theoretical speedup (dense FLOPs / non-zero "
                           "FLOPs) of each pruned variant, speed path and execution (eager, CUDA graph, compiled), one panel per "
                           "device and model, batch 32 and sequence length 128 (every batch is in the table); dashed: "
                           "y = x, dotted: no speedup. Structured pruning removes work dense kernels would do; unstructured zeros do not "
                           "pay off in dense kernels, and only partly in sparse ones.")
    SPEEDUP_TEX.write_text(header_tex + "\n".join([r"\begin{figure}[htbp]", r"\centering",
                                                   rf"\includegraphics[width=\linewidth]{{generated/{stem.name}.pdf}}",
                                                   rf"\caption{{{caption}}}", r"\label{fig:speedup}", r"\end{figure}", ""]))
table = speedup_table(df, results)
summary, kernels = batch_summary(df), probe_table(PROBE)
png = os.path.relpath(stem.with_suffix(".png"), SPEEDUP_MD.parent)
runtimes = runtime_table(df)
# the CPU runtimes and precisions, sparsity and precision on two axes; always drawn (a declared output of the
# workflow rule), saying so where the bench has not timed them
save_figure(runtime_figure(df, load_accuracy(ACCURACY)), RUNTIMES_FIGURE.with_suffix(""))
runtimes_png = os.path.relpath(RUNTIMES_FIGURE.with_suffix(".png"), SPEEDUP_MD.parent)
extra = [to_markdown(t, heading="##") for t in (summary, kernels) if t is not None]
if runtimes is not None:
    accuracy = load_accuracy(ACCURACY)
    alt = ("latency against sparsity per CPU runtime and precision; below, dev score against latency of checkpoints "
           "fine-tuned at each sparsity")
    extra = [f"![{alt}]({runtimes_png})", runtime_sentences(df, accuracy),
             to_markdown(runtimes, heading="##"), to_markdown(accuracy_table(accuracy), heading="##"), *extra]
body = NO_DATA if table is None else "\n\n".join([f"![measured vs theoretical speedup]({png})", *extra,
                                                    to_markdown(table, heading="##")])
SPEEDUP_MD.write_text(header_md + "# Measured speedup\n\n" + body + "\n")

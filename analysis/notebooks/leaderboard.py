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
# # Leaderboard
#
# One ranking of pruning methods per model, data-regime family and sparsity grid (weight pruning at 50-90%, or
# structured methods on their own grid; `analysis/ranking.py`), in which only methods run on every task over
# the whole range get a rank: score retained
# at 50/70/90% sparsity, the largest sparsity within 1 point of dense, and the normalised area under the
# retained-score curve, each averaged over the family's tasks. Methods come from the CSV: a newly added
# method appears here after `snakemake`, with no change to this notebook. Outputs:
# `results/v1/leaderboard.csv`, `LEADERBOARD.md` and `paper/tables/leaderboard.tex`; the README's
# leaderboard block is rebuilt from `LEADERBOARD.md` (`analysis/readme.py`).

# %% tags=["parameters"]
from pathlib import Path

from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
LEADERBOARD_CSV = param("leaderboard_csv", "results/v1/leaderboard.csv")
LEADERBOARD_MD = param("leaderboard_md", "LEADERBOARD.md")
LEADERBOARD_TEX = param("leaderboard_tex", "paper/tables/leaderboard.tex")

# %%
from prunebench.analysis.intervals import MIN_SEEDS
from prunebench.analysis.labels import missing_tasks_note
from prunebench.analysis.ranking import leaderboard, leaderboard_tables
from prunebench.analysis.results import load_results
from prunebench.analysis.retained import RULE as RETAINED_RULE
from prunebench.analysis.tables import latex_document, markdown_document, to_latex, to_markdown

df = load_results(RESULTS)
board = leaderboard(df)
board

# %%
for path in (LEADERBOARD_CSV, LEADERBOARD_MD, LEADERBOARD_TEX):
    path.parent.mkdir(parents=True, exist_ok=True)
board.to_csv(LEADERBOARD_CSV, index=False, float_format="%.6g", lineterminator="\n")
tables = leaderboard_tables(board)
source = "analysis/notebooks/leaderboard.py"
intro = (f"Pruning methods ranked per model, data regime and sparsity grid, from `{results_label()}`; only "
         "methods run on every task over the whole range are ranked, and only against methods covering the same "
         "weight-sparsity range (structured methods each cover their own); the others are listed. Retained = score / "
         "dense score; AUC = mean retained score over the measured sparsity range (trapezoid rule). Definitions: "
         f"`analysis/ranking.py`; per-task values: `{Path(results_label()).parent / 'tables' / 'comparison.md'}`. " + RETAINED_RULE
         + f" Every retained and AUC cell carries its 95% interval over seeds [low, high]; a method needs {MIN_SEEDS} "
         "seeds on every task to be ranked, methods whose AUC interval overlaps the leader's share rank 1 (tied), and "
         "ΔAUC compares each method with the best baseline of its family on the same seeds (`analysis/intervals.py`). "
         + missing_tasks_note(set(df["task"])))
sections = [to_markdown(t, heading="##") for t in tables] or ["No pruned runs have been measured yet.\n"]
LEADERBOARD_MD.write_text(markdown_document("PruneBench leaderboard", intro, sections, source, results_label()))
LEADERBOARD_TEX.write_text(latex_document([to_latex(t) for t in tables] or ["No pruned runs measured yet.\n"], source, results_label()))

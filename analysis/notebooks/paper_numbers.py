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
# # Numbers quoted in the paper
#
# The paper's prose never types a number: it reads `\pb{key}`, and this notebook writes every key
# (`paper/generated/numbers.tex`, `analysis/texnumbers.py`), from the same functions as the tables.

# %% tags=["parameters"]
from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
NUMBERS_TEX = param("numbers_tex", "paper/generated/numbers.tex")

# %%
from prunebench.analysis.curves import build_curves, phase_table, reference_curves
from prunebench.analysis.grid import pending_cells
from prunebench.analysis.ranking import leaderboard
from prunebench.analysis.reference import design_for, load_reported
from prunebench.analysis.results import load_results
from prunebench.analysis.tables import latex_document
from prunebench.analysis.texnumbers import macros, to_tex

df = load_results(RESULTS)
curves = build_curves(df)
values = macros(df, leaderboard(df, curves), phase_table(curves), phase_table(reference_curves(load_reported())),
                pending_cells(df, design_for(results_label())))
values

# %%
NUMBERS_TEX.parent.mkdir(parents=True, exist_ok=True)
NUMBERS_TEX.write_text(latex_document([to_tex(values)], "analysis/notebooks/paper_numbers.py", results_label()))

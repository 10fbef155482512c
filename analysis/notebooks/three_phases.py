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
# # Three-phase analysis
#
# Seed 003 claims that magnitude pruning of DistilBERT has a safe zone up to 50% sparsity, a knee at
# 55-60% and over-pruning beyond 70%. `analysis/phases.py` turns each phase boundary into a rule; here the
# rules run on every measured curve (one per model, task, regime and method) and, separately and labelled
# as such, on seed 003's own printed numbers. Outputs: `results/v1/phases.csv` (one row per curve),
# `results/v1/tables/phases.md` and `paper/tables/phases.tex`.

# %% tags=["parameters"]
from prunebench.analysis.params import knee_rule, param, results_label

RESULTS = param("results", "results/v1/results.csv")
PHASES_CSV = param("phases_csv", "results/v1/phases.csv")
PHASES_MD = param("phases_md", "results/v1/tables/phases.md")
PHASES_TEX = param("phases_tex", "paper/tables/phases.tex")

# %%
from prunebench.analysis.curves import build_curves, phase_table, reference_curves
from prunebench.analysis.phase_report import phase_tables
from prunebench.analysis.reference import load_reported
from prunebench.analysis.results import load_results
from prunebench.analysis.tables import latex_document, markdown_document, to_latex, to_markdown

df = load_results(RESULTS)
phases = phase_table(build_curves(df))
reference = phase_table(reference_curves(load_reported()))
phases

# %%
reference

# %%
for path in (PHASES_CSV, PHASES_MD, PHASES_TEX):
    path.parent.mkdir(parents=True, exist_ok=True)
phases.to_csv(PHASES_CSV, index=False, float_format="%.6g", lineterminator="\n")
tables = phase_tables(phases, reference, knee_rule())
source = "analysis/notebooks/three_phases.py"
intro = ("Safe-zone end, knee and over-pruning start of every measured curve, by the rules of "
         "`analysis/phases.py`; the last table applies the same rules to seed 003's printed numbers.")
PHASES_MD.write_text(markdown_document("Three-phase boundaries", intro, [to_markdown(t) for t in tables], source, results_label()))
PHASES_TEX.write_text(latex_document([to_latex(t) for t in tables], source, results_label()))

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
# # Comparison tables
#
# Method x sparsity tables, one per (model, task, data regime), as seed 003 presents its results: global and
# layer-wise magnitude pruning side by side, and seed 003's reported DistilBERT numbers in a column of their
# own ("seed 003 (reported)"), never mixed with ours. Cells without a measured row print "—"; the pending
# runs that would fill them are listed under each table and in `paper/generated/pending.tex`.
# Outputs: `results/v1/tables/comparison.md`, `paper/tables/comparison.tex`, `paper/generated/pending.tex`.

# %% tags=["parameters"]
from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
COMPARISON_MD = param("comparison_md", "results/v1/tables/comparison.md")
COMPARISON_TEX = param("comparison_tex", "paper/tables/comparison.tex")
PENDING_TEX = param("pending_tex", "paper/generated/pending.tex")

# %%
from prunebench.analysis.comparison import comparison_tables
from prunebench.analysis.grid import pending_cells, pending_lines
from prunebench.analysis.labels import missing_tasks_note
from prunebench.analysis.reference import design_for, load_reported
from prunebench.analysis.results import load_results
from prunebench.analysis.tables import latex_document, latex_escape, markdown_document, to_latex, to_markdown

df = load_results(RESULTS)
design = design_for(results_label())
pending = pending_cells(df, design)
tables = comparison_tables(df, load_reported(), design, pending)
lines = pending_lines(pending)
print(f"{len(tables)} tables, {len(pending)} pending cells")

# %%
for path in (COMPARISON_MD, COMPARISON_TEX, PENDING_TEX):
    path.parent.mkdir(parents=True, exist_ok=True)
source = "analysis/notebooks/comparison_tables.py"
intro = ("Score by target sparsity and method for every (model, task, data regime); seed mean ± std. Regimes are "
         "never mixed: full data, a training sample, the embedded sample, v1's QQP subset, QQP (23.5k-row training "
         "subset) and MNLI low-resource each get their own table. " + missing_tasks_note(set(df["task"])))
listed = "\n".join(f"- {line}" for line in lines) if lines else "None: every expected cell is measured."
sections = [to_markdown(t) for t in tables] + [f"## Pending runs\n\n{listed}\n"]
COMPARISON_MD.write_text(markdown_document("Comparison tables", intro, sections, source, results_label()))
COMPARISON_TEX.write_text(latex_document([to_latex(t) for t in tables], source, results_label()))
items = "\n".join(rf"\item {latex_escape(line)}" for line in lines)
PENDING_TEX.write_text(latex_document([rf"\begin{{itemize}}{items}\end{{itemize}}" if lines
                                       else "Every expected cell is measured.\n"], source, results_label()))

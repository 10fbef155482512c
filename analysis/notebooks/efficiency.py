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
# # Efficiency
#
# Non-zero parameters, FLOPs, latency, throughput, size and peak memory per method and sparsity, from the
# efficiency columns of `results/v1/results.csv` (`analysis/efficiency.py`: median over tasks and seeds, one
# table per model and device). Outputs: `results/v1/tables/efficiency.md`, `paper/tables/efficiency.tex`.

# %% tags=["parameters"]
from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
EFFICIENCY_MD = param("efficiency_md", "results/v1/tables/efficiency.md")
EFFICIENCY_TEX = param("efficiency_tex", "paper/tables/efficiency.tex")

# %%
from prunebench.analysis.efficiency import efficiency_summary, efficiency_tables
from prunebench.analysis.results import load_results
from prunebench.analysis.tables import latex_document, markdown_document, to_latex, to_markdown

df = load_results(RESULTS)
efficiency_summary(df)

# %%
tables = efficiency_tables(df)
for path in (EFFICIENCY_MD, EFFICIENCY_TEX):
    path.parent.mkdir(parents=True, exist_ok=True)
source = "analysis/notebooks/efficiency.py"
intro = "Efficiency per method and target sparsity; devices are never mixed in one table."
EFFICIENCY_MD.write_text(markdown_document("Efficiency", intro, [to_markdown(t) for t in tables], source, results_label()))
EFFICIENCY_TEX.write_text(latex_document([to_latex(t) for t in tables] or ["No runs measured yet.\n"], source, results_label()))

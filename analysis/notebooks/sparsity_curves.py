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
# # Sparsity curves
#
# Score against target sparsity for every method, one figure per (model, task, data regime), from
# `results/v1/results.csv` only. Each figure shows the seed mean with its bootstrap 95% interval, the dense
# model as a dashed line, the task's chance level as a dotted line, the compression ratio on the top axis,
# and each method's three phases in a strip below (`analysis/phases.py`). Lines join consecutive measured
# sparsities only. Output: `paper/figures/curves_<model>_<task>_<regime>.{pdf,png}`, plus `figures.tex`
# (the LaTeX figure floats the paper inputs) and `README.md` (an index for GitHub).

# %% tags=["parameters"]
from prunebench.analysis.params import param, results_label

RESULTS = param("results", "results/v1/results.csv")
FIGURES = param("figures", "paper/figures")

# %%
from prunebench.analysis.curves import build_curves
from prunebench.analysis.labels import model_slug
from prunebench.analysis.plots import method_styles, save_figure, sparsity_figure
from prunebench.analysis.results import CURVE, curve_keys, dense_baselines, describe, load_results, pruning_methods
from prunebench.analysis.tables import GENERATED_MD, GENERATED_TEX, latex_escape

df = load_results(RESULTS)
curves = build_curves(df)
dense = dense_baselines(df).set_index(CURVE)
styles = method_styles(pruning_methods(df))
FIGURES.mkdir(parents=True, exist_ok=True)
print(f"{len(df)} rows, {len(curves)} curves, {len(curve_keys(df))} (model, task, regime) groups")

# %%
floats, index = [], []
for model, task, regime in curve_keys(df):
    mine = [c for c in curves if (c.model, c.task, c.regime) == (model, task, regime)]
    if not mine:
        continue  # a dense row with no pruned row yet: nothing to draw
    d = describe(df, model, task, regime)
    base = dense.loc[(model, task, regime)]
    title = f"{d['model']} · {d['task']} ({d['regime']})"
    fig = sparsity_figure(mine, float(base["mean"]), int(base["n"]), title, f"score ({d['metric']}, ×100)", styles)
    stem = f"curves_{model_slug(model)}_{task}_{regime}"
    save_figure(fig, FIGURES / stem)
    caption = latex_escape(f"{title}: score against measured weight sparsity, seed mean with bootstrap 95% interval; dashed: "
                           "dense; dotted: chance level; strips: each method's phases (safe zone, degrading, "
                           "over-pruned; triangle: knee).")
    floats.append("\n".join([r"\begin{figure}[htbp]", r"\centering",
                             rf"\includegraphics[width=\linewidth]{{figures/{stem}.pdf}}",
                             rf"\caption{{{caption}}}", rf"\label{{fig:{stem}}}", r"\end{figure}", ""]))
    index.append(f"- [{title}]({stem}.png) ([PDF]({stem}.pdf))")
    print(stem)

# %%
source = "analysis/notebooks/sparsity_curves.py"
(FIGURES / "figures.tex").write_text(GENERATED_TEX.format(source=source, results=results_label())
                                     + ("\n".join(floats) if floats else "No pruned runs have been measured yet.\n"))
(FIGURES / "README.md").write_text(GENERATED_MD.format(source=source, results=results_label()) + "# Sparsity curves\n\n"
                                   + ("\n".join(index) if index else "No pruned runs have been measured yet.") + "\n")

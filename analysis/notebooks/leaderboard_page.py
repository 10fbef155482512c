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
# # The leaderboard page
#
# One static HTML file (`results/v1/leaderboard.html`) that works from `file://` and GitHub Pages with no network:
# the leaderboard per model, regime and grid, two interactive charts (retained score against sparsity, retained
# score against measured speedup) filtered by task, method family and device, and every method's cells, seeds,
# recipe and sweep, linked to the row files and configs. Built with Altair; the chart library is inlined
# (`analysis/site.py` says why and how).

# %% tags=["parameters"]
from prunebench.analysis.params import param

RESULTS = param("results", "results/v1/results.csv")
EFFICIENCY = param("efficiency", "results/v1/efficiency.csv")
RUNS = param("runs", "results/v1/runs")
SWEEPS = param("sweeps", "results/v1/sweeps")
PAGE = param("page", "results/v1/leaderboard.html")

# %%
import os

from prunebench.analysis.ranking import leaderboard
from prunebench.analysis.results import load_results
from prunebench.analysis.site import page, recipes, row_files
from prunebench.analysis.speedup import load_efficiency

df = load_results(RESULTS)
board = leaderboard(df)
index = row_files(RUNS, PAGE.parent) if RUNS.is_dir() else {}
swept = {p.parent.name for p in SWEEPS.glob("*/*/*/*/*/*.csv")} if SWEEPS.is_dir() else set()
method_recipes = recipes(index, df, PAGE.parent)
print(f"{len(df)} rows, {len(board)} leaderboard lines, {len(index)} row files, swept: {sorted(swept)}")

# %%
root = PAGE.parent


def rel(path: str) -> str:
    return os.path.relpath(path, root)


links = {"results.csv": rel(RESULTS), "leaderboard.csv": rel(RESULTS.parent / "leaderboard.csv"),
         "efficiency.csv": rel(EFFICIENCY), "row files": rel(RUNS), "configs": rel(RESULTS.parents[2] / "config"),
         "paper (PDF)": rel(RESULTS.parents[2] / "paper" / "main.pdf")}
PAGE.parent.mkdir(parents=True, exist_ok=True)
PAGE.write_text(page(df, board, load_efficiency(EFFICIENCY), index, method_recipes, swept, links))
print(f"{PAGE}: {PAGE.stat().st_size:,} bytes")

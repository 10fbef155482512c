"""PruneBench analysis: everything a reader sees, computed from ``results/v1/results.csv``.

The library is split by job so that each table or figure is one tested function:

- ``results``: load and validate the merged CSV, label each row's data regime, aggregate seeds;
- ``regimes``: what counts as one experiment regime (full data, a sample, the embedded sample, the QQP subset);
- ``labels``: display names and file-safe names for models, tasks and regimes;
- ``chance``: the score of a collapsed (constant) predictor per task, used by the phase rules;
- ``curves``: one method's seed-mean score against sparsity, the unit figures, phases and ranking share;
- ``phases``: the three-phase boundaries (safe zone, knee, over-pruning) of one curve;
- ``reference``: the cited seed-003 numbers and grid, kept apart from our measurements;
- ``grid``: which runs a table expects and which of them are still pending;
- ``comparison``, ``phase_report``, ``efficiency``: the method x sparsity, phase and efficiency tables;
- ``ranking``: the leaderboard;
- ``tables``: markdown and LaTeX (booktabs) rendering;
- ``plots``: the sparsity-curve figures;
- ``families``: a method's family (magnitude, prune-at-start, learned masks, combined, structured), from the registry;
- ``paper_figures``, ``paper_tables``: the paper's small multiples, Pareto and sweep figures, and its tables;
- ``site``: the static leaderboard page (``results/v1/leaderboard.html``);
- ``texnumbers``: the LaTeX macros through which the paper quotes numbers;
- ``readme``: the generated leaderboard block in README.md;
- ``params``: how a notebook receives its input and output paths;
- ``run``: executes the jupytext notebooks in ``analysis/notebooks/`` headless (what the workflow calls).

Nothing here holds a measured number: method names, tasks, models and regimes all come from the CSV.
"""

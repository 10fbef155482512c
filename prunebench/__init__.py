"""PruneBench: a reproducible benchmark of pruning methods for transformer encoders on GLUE.

Everything importable lives under this one name, so that installing PruneBench never adds generic
top-level packages (``benchmarks``, ``methods``, ``analysis``) that would shadow, or be shadowed by, a
user's own folders of the same name:

- ``prunebench.benchmarks``: the harness (tasks, data, models, training loop, efficiency, records, CLI);
- ``prunebench.methods``: the pruning methods and their registry (the plugin API);
- ``prunebench.analysis``: the tables, figures, phases and leaderboard the notebooks share.

In the repository the three subpackages stay where the design card puts them (top-level folders);
``prunebench/`` holds relative symbolic links to them, so a source checkout, an editable install and a
built wheel (setuptools copies the linked files) all import the same code under the same names.
"""

"""Notebook parameters: paths given through the environment, so one notebook runs on any CSV.

``analysis/run.py notebook NAME --param results=x.csv`` sets ``PRUNEBENCH_NB_RESULTS=x.csv`` before it starts
the kernel; a notebook's parameters cell reads it with ``param("results", default)``. Opened by hand in
Jupyter, a notebook falls back to the repository's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "PRUNEBENCH_NB_"


def env_name(name: str) -> str:
    return PREFIX + name.upper()


def param(name: str, default: str) -> Path:
    return Path(os.environ.get(env_name(name), default))


PUBLISHED_RESULTS = "results/v1/results.csv"


def results_label() -> str:
    """How generated files name the results CSV they came from: the workflow passes ``results_label`` (its
    version's ``results/<version>/results.csv``); by hand, the published one. A label, not the path the notebook
    read, so that the same CSV gives the same bytes wherever it lies (tests/test_analysis_outputs.py)."""
    label = param("results_label", PUBLISHED_RESULTS)
    return os.path.relpath(label, Path.cwd()) if label.is_absolute() else str(label)

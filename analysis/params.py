"""Notebook parameters: paths given through the environment, so one notebook runs on any CSV.

``analysis/run.py notebook NAME --param results=x.csv`` sets ``PRUNEBENCH_NB_RESULTS=x.csv`` before it starts
the kernel; a notebook's parameters cell reads it with ``param("results", default)``. Opened by hand in
Jupyter, a notebook falls back to the repository's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "PRUNEBENCH_NB_"
TEXT_PARAMS = {"progress", "knee"}  # passed as given; every other parameter is a path, resolved against the notebook's folder


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


def progress_note() -> str:
    """A sentence for a report built mid-campaign (the workflow's ``partial=True`` passes ``progress``: how many
    rows of the grid exist), printed under every generated markdown file's title so that no table of a campaign in
    progress is read as its result; empty for a complete campaign."""
    return os.environ.get(env_name("progress"), "").strip()


def knee_rule() -> str:
    """The phase detector's knee rule (``phases.KNEE_RULES``): the workflow passes ``knee`` from the config's
    ``knee_rule`` (v2: ``kneedle-past-safe-zone``); by hand, and for the published v1 report, ``kneedle``."""
    return os.environ.get(env_name("knee"), "").strip() or "kneedle"

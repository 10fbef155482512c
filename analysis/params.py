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

"""The closing figures of the reliability suite (issue 8), counted by the tests that produce them.

`pytest -m reliability` (and plain `pytest`) prints them at the end, so the numbers in a report are the
numbers of a run, not estimates: malformed inputs tried, kills survived, rows checked, rows lost.
"""

from __future__ import annotations

from collections import Counter

FIGURES: Counter = Counter()
LABELS = {
    "inputs": "malformed inputs tried (all exit 2, one line, nothing written)",
    "kills": "kills survived",
    "rows": "rows checked",
    "lost": "rows lost or duplicated",
}


def count(name: str, n: int = 1) -> None:
    if name not in LABELS:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(LABELS)}")
    FIGURES[name] += n


def summary() -> str:
    return "; ".join(f"{FIGURES[name]} {label}" for name, label in LABELS.items())

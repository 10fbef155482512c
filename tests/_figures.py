"""The closing figures of the reliability suite (issue 8), counted by the tests that produce them.

`pytest -m reliability` (and plain `pytest`) prints them at the end, so the numbers in a report are the
numbers of a run, not estimates: malformed inputs tried, kills survived, rows checked, and rows lost or
duplicated after kills and races (tallied before the test asserts, so a failing test shows in them).
"""

from __future__ import annotations

from collections import Counter

FIGURES: Counter = Counter()
LABELS = {
    "inputs": "malformed inputs tried (all exit 2, one line, nothing written)",
    "kills": "kills survived",
    "rows": "rows checked",
}


def count(name: str, n: int = 1) -> None:
    if name not in LABELS:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(LABELS)}")
    FIGURES[name] += n


def tally(expected: int, run_ids: list[str]) -> None:
    """Rows that should exist after a kill or race, against the run_ids found."""
    FIGURES["expected"] += expected
    FIGURES["lost"] += max(0, expected - len(set(run_ids)))
    FIGURES["duplicated"] += len(run_ids) - len(set(run_ids))


def summary() -> str:
    parts = [f"{FIGURES[name]} {label}" for name, label in LABELS.items()]
    parts.append(f"{FIGURES['lost']} rows lost and {FIGURES['duplicated']} duplicated "
                 f"of {FIGURES['expected']} expected after kills and races")
    return "; ".join(parts)

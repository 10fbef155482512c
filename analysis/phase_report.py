"""The three-phase table: each curve's safe-zone end, knee and over-pruning start (``phases``).

One table per model for our curves, and one for seed 003's reported curves under the same rules, labelled
as such: running our detector on their printed numbers is how seed 003's claim ("safe zone up to 50%, knee
at 55-60%, over-pruning beyond 70%") is checked, without ever mixing their numbers into ours.
"""

from __future__ import annotations

import pandas as pd

from .comparison import task_order
from .labels import model_label, model_slug, task_label
from .phases import FLAT_TOLERANCE, MARGIN, MIN_BULGE, TOLERANCE
from .reference import REFERENCE_LABEL
from .regimes import from_key
from .tables import MISSING, Table, number, sparsity_text

HEADERS = ["Task", "Regime", "Method", "Points", "Dense", "Chance", "Safe zone ends", "Knee", "Over-pruning starts"]


def rules_note(knee_rule: str = "kneedle") -> str:
    past = (" at or past the safe-zone end and before any collapse to chance" if knee_rule == "kneedle-past-safe-zone"
            else "")
    return (f"Safe zone: every point up to it within {TOLERANCE:g} point of dense. Knee: Kneedle, the point{past} "
            f"furthest above the chord (at least {MIN_BULGE:g} of the unit square). Over-pruning: within {MARGIN:g} points of "
            f"chance (rule 'chance'), or a floor after the knee varying by at most {FLAT_TOLERANCE:g} point (rule "
            f"'floor'). {MISSING} = the curve does not reach that phase within its measured range.")


def _row(r) -> list[str]:
    regime = from_key(r.regime)
    over = sparsity_text(r.over_start)
    return [task_label(r.task, regime.variant), regime.label, r.method, str(r.points), number(r.dense),
            number(r.chance), sparsity_text(r.safe_end), sparsity_text(r.knee),
            over + (f" ({r.over_rule})" if r.over_rule else "")]


def _sorted(phases: pd.DataFrame) -> pd.DataFrame:
    order = [task_order(t) for t in phases["task"]]
    return phases.assign(_t=order).sort_values(["_t", "regime", "method"]).drop(columns="_t")


def phase_tables(phases: pd.DataFrame, reference: pd.DataFrame, knee_rule: str = "kneedle") -> list[Table]:
    """Our tables (one per model) followed by the seed-003 table (if there are reference curves); `knee_rule` is
    the one the phases were detected with (``phases.KNEE_RULES``), named in each table's note."""
    tables = []
    for model, g in phases.groupby("model", sort=True):
        rows = [_row(r) for r in _sorted(g).itertuples(index=False)]
        caption = (f"Three-phase boundaries of {model_label(model)}. One row per (task, regime, method) curve of seed "
                   f"means; sparsities are measured points, never interpolated.")
        tables.append(Table(HEADERS, rows, caption, f"tab:phases-{model_slug(model)}", [rules_note(knee_rule)]))
    if len(reference):
        rows = [_row(r) for r in _sorted(reference).itertuples(index=False)]
        caption = (f"Three-phase boundaries of {REFERENCE_LABEL} curves. Seed 003's printed DistilBERT accuracies "
                   f"(analysis/reference/seed003.csv) under the same rules; chance is accuracy's.")
        tables.append(Table(HEADERS, rows, caption, "tab:phases-seed003",
                            [rules_note(knee_rule), "Cited numbers, not our measurements."]))
    return tables

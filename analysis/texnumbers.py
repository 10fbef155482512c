"""Numbers and generated sentences that the paper's prose quotes, as LaTeX key-value macros.

``paper/main.tex`` defines ``\\pbset{key}{value}`` and ``\\pb{key}``; this module writes the ``\\pbset``
lines (``paper/generated/numbers.tex``). The prose then reads "we report \\pb{n-rows} runs", so no number is
ever typed into the paper. Keys are lowercase-hyphenated; values are LaTeX-escaped text. Sentences that
depend on what the CSV holds (who leads the leaderboard, what the phase detector found on seed 003's own
numbers) are generated here too, from the same functions as the tables.
"""

from __future__ import annotations

import math

import pandas as pd

from .labels import model_label, percent, task_label
from .phases import FLAT_TOLERANCE, MARGIN, MIN_BULGE, TOLERANCE
from .ranking import LEADERBOARD_SPARSITIES, retained_column
from .intervals import MIN_SEEDS
from .retained import left_out_note
from .reference import REFERENCE_LABEL
from .regimes import family_label
from .results import BOOTSTRAP_RESAMPLES, CONFIDENCE, DENSE
from .tables import latex_escape


def join(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"; "none" for nothing."""
    items = list(items)
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def pct(s: float) -> str:
    return f"{percent(s)}%"


def leaderboard_sentences(board: pd.DataFrame) -> str:
    """Who ranks first in each (model, regime family, grid), with its retained scores; where no method is
    complete yet, say so instead of naming the best of an uneven comparison."""
    if board.empty:
        return "No pruned runs have been measured yet, so there is no leaderboard."
    out = []
    for (model, fam, grid), g in board.groupby(["model", "regime_family", "grid"], sort=False):
        what = "structured methods" if grid == "structured" else "weight-pruning methods"
        ranked = g[g["rank"].notna()]
        complete = g[g["complete"]]
        few_seeds = complete[complete["comparable"] & (complete["seeds"] < MIN_SEEDS)] if "seeds" in complete else complete.iloc[0:0]
        if ranked.empty and len(few_seeds):
            fewest = int(few_seeds["seeds"].min())
            out.append(f"On {model_label(model)} ({family_label(fam)}), {len(few_seeds)} of the {len(complete)} complete {what} "
                       f"have as few as {fewest} seed{'s' if fewest != 1 else ''} on a task, fewer than the {MIN_SEEDS} a rank "
                       f"needs, so none is ranked yet.")
            continue
        if ranked.empty and len(complete) > 1:
            out.append(f"On {model_label(model)} ({family_label(fam)}), the {len(complete)} complete {what} cover different "
                       f"weight-sparsity ranges, so none is ranked against the others.")
            continue
        if ranked.empty:
            out.append(f"On {model_label(model)} ({family_label(fam)}), none of the {len(g)} {what} measured has been run "
                       f"on every task over the whole sparsity range yet, so none is ranked.")
            continue
        top = ranked.sort_values("rank").iloc[0]
        measured = [(s, top[retained_column(s)]) for s in LEADERBOARD_SPARSITIES
                    if not math.isnan(top[retained_column(s)])]
        kept = join([f"{100 * v:.1f}%" for _, v in measured])
        levels = join([pct(s) for s, _ in measured])
        n = int(top["n_tasks"])
        leaders = ranked[ranked["rank"] == ranked["rank"].min()]
        of = f"of {len(ranked)} complete {what if len(ranked) != 1 else what.removesuffix('s')}"
        where = f"On {model_label(model)} ({family_label(fam)}, {n} task{'s' if n != 1 else ''})"
        keeps = f"; it keeps {kept} of the dense score at {levels} sparsity" if measured else ""
        if len(leaders) == 1:
            out.append(f"{where}, {top['method']} ranks first {of} with a normalised AUC of {top['auc']:.3f}{keeps}.")
        else:
            out.append(f"{where}, {join(sorted(leaders['method']))} tie for first {of} (their AUC intervals overlap); "
                       f"{top['method']} has the highest normalised AUC, {top['auc']:.3f}{keeps}.")
    for (model, fam), groups in sorted(board.attrs.get("left_out", {}).items()):  # analysis/retained.py
        out.append(f"On {model_label(model)} ({family_label(fam)}): {left_out_note(groups)}")
    return " ".join(out)


def phase_sentences(phases: pd.DataFrame, what: str) -> str:
    """How many curves reach each phase, and where (median over the curves that reach it)."""
    if phases.empty:
        return f"There are no {what} curves yet."
    n = len(phases)
    parts = []
    for col, name in (("safe_end", "a safe zone"), ("knee", "a knee"), ("over_start", "an over-pruning phase")):
        hit = phases[col].dropna()
        if len(hit) and hit.min() == hit.max():
            parts.append(f"{len(hit)} of {n} reach {name}, all at {pct(float(hit.min()))}")
        elif len(hit):
            parts.append(f"{len(hit)} of {n} reach {name} (median {pct(float(hit.median()))}, range "
                         f"{pct(float(hit.min()))}--{pct(float(hit.max()))})")
        else:
            parts.append(f"none of {n} reaches {name}")
    at_chance = int((phases["over_rule"] == "dense at chance").sum())
    if at_chance:
        parts.append(f"{at_chance} start from a dense model within the margin of chance, where over-pruning is undefined")
    return f"Of the {n} {what} curve{'s' if n != 1 else ''}: " + "; ".join(parts) + "."


def reference_sentences(reference: pd.DataFrame) -> str:
    """What our rules find on seed 003's reported curves, task by task."""
    if reference.empty:
        return ""
    out = []
    for r in reference.sort_values("task").itertuples(index=False):
        def show(v: float) -> str:
            return "not reached" if math.isnan(v) else pct(v)
        over = show(r.over_start) + (f" ({r.over_rule} rule)" if r.over_rule in ("chance", "floor") else
                                     f" ({r.over_rule})" if r.over_rule else "")
        out.append(f"{task_label(r.task)}: safe zone ends {show(r.safe_end)}, knee {show(r.knee)}, "
                   f"over-pruning starts {over}")
    return f"On the {REFERENCE_LABEL} layer-wise curves our rules give: " + "; ".join(out) + "."


def macros(df: pd.DataFrame, board: pd.DataFrame, phases: pd.DataFrame, reference: pd.DataFrame,
           pending: pd.DataFrame) -> dict[str, str]:
    """Every key the paper may quote, as plain text (escaped when written)."""
    pruned = df[df["method"] != DENSE]
    methods = sorted(pruned["method"].unique())
    kinds = board.drop_duplicates("method").set_index("method")["kind"].to_dict() if len(board) else {}
    values = {
        "results-date": max(df["created_at"])[:10] if len(df) else "no runs yet",
        "n-rows": str(len(df)),
        "n-pruned-rows": str(len(pruned)),
        "n-models": str(df["model"].nunique()),
        "models": join(sorted({model_label(m) for m in df["model"]})),
        "n-tasks": str(df["task"].nunique()),
        "tasks": join(sorted({task_label(t, q) for t, q in zip(df["task"], df["qqp_subset"])})),
        "n-methods": str(len(methods)),
        "methods": join(methods),
        "methods-kinds": join([f"{m} ({kinds[m]})" if kinds.get(m) else m for m in methods]),
        "seeds": join([str(s) for s in sorted(df["seed"].unique())]),
        "n-seeds": str(df["seed"].nunique()),
        "regimes": join(sorted({family_label(f) for f in df["regime_family"]})),
        "devices": join(sorted(set(df["device"]))),
        "n-curves": str(len(phases)),
        "n-pending": str(len(pending)),
        "bootstrap-resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "confidence": f"{100 * CONFIDENCE:g}\\%",
        "tolerance": f"{TOLERANCE:g}",
        "margin": f"{MARGIN:g}",
        "min-bulge": f"{MIN_BULGE:g}",
        "flat-tolerance": f"{FLAT_TOLERANCE:g}",
        "leaderboard-sparsities": join([pct(s) for s in LEADERBOARD_SPARSITIES]),
        "leaderboard-summary": leaderboard_sentences(board),
        "phase-summary": phase_sentences(phases, "measured"),
        "seed003-check": reference_sentences(reference),
    }
    return values


def to_tex(values: dict[str, str]) -> str:
    """``\\pbset`` lines, sorted by key. Values are escaped except where a key's text is already LaTeX."""
    raw = {"confidence"}
    lines = []
    for key in sorted(values):
        text = values[key] if key in raw else latex_escape(values[key])
        lines.append(f"\\pbset{{{key}}}{{{text}}}")
    return "\n".join(lines) + "\n"

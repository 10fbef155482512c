"""Cited numbers (``analysis/reference/``), kept apart from our measurements: seed 003's reported accuracies and
grid, and the published GLUE dev scores of models of MiniLM-L6's size.

The files are read and checked here. The numbers appear in tables only in a column labelled
``REFERENCE_LABEL``; the grid tells ``grid`` which of our runs would reproduce seed 003. Seed 003 trained
on full GLUE data, so its numbers belong to our ``full`` regime only (never to the QQP subset).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
REFERENCE_LABEL = "seed 003 (reported)"
REFERENCE_REGIME = "full"


def load_reported(path: str | Path = REFERENCE_DIR / "seed003.csv") -> pd.DataFrame:
    """Seed 003's transcribed accuracies: model, task, strategy, method, sparsity, accuracy, source."""
    df = pd.read_csv(path)
    expected = ["model", "task", "strategy", "method", "sparsity", "accuracy", "source"]
    if list(df.columns) != expected:
        raise ValueError(f"{path}: columns {list(df.columns)}, expected {expected}")
    if df.duplicated(["model", "task", "method", "sparsity"]).any():
        raise ValueError(f"{path}: a (model, task, method, sparsity) appears twice")
    df["sparsity"] = df["sparsity"].round(6)
    return df


def load_design(path: str | Path = REFERENCE_DIR / "seed003_design.csv") -> pd.DataFrame:
    """Seed 003's grid, one row per (model, task, method, sparsity)."""
    df = pd.read_csv(path, dtype=str)
    rows = [
        {"model": r.model, "task": r.task, "method": r.method, "target_sparsity": round(float(s), 6), "source": r.source}
        for r in df.itertuples(index=False)
        for s in r.sparsities.split()
    ]
    return pd.DataFrame(rows, columns=["model", "task", "method", "target_sparsity", "source"])


def design_for(results: str) -> pd.DataFrame | None:
    """Seed 003's grid where `results` (a ``params.results_label``) is the published version, which reproduces that
    study; None for a later version, whose own config is its whole grid (the DistilBERT cells of seed 003 are not
    pending there)."""
    from .params import PUBLISHED_RESULTS

    return load_design() if results == PUBLISHED_RESULTS else None


def reported_curve(reported: pd.DataFrame, model: str, task: str) -> pd.DataFrame:
    """Reported rows of one (model, task); empty when seed 003 did not run it."""
    return reported[(reported["model"] == model) & (reported["task"] == task)]


PUBLISHED_DEV = REFERENCE_DIR / "published-dev.csv"
# published-dev.csv's model aliases -> the column heading a table gives them
PUBLISHED_MODELS = {"minilm-l6-h384": "MiniLM 6x384, published (Wang et al. 2020)",
                    "distilbert": "DistilBERT, published (Sanh et al. 2019)"}


def load_published(path: str | Path = PUBLISHED_DEV) -> pd.DataFrame:
    """Published GLUE dev scores (x100): model, params_m, task, score, paper, transcribed_from; the README of
    ``analysis/reference/`` says where each was read. ValueError names a missing column."""
    published = pd.read_csv(path)
    missing = [c for c in ("model", "task", "score") if c not in published.columns]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (needs model, task, score; see analysis/reference/README.md)")
    return published


def published_score(published: pd.DataFrame, model: str, task: str, regime: str) -> str:
    """The published score of `model` on `task` as a table prints it, or why there is none: only our full-data
    regime trains on what the papers trained on (QQP's 23.5k-row subset and MNLI low-resource never compare)."""
    if regime != REFERENCE_REGIME:
        return "not comparable (regime)"
    hit = published[(published["model"] == model) & (published["task"] == task)]
    return f"{hit['score'].iloc[0]:.1f}" if len(hit) else "not in the card's table"

"""Recipe sweeps: which training recipe each task (or pruning run) gets, chosen on the validation split.

A sweep config (``sweep:`` key, see `benchmarks.grid`) writes one row per recipe under
``results/v1/sweeps/<tag>/<recipe>/``, each with its sidecar JSON holding the full training config. The
choice is the best validation score of seed 0, as the GLUE literature chooses (there is no test split
offline). Ties go to the cheaper recipe (fewer epochs, then the smaller learning rate), so the choice is
unique and reproducible from the committed rows alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from prunebench.benchmarks.records import read_rows

GROUP = ["model", "task", "method", "target_sparsity"]


def load_sweep(folder: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Rows of a sweep folder with the swept training fields as columns; returns (rows, swept fields)."""
    folder = Path(folder)
    records = []
    for path in sorted(folder.glob("*/**/*.csv")):
        if path.name.startswith("."):
            continue
        sidecar = json.loads(path.with_suffix(".json").read_text())
        recipe = path.relative_to(folder).parts[0]
        for row in read_rows(path):
            records.append({**row, "recipe": recipe, **{f"train.{k}": v for k, v in sidecar["config"]["train"].items()}})
    if not records:
        raise FileNotFoundError(f"{folder}: no sweep rows")
    df = pd.DataFrame(records)
    train_cols = [c for c in df.columns if c.startswith("train.")]
    swept = [c for c in train_cols if df[c].astype(str).nunique() > 1]
    df["score"] = df["score"].astype(float)
    df["target_sparsity"] = df["target_sparsity"].astype(float)
    return df, [c.removeprefix("train.") for c in swept]


def choose(df: pd.DataFrame, swept: list[str]) -> pd.DataFrame:
    """The chosen recipe of every (model, task, method, sparsity): best seed-0 score, ties to the cheaper one."""
    seed0 = df[df["seed"].astype(int) == 0]
    cheap = [f"train.{f}" for f in sorted(swept, key=lambda f: (not f.endswith("epochs"), f))]
    ordered = seed0.sort_values(["score", *cheap], ascending=[False] + [True] * len(cheap), kind="stable")
    best = ordered.groupby(GROUP, sort=True).head(1).copy()
    # a group whose recipes all score the same (the dense rows of a recovery sweep) chose nothing
    spread = seed0.groupby(GROUP)["score"].nunique()
    best["decides"] = [spread[tuple(k)] > 1 for k in best[GROUP].itertuples(index=False)]
    return best[[*GROUP, "recipe", *[f"train.{f}" for f in swept], "score", "decides"]].reset_index(drop=True)


def markdown(df: pd.DataFrame, chosen: pd.DataFrame) -> str:
    """Every recipe's seed-0 score per task, the chosen one in bold."""
    decided = chosen[chosen["decides"]]
    picked = set(zip(decided["task"], decided["method"], decided["target_sparsity"], decided["recipe"]))
    cols = sorted(df["recipe"].unique())
    lines = ["| task | method | sparsity | " + " | ".join(cols) + " |", "|---|---|---|" + "---|" * len(cols)]
    for (task, method, s), group in df[df["seed"].astype(int) == 0].groupby(["task", "method", "target_sparsity"]):
        cells = []
        for recipe in cols:
            hit = group[group["recipe"] == recipe]
            if hit.empty:
                cells.append("not run")
                continue
            text = f"{hit['score'].iloc[0]:.2f}"
            cells.append(f"**{text}**" if (task, method, s, recipe) in picked else text)
        lines.append(f"| {task} | {method} | {s:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

"""Recipe sweeps: which training recipe each task (or pruning run) gets, chosen on the validation split.

A sweep config (``sweep:`` key, see `benchmarks.grid`) writes one row per recipe under
``results/v1/sweeps/<tag>/<recipe>/``, each with its sidecar JSON holding the full training config. The
choice is the best validation score of seed 0, as the GLUE literature chooses (there is no test split
offline). Ties go to the cheaper recipe (fewer epochs, then the smaller learning rate), so the choice is
unique and reproducible from the committed rows alone.

A per-method sweep (a method's own ``sweep`` list of parameter settings) is chosen once per method, for every
task of the grid: the setting with the best mean seed-0 score over the sweep's tasks, among the settings measured
on all of them (ties to the smaller setting label). ``config_mismatches`` is what ``select_recipe.py --check``
reports: a grid config whose recipes or method parameters differ from the committed sweeps' choice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from prunebench.benchmarks.records import read_rows

GROUP = ["model", "task", "method", "target_sparsity"]
PARAM_GROUP = ["model", "method", "target_sparsity"]  # a method's parameters are chosen once for all its tasks
PARAM_PREFIX = "param."


def _method_params(text: str) -> dict:
    """A row's method parameters, without the facts the method reported (``_info``)."""
    value = json.loads(text) if text else {}
    return {k: v for k, v in value.items() if k != "_info"}


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
            params = {f"{PARAM_PREFIX}{k}": v for k, v in _method_params(row.get("method_params", "")).items()}
            records.append({**row, "recipe": recipe, **{f"train.{k}": v for k, v in sidecar["config"]["train"].items()},
                            **params})
    if not records:
        raise FileNotFoundError(f"{folder}: no sweep rows")
    df = pd.DataFrame(records)
    df["score"] = df["score"].astype(float)
    df["target_sparsity"] = df["target_sparsity"].astype(float)
    # a field is swept where it differs between the rows of one (model, task, method, sparsity): tasks with recipes
    # of their own (a method sweep runs each task at its dense recipe) do not make a field swept
    train_cols = [c for c in df.columns if c.startswith("train.")]
    varies = df.groupby(GROUP)[train_cols].agg(lambda v: v.astype(str).nunique() > 1).any()
    swept = [c for c in train_cols if varies[c]]
    return df, [c.removeprefix("train.") for c in swept]


def swept_params(df: pd.DataFrame) -> dict[str, list[str]]:
    """method -> the parameters its rows of one (model, task, sparsity) differ in: the per-method sweeps."""
    out = {}
    columns = [c for c in df.columns if c.startswith(PARAM_PREFIX)]
    for method, rows in df.groupby("method", sort=True):
        keys = [c.removeprefix(PARAM_PREFIX) for c in columns
                if rows.groupby(["model", "task", "target_sparsity"])[c].agg(lambda v: v.astype(str).nunique() > 1).any()]
        if keys:
            out[method] = keys
    return out


def choose_params(df: pd.DataFrame, swept: dict[str, list[str]]) -> pd.DataFrame:
    """The chosen setting of every per-method sweep: per (model, method, sparsity), the best mean seed-0 score over
    the sweep's tasks among the settings measured on all of them; ties to the smaller setting label.

    Columns: the group, ``recipe`` (the setting's label), ``params`` (dict of the swept values), ``score`` (its mean
    over ``tasks``), ``settings`` (how many were measured), ``decides`` (False when every setting scored the same).
    """
    seed0 = df[df["seed"].astype(int) == 0]
    rows = []
    for (model, method, sparsity), g in seed0[seed0["method"].isin(swept)].groupby(PARAM_GROUP, sort=True):
        table = g.pivot_table(index="recipe", columns="task", values="score", aggfunc="first")
        means = table.dropna().mean(axis=1)  # a setting missing on a task cannot be compared on the mean
        if means.empty:
            continue
        best = min(means.index, key=lambda r: (-means[r], r))
        values = _method_params(g[g["recipe"] == best]["method_params"].iloc[0])  # as the row wrote them (types kept)
        rows.append({"model": model, "method": method, "target_sparsity": sparsity, "recipe": best,
                     "params": {k: values[k] for k in swept[method]}, "score": float(means[best]),
                     "tasks": " ".join(sorted(table.columns)), "settings": len(table),
                     "decides": bool(means.nunique() > 1)})
    return pd.DataFrame(rows, columns=[*PARAM_GROUP, "recipe", "params", "score", "tasks", "settings", "decides"])


def collapsed_tasks(df: pd.DataFrame, method: str, margin: float | None = None) -> list[str]:
    """Tasks on which every seed-0 setting of `method` scored at chance (within `margin` points, default the phase
    rules' ``phases.MARGIN``): a method that fails under its whole sweep is reported so, with the sweep as evidence."""
    from .chance import chance_score
    from .phases import MARGIN

    margin = MARGIN if margin is None else margin
    rows = df[(df["method"] == method) & (df["seed"].astype(int) == 0)]
    out = []
    for task, g in rows.groupby("task", sort=True):
        chance = chance_score(task)
        if not math.isnan(chance) and (g["score"] <= chance + margin).all():
            out.append(task)
    return out


def _same(config_value, chosen) -> bool:
    """Config and sweep values agree: numbers by value (YAML 1e-2 and JSON 0.01), the rest by their text."""
    numbers = (int, float)
    if isinstance(config_value, numbers) and isinstance(chosen, numbers) and not isinstance(config_value, bool):
        return float(config_value) == float(chosen)
    return str(config_value).lower() == str(chosen).lower()


def config_mismatches(config: dict, chosen: pd.DataFrame, swept: list[str], chosen_params: pd.DataFrame) -> list[str]:
    """Where a grid config differs from the sweeps' choice (one line each; empty = in agreement).

    Training sweeps: each swept task's recipe (``task_train`` over ``train``). Per-method sweeps: every swept
    parameter of a method the config runs, written out under ``methods.<name>.params`` (a default left implicit
    counts as a difference, so the config says what was chosen)."""
    from prunebench.benchmarks.grid import task_recipe

    wrong = []
    for row in chosen.to_dict("records"):
        if row["task"] not in config["tasks"] or not row["decides"]:
            continue
        recipe = task_recipe(config, row["task"])
        for field in swept:
            if field not in recipe or float(recipe[field]) != float(row[f"train.{field}"]):
                wrong.append(f"{row['task']}: {field}={recipe.get(field)!r}, the sweep chose {row[f'train.{field}']}")
    for row in chosen_params.to_dict("records"):
        spec = config["methods"].get(row["method"])
        if spec is None or not row["decides"]:
            continue
        params = spec.get("params", {})
        for key, value in row["params"].items():
            if key not in params or not _same(params[key], value):
                wrong.append(f"methods.{row['method']}.params.{key}={params.get(key)!r}, the sweep chose {value!r} "
                             f"({row['recipe']})")
    return wrong


def params_markdown(df: pd.DataFrame, chosen_params: pd.DataFrame) -> str:
    """Every setting of every per-method sweep: seed-0 score per task and their mean, the chosen one in bold; a
    method within ``phases.MARGIN`` points of chance on a task under every setting says so, with the task's
    chance and dense scores."""
    lines = ["| method | sparsity | setting | " + " | ".join(sorted(df["task"].unique())) + " | mean |",
             "|---|---|---|" + "---|" * (df["task"].nunique() + 1)]
    tasks = sorted(df["task"].unique())
    picked = set(zip(chosen_params["method"], chosen_params["target_sparsity"], chosen_params["recipe"]))
    seed0 = df[df["seed"].astype(int) == 0]
    for (method, sparsity), g in seed0[seed0["method"].isin(set(chosen_params["method"]))].groupby(
            ["method", "target_sparsity"], sort=True):
        table = g.pivot_table(index="recipe", columns="task", values="score", aggfunc="first").reindex(columns=tasks)
        for recipe, scores in table.iterrows():
            cells = ["not run" if math.isnan(v) else f"{v:.2f}" for v in scores]
            mean = "—" if scores.isna().any() else f"{scores.mean():.2f}"
            if (method, sparsity, recipe) in picked:
                cells, mean = [f"**{c}**" for c in cells], f"**{mean}**"
            lines.append(f"| {method} | {sparsity:.2f} | {recipe} | " + " | ".join(cells) + f" | {mean} |")
        failed = collapsed_tasks(g, method)  # this sparsity's settings: another sparsity's rows say nothing here
        if failed:
            # the margin and the task's own dense score let a reader judge: on MRPC the majority class (74.8)
            # is within 10 points of a fine-tuned MiniLM, so "near chance" there is not a collapse to one class
            from .chance import chance_score
            from .phases import MARGIN

            dense = pd.to_numeric(g.groupby("task")["dense_score"].first(), errors="coerce")
            where = ", ".join(f"{t} (chance {chance_score(t):.2f}" + ("" if math.isnan(dense[t]) else f", dense {dense[t]:.2f}")
                              + ")" for t in failed)
            lines.append(f"| {method} | {sparsity:.2f} | within {MARGIN:g} points of chance under every setting on: {where} |"
                         + " |" * (len(tasks) + 1))
    return "\n".join(lines) + "\n"


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


def tuning_effect(df: pd.DataFrame, chosen_params: pd.DataFrame, untuned: pd.DataFrame | None = None) -> pd.DataFrame:
    """How much each method's own sweep moved its score: per swept method, sparsity and task, the chosen setting
    against the method's default setting (its registered ``Params`` defaults on the swept keys), both from the
    sweep's rows, so from the same dense checkpoint; and, where `untuned` holds it, against the seed-0 row of the
    campaign that ran the defaults (v1: its own checkpoint, so that difference also holds the GPU's run-to-run
    spread, up to ~0.75 points on MRPC in results/v2/README.md).

    Columns: method, target_sparsity, task, default (label of the default setting, "" if the sweep lacks it),
    default_score, chosen, chosen_score, delta (chosen - default), untuned_score, delta_untuned. Scores in points."""
    from prunebench.methods.registry import get

    seed0 = df[df["seed"].astype(int) == 0]
    out = []
    for row in chosen_params.to_dict("records"):
        method, sparsity = row["method"], row["target_sparsity"]
        defaults = vars(get(method).parse_params({}))
        g = seed0[(seed0["method"] == method) & (seed0["target_sparsity"] == sparsity)]
        default_label = ""
        for label, rows in g.groupby("recipe", sort=True):
            values = _method_params(rows["method_params"].iloc[0])
            if all(_same(defaults.get(k), values.get(k)) for k in row["params"]):
                default_label = label
        for task, t in g.groupby("task", sort=True):
            score = lambda label: float(t[t["recipe"] == label]["score"].iloc[0]) if (t["recipe"] == label).any() else math.nan  # noqa: E731
            chosen, default = score(row["recipe"]), score(default_label)
            before = math.nan
            if untuned is not None:
                u = untuned[(untuned["method"] == method) & (untuned["task"] == task) & (untuned["seed"].astype(int) == 0)
                            & ((untuned["target_sparsity"].astype(float) - sparsity).abs() < 1e-9)]
                if "method_params" in u:  # the defaults' row, not a labelled variant of the method (distillation@...)
                    u = u[[all(_same(defaults[k], v) for k, v in _method_params(text).items() if k in defaults)
                           for text in u["method_params"].fillna("")]]
                before = float(u["score"].iloc[0]) if len(u) else math.nan
            out.append({"method": method, "target_sparsity": sparsity, "task": task, "default": default_label,
                        "default_score": default, "chosen": row["recipe"], "chosen_score": chosen,
                        "delta": chosen - default, "untuned_score": before, "delta_untuned": chosen - before})
    return pd.DataFrame(out)


def tuning_markdown(effect: pd.DataFrame, untuned_name: str = "v1") -> str:
    """The tuning effect as a table; "—" where a setting or an untuned row does not exist."""
    fmt = lambda v, signed=False: "—" if math.isnan(v) else (f"{v:+.2f}" if signed else f"{v:.2f}")  # noqa: E731
    lines = [f"| method | sparsity | task | default setting | default | chosen setting | chosen | change | {untuned_name} row "
             f"(defaults, own checkpoint) | change vs {untuned_name} |", "|---|---|---|---|--:|---|--:|--:|--:|--:|"]
    for r in effect.to_dict("records"):
        lines.append(f"| {r['method']} | {r['target_sparsity']:.2f} | {r['task']} | {r['default'] or 'not in the sweep'} | "
                     f"{fmt(r['default_score'])} | {r['chosen']} | {fmt(r['chosen_score'])} | {fmt(r['delta'], True)} | "
                     f"{fmt(r['untuned_score'])} | {fmt(r['delta_untuned'], True)} |")
    return "\n".join(lines) + "\n"

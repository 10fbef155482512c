"""The leaderboard page: one static, self-contained HTML file generated from the results CSV.

Why this shape: the page must work from ``file://``, from GitHub Pages and offline, so it has no server and
loads nothing: the data are inlined as JSON in Vega-Lite specs, and the chart library (Vega, Vega-Lite and
vega-embed, BSD-3-Clause, as bundled by the ``vl-convert-python`` package that Altair itself uses for inline
HTML) is inlined in a ``<script>`` element. Charts are written with Altair (Vega-Lite), a declarative, well-kept
library whose filters are Vega-Lite parameters bound to drop-down menus: the page carries no filtering code
of its own. Altair over Plotly: its inline bundle is about 0.9 MB against plotly.js's 4.6 MB, and one set of
drop-downs can filter both charts at once.

What the page holds:

- the leaderboard per model, data-regime family and sparsity grid (``ranking.leaderboard``), one HTML table
  each (``id="leaderboard-<model>-<family>-<grid>"``), with the ranking's 95% intervals and ties
  (``intervals``: a bootstrap over seeds stratified by task; "(tied)": the AUC interval overlaps the leader's);
- the retained score against sparsity of every (task, method) curve, and the Pareto chart of retained score
  against measured speedup (``paper_figures.pareto_points``, at every batch 32 row), with three drop-downs
  (task, method family, device) that filter both;
- per method: its registry kind, family and description, every cell with its seeds (each seed's score linked to
  its row file under ``results/v1/runs/``), the training recipe of its rows (from the row files' JSON sidecars)
  and whether a tuned sweep of its own exists (``results/v1/sweeps/``).

Links are relative to the page's folder (``results/v1/``), so they resolve on GitHub Pages and in a checkout.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

import altair as alt
import pandas as pd

from .families import FAMILIES, method_family
from .intervals import MIN_SEEDS
from .labels import model_label, percent, safe, task_label
from .ranking import LEADERBOARD_SPARSITIES, method_kind, registered, retained_column
from .regimes import family_label
from .results import DENSE, aggregate

ALL = "all"
TRAIN_FIELDS = ("lr", "epochs", "recovery_lr", "recovery_epochs", "batch_size", "warmup_ratio", "weight_decay")


def row_files(runs: Path, page_dir: Path) -> dict[str, str]:
    """run_id -> row file path relative to `page_dir`, for every row file under `runs`."""
    from prunebench.benchmarks.records import read_rows

    index = {}
    for path in sorted(runs.glob("**/*.csv")):
        if path.name.startswith("."):
            continue
        for row in read_rows(path):
            index[row["run_id"]] = Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()
    return index


def recipes(index: dict[str, str], df: pd.DataFrame, page_dir: Path) -> dict[str, list[str]]:
    """Method -> the distinct training recipes (swept fields) of its rows, read from the row files' sidecars."""
    out: dict[str, set[str]] = {}
    for method, run_id in zip(df["method"], df["run_id"]):
        rel = index.get(run_id)
        sidecar = (page_dir / rel).with_suffix(".json") if rel else None
        if sidecar is None or not sidecar.is_file():
            continue
        train = json.loads(sidecar.read_text())["config"]["train"]
        out.setdefault(method, set()).add(", ".join(f"{k} {train[k]:g}" for k in TRAIN_FIELDS if k in train))
    return {m: sorted(v) for m, v in out.items()}


def _fmt(value: float, digits: int = 1, scale: float = 100.0) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{scale * value:.{digits}f}"


def _with_interval(r, column: str) -> str:
    """A retained score in percent with its 95% interval (``<column>_ci_low/high``) where the ranking gives one."""
    low = getattr(r, f"{column}_ci_low", math.nan)
    text = _fmt(getattr(r, column))
    return text if pd.isna(low) else f"{text} [{_fmt(low)}, {_fmt(getattr(r, f'{column}_ci_high'))}]"


def leaderboard_html(board: pd.DataFrame) -> str:
    """One table per (model, regime family, grid)."""
    if board.empty:
        return "<p>No pruned runs measured yet.</p>"
    parts = []
    for (model, fam, grid), g in board.groupby(["model", "regime_family", "grid"], sort=False):
        ident = f"leaderboard-{safe(model)}-{safe(fam)}-{grid}"
        what = "structured methods (own grid)" if grid == "structured" else "weight-pruning methods"
        head = ["Rank", "Method", "Kind", "Family", "Tasks", *[f"Retained @{percent(s)}%" for s in LEADERBOARD_SPARSITIES],
                "Max safe sparsity", "AUC", "AUC range", "Coverage"]
        rows = []
        for r in g.itertuples(index=False):
            rank = "—" if pd.isna(r.rank) else str(r.rank) + (" (tied)" if bool(getattr(r, "tied", False)) else "")
            auc = f"{r.auc:.3f}"
            if not pd.isna(getattr(r, "auc_ci_low", math.nan)):
                auc += f" [{r.auc_ci_low:.3f}, {r.auc_ci_high:.3f}]"
            seeds = getattr(r, "seeds", None)
            coverage = ("partial" if not r.complete else "complete, own range" if not r.comparable
                        else f"complete, {int(seeds)} seed(s)" if seeds is not None and seeds < MIN_SEEDS else "complete")
            cells = [rank, f'<a href="#method-{safe(r.method)}">{html.escape(r.method)}</a>', html.escape(r.kind or "—"),
                     html.escape(method_family(r.method) or "—"), f"{r.n_tasks} ({html.escape(r.tasks)})",
                     *[_with_interval(r, retained_column(s)) for s in LEADERBOARD_SPARSITIES],
                     f"{percent(r.max_safe_sparsity)}%", auc, f"{percent(r.auc_from)}–{percent(r.auc_to)}%", coverage]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append(f'<h3>{html.escape(model_label(model))} · {html.escape(family_label(fam))} · {what}</h3>'
                     f'<table id="{ident}" class="leaderboard"><thead><tr>'
                     + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                     + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "\n".join(parts)


def curve_data(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, task, regime, method, sparsity): retained score's seed mean and interval, the task's
    label, the devices its rows ran on and the method's family."""
    pruned = df[df["method"] != DENSE]
    cells = aggregate(pruned, value="retained")
    keys = ["model", "task", "regime", "method", "target_sparsity"]
    devices = pruned.groupby(keys)["device"].agg(lambda d: " + ".join(sorted(set(d))))
    cells["device"] = [devices[k] for k in cells[keys].itertuples(index=False, name=None)]
    labels = df.drop_duplicates(["task", "regime"]).set_index(["task", "regime"])["task_label"]
    cells["task"] = [labels[(t, r)] for t, r in zip(cells["task"], cells["regime"])]
    cells["family"] = cells["method"].map(lambda m: method_family(m) or "")
    return cells


def charts(curves: pd.DataFrame, pareto: pd.DataFrame) -> alt.VConcatChart:
    """The two charts, filtered by the same three drop-downs (task, method family, device)."""
    tasks = sorted(set(curves["task"]) | set(pareto.get("task", pd.Series(dtype=str))))
    devices = sorted(set(pareto["device"]) | {d for v in curves["device"] for d in v.split(" + ")})
    families = [f for f in FAMILIES if f in set(curves["family"]) | set(pareto.get("family", pd.Series(dtype=str)))]
    default_task = "SST-2" if "SST-2" in tasks else ALL
    task = alt.param(name="task", value=default_task, bind=alt.binding_select(options=[ALL, *tasks], name="Task "))
    family = alt.param(name="family", value=ALL, bind=alt.binding_select(options=[ALL, *families], name="Method family "))
    device = alt.param(name="device", value=ALL, bind=alt.binding_select(options=[ALL, *devices], name="Device "))
    keep = ("(task == 'all' || datum.task == task) && (family == 'all' || datum.family == family)"
            " && (device == 'all' || indexof(datum.device, device) >= 0)")
    retained = alt.Y("mean:Q", title="retained score (score / dense)", axis=alt.Axis(format="%"),
                     scale=alt.Scale(zero=False))
    base = alt.Chart(curves).transform_filter(keep)
    tooltip = ["method:N", "task:N", alt.Tooltip("target_sparsity:Q", format=".0%", title="sparsity"),
               alt.Tooltip("mean:Q", format=".1%", title="retained"), alt.Tooltip("ci_low:Q", format=".1%"),
               alt.Tooltip("ci_high:Q", format=".1%"), "seeds:N", "device:N"]
    x = alt.X("target_sparsity:Q", title="weight sparsity", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    lines = base.mark_line(point=True).encode(x=x, y=retained, color=alt.Color("method:N", legend=alt.Legend(columns=1)),
                                              detail="task:N", tooltip=tooltip)
    band = base.mark_errorband(opacity=0.2).encode(x=x, y=alt.Y("ci_low:Q", title="retained score (score / dense)"),
                                                   y2="ci_high:Q", color="method:N",
                                                   detail="task:N")
    curve_chart = (band + lines).properties(width=620, height=340, title="Retained score against sparsity")
    speed = alt.Chart(pareto).transform_filter(keep).mark_point(filled=True, size=70).encode(
        x=alt.X("speedup_vs_dense:Q", title="measured speedup over dense (batch 32, whole model)",
                scale=alt.Scale(type="log", base=2)),
        y=alt.Y("retained:Q", title="retained score", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("path:N"), shape=alt.Shape("execution:N"),
        tooltip=["variant:N", "task:N", "device:N", "path:N", "execution:N",
                 alt.Tooltip("speedup_vs_dense:Q", format=".2f", title="measured speedup"),
                 alt.Tooltip("theoretical_speedup:Q", format=".2f", title="FLOP speedup"),
                 alt.Tooltip("retained:Q", format=".1%")])
    flop = alt.Chart(pareto).transform_filter(keep).mark_point(shape="circle", filled=False, color="grey", size=60).encode(
        x="theoretical_speedup:Q", y="retained:Q", tooltip=["variant:N", alt.Tooltip("theoretical_speedup:Q", format=".2f")])
    pareto_chart = (flop + speed).properties(width=620, height=300,
                                             title="Retained score against measured speedup (open circle: FLOP speedup)")
    return alt.vconcat(curve_chart, pareto_chart).add_params(task, family, device).resolve_scale(color="independent")


def pareto_data(df: pd.DataFrame, efficiency: pd.DataFrame | None) -> pd.DataFrame:
    """Whole-model rows at batch 32 of every pruned variant with result rows, once per full-data task."""
    from prunebench.benchmarks.efficiency.variants import parse_variant

    from .paper_figures import PARETO_BATCH

    columns = ["device", "variant", "path", "execution", "speedup_vs_dense", "theoretical_speedup", "task", "retained",
               "family"]
    if efficiency is None or efficiency.empty:
        return pd.DataFrame(columns=columns)
    from .runtimes import scored_as_trained

    rows = efficiency[(efficiency["scope"] == "model") & (efficiency["variant"] != DENSE)
                      & (efficiency["batch"] == PARETO_BATCH) & efficiency["speedup_vs_dense"].notna()
                      & scored_as_trained(efficiency)]
    out = []
    for r in rows.itertuples(index=False):
        v = parse_variant(r.variant)
        if v.method in (None, DENSE):
            continue
        hit = df[(df["model"] == r.model) & (df["method"] == v.method) & (df["regime"] == "full")
                 & ((df["target_units"] - v.sparsity).abs() < 1e-9)]
        for task, g in hit.groupby("task_label"):
            out.append([r.device, r.variant, r.path, str(r.execution), r.speedup_vs_dense, r.theoretical_speedup, task,
                        float(g["retained"].mean()), method_family(v.method) or ""])
    return pd.DataFrame(out, columns=columns)


def method_details(df: pd.DataFrame, index: dict[str, str], method_recipes: dict[str, list[str]],
                   swept: set[str]) -> str:
    """One ``<details>`` per method: description, cells with seeds linked to row files, recipe, sweep."""
    parts = []
    for method in sorted(df["method"].unique()):
        rows = df[df["method"] == method].sort_values(["task", "regime", "target_sparsity", "seed"])
        cls = registered(method)
        describe = cls.describe() if cls is not None and hasattr(cls, "describe") else ""
        body = []
        for (task, regime, s), g in rows.groupby(["task_label", "regime_label", "target_sparsity"], sort=True):
            seeds = ", ".join(
                (f'<a href="{html.escape(index[r.run_id])}">seed {r.seed}: {r.score:.2f}</a>' if r.run_id in index
                 else f"seed {r.seed}: {r.score:.2f}") for r in g.itertuples(index=False))
            body.append(f"<tr><td>{html.escape(task)}</td><td>{html.escape(regime)}</td><td>{percent(s)}%</td>"
                        f"<td>{g['score'].mean():.2f}</td><td>{_fmt(g['retained'].mean())}%</td><td>{seeds}</td></tr>")
        recipe = "".join(f"<li><code>{html.escape(r)}</code></li>" for r in method_recipes.get(method, [])) or "<li>—</li>"
        sweep = ("tuned: rows in <code>results/v1/sweeps/</code>" if method.partition("(")[0] in swept
                 else "pending: no tuned sweep of its own yet (the shared recovery recipe)")
        parts.append(
            f'<details id="method-{safe(method)}" class="method"><summary><b>{html.escape(method)}</b> · '
            f"{html.escape(method_kind(method) or 'unregistered')} · {html.escape(method_family(method) or 'baseline')}"
            f"</summary><p>{html.escape(describe)}</p><p>Recipe of its rows:</p><ul>{recipe}</ul><p>Sweep: {sweep}.</p>"
            "<table><thead><tr><th>Task</th><th>Regime</th><th>Sparsity</th><th>Mean score</th><th>Retained</th>"
            f"<th>Seeds (row files)</th></tr></thead><tbody>{''.join(body)}</tbody></table></details>")
    return "\n".join(parts)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
details.method { margin: 0.4em 0; }
.vega-bindings { display: flex; gap: 1.5em; margin: 0.5em 0; }
"""


def page(df: pd.DataFrame, board: pd.DataFrame, efficiency: pd.DataFrame | None, index: dict[str, str],
         method_recipes: dict[str, list[str]], swept: set[str], links: dict[str, str]) -> str:
    """The whole HTML document (see the module docstring)."""
    import vl_convert

    curves = curve_data(df)
    pareto = pareto_data(df, efficiency)
    spec = charts(curves, pareto).to_dict()
    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    link_list = " · ".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' for text, href in links.items())
    date = max(df["created_at"])[:10] if len(df) else "no runs yet"
    from .params import progress_note, results_label

    progress = f"\n<p><strong>{html.escape(note)}</strong></p>" if (note := progress_note()) else ""
    spec_json = json.dumps(spec, sort_keys=True).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PruneBench leaderboard</title>
<style>{STYLE}</style>
<!-- Vega {vl_convert.get_vega_version()}, Vega-Lite {next(iter(vl_convert.get_vegalite_versions()[-1:]), "")},
vega-embed {vl_convert.get_vega_embed_version()} (BSD-3-Clause), bundled by vl-convert-python; inlined so that
the page loads nothing from the network. -->
<script>{bundle}</script>
</head>
<body>
<h1>PruneBench leaderboard</h1>
<p>Generated by <code>snakemake</code> from <code>{html.escape(results_label())}</code> (newest row {date});
do not edit. {link_list}</p>{progress}
<h2>Leaderboard</h2>
<p>Per model, data regime and sparsity grid. Retained = score / dense score of the same seed, seed mean, averaged
over the tasks listed; AUC = mean retained score over the measured sparsity range. Only methods run on every task
over the whole range are ranked (definitions: <code>analysis/ranking.py</code>).</p>
{leaderboard_html(board)}
<h2>Charts</h2>
<p>The drop-downs filter both charts. Bands: 95% bootstrap interval over seeds (none for one seed).</p>
<div id="charts"></div>
<h2>Methods</h2>
<p>Every cell of every method, its seeds (each linked to its row file), the recipe of its rows and its sweep.</p>
{method_details(df, index, method_recipes, swept)}
<script>
vegaEmbed("#charts", {spec_json}, {{renderer: "svg", actions: false}})
  .then(function (result) {{ window.prunebenchView = result.view; document.body.dataset.chartsReady = "1"; }})
  .catch(function (error) {{ document.body.dataset.chartsError = String(error); console.error(error); }});
</script>
</body>
</html>
"""

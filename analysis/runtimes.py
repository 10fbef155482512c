"""Where unstructured sparsity pays, and where precision pays more: the CPU runtime rows of
`results/v1/efficiency.csv` (onnxruntime, OpenVINO at fp32/bf16/int8/int8 with sparse-weight decompression,
DeepSparse at fp32/int8; `benchmarks/efficiency/paths.py`) drawn on two axes, sparsity and precision.

Every number here comes from the CSV. Two references: each path's speedup over its own dense model (what
sparsity buys on that runtime and precision, the CSV's ``speedup_vs_dense``) and every latency over dense
onnxruntime fp32 in the same bench (what the runtime and precision buy on top). Noise: the bench times a second
copy of the dense model (variant ``dense-repeat``) in the same turns as the others; its speedup over ``dense``
should be 1, and its largest distance from 1 over the runtime paths of one (device, model, batch) is the band
(`noise_band`) inside which no speedup is claimed: the table puts such cells in parentheses and the sentences
never cite them.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .plots import STYLE  # noqa: E402
from .tables import MISSING, Table  # noqa: E402
from .labels import task_label  # noqa: E402
from .texnumbers import join  # noqa: E402

REPEAT = "dense-repeat"
BASELINE = "onnxruntime"  # the fp32 reference every runtime and precision is also compared with
PENDING = "pending"
SAME_MODEL = "openvino-int8-sparse"  # openvino-int8's model, compiled with sparse decompression: same outputs
ACCURACY_COMMAND = ("python -m prunebench.benchmarks.efficiency.runtime_accuracy --checkpoint DIR --task sst2 "
                    "--paths onnxruntime,openvino,deepsparse")


def runtime_paths() -> tuple[str, ...]:
    from prunebench.benchmarks.efficiency.paths import RUNTIMES

    return RUNTIMES


def scored_as_trained(df: pd.DataFrame) -> pd.Series:
    """Rows whose accuracy is the fine-tuned model's own (results.csv): every PyTorch path and every fp32
    runtime; a runtime at bf16 or int8 changes the function, and its score through that precision is
    pending, so a figure that pairs speed with results.csv's score must leave such rows out."""
    return ~(df["path"].isin(runtime_paths()) & ~df["dtype"].astype(str).eq("float32"))


def runtime_rows(df: pd.DataFrame | None) -> pd.DataFrame:
    """Whole-model rows of the runtime paths with a latency: dense, its repeat and the unstructured variants,
    with a ``sparsity`` column (0 for both dense rows)."""
    if df is None or df.empty:
        return pd.DataFrame()
    from prunebench.benchmarks.efficiency.paths import TWO_FOUR
    from prunebench.benchmarks.efficiency.variants import MASKED, parse_variant

    variants = {v: parse_variant(v) for v in df["variant"].unique()}
    unstructured = {v for v, p in variants.items() if p.kind in MASKED and p.kind != TWO_FOUR}
    rows = df[(df["scope"] == "model") & df["path"].isin(runtime_paths()) & df["latency_ms"].notna()
              & (df["variant"].isin(["dense", REPEAT]) | df["variant"].isin(unstructured))].copy()
    rows["sparsity"] = [variants[v].sparsity for v in rows["variant"]]
    return rows


def noise_band(rows: pd.DataFrame) -> dict[tuple[str, str, int], float]:
    """(device, model, batch) -> the largest |dense-repeat speedup - 1| over the runtime paths: how far two
    timings of the same dense model drift apart in one bench. Absent where no repeat was timed."""
    rep = rows[rows["variant"] == REPEAT]
    return {(d, m, int(b)): float((g["speedup_vs_dense"] - 1).abs().max())
            for (d, m, b), g in rep.groupby(["device", "model", "batch"])}


def against_baseline(rows: pd.DataFrame) -> pd.Series:
    """Each row's speedup over dense onnxruntime fp32 of the same device, model and batch (NaN without it)."""
    base = rows[(rows["path"] == BASELINE) & (rows["variant"] == "dense")].set_index(["device", "model", "batch"])["latency_ms"]
    keys = list(zip(rows["device"], rows["model"], rows["batch"]))
    return pd.Series([base.get(k, np.nan) for k in keys], index=rows.index) / rows["latency_ms"]


def _claimed(value: float, band: float | None) -> str:
    """A speedup as a cell: in parentheses where it lies within the noise band of its group."""
    if pd.isna(value):
        return MISSING
    text = f"{value:.2f}"
    return f"({text})" if band is None or abs(value - 1) <= band else text


def runtime_table(df: pd.DataFrame | None) -> Table | None:
    """One row per (device, model, runtime path, batch): the dense latency and its IQR, dense over dense
    onnxruntime fp32, the speedup of each unstructured sparsity over the path's own dense model, and the noise
    band."""
    rows = runtime_rows(df)
    if rows.empty:
        return None
    rows = rows.assign(vs_base=against_baseline(rows))
    bands = noise_band(rows)
    levels = sorted(s for s in rows["sparsity"].unique() if s > 0)
    order = {p: i for i, p in enumerate(runtime_paths())}
    body = []
    groups = rows.groupby(["device", "model", "path", "batch"], sort=False)
    for (device, model, path, batch), g in sorted(groups, key=lambda kv: (kv[0][0], kv[0][1], int(kv[0][3]), order[kv[0][2]])):
        band = bands.get((device, model, int(batch)))
        dense = g[g["variant"] == "dense"]
        by_level = dict(zip(g["sparsity"], g["speedup_vs_dense"]))
        d = dense.iloc[0] if len(dense) else None
        ms = MISSING if d is None else f"{d['latency_ms']:.1f} ({d['latency_iqr_ms']:.1f})" if pd.notna(d.get("latency_iqr_ms")) \
            else f"{d['latency_ms']:.1f}"
        body.append([path, str(int(batch)), ms, MISSING if d is None else _claimed(d["vs_base"], band),
                     *(_claimed(by_level.get(s, np.nan), band) for s in levels),
                     MISSING if band is None else f"±{100 * band:.0f}%"])
    devices = sorted({f"{d} ({detail})" for d, detail in zip(rows["device"], rows["device_detail"])})
    columns = ["Path", "Batch", "Dense ms (IQR)", "Dense vs ORT fp32", *[f"{100 * s:.0f}%" for s in levels], "Noise"]
    caption = ("CPU runtimes and precisions, MiniLM-L6, sequence length 128: the dense model's latency, its speedup over "
               "dense onnxruntime fp32, and the speedup of each unstructured (global magnitude) sparsity over the same "
               "path's dense model.")
    notes = [f"{'; '.join(devices)}. Medians of interleaved calls; IQR in brackets. Noise: the largest distance from "
             "1 of a second dense model timed as a variant, over the paths of that batch; values in parentheses lie "
             "within it and are not claimed. What each precision costs in score: the runtime accuracy table."]
    return Table(columns, body, caption, "tab:runtimes", notes, align="ll" + "r" * (len(columns) - 2))


FINE_TUNED, ONE_SHOT = "fine-tuned", "one-shot"  # the `weights` column of runtime_accuracy.py's rows


def load_accuracy(path) -> pd.DataFrame | None:
    """`results/v1/efficiency-accuracy.csv` (`benchmarks/efficiency/runtime_accuracy.py`); None without it.

    Adds ``variant`` (from the checkpoint label: ``dense`` unless it names a one-shot variant), ``level`` (the
    scored weights' sparsity rounded to a percent: the measured ``sparsity`` column where the row has it, else
    the variant's target) and ``series``: ``fine-tuned`` for a run's own final model (dense, or pruned then
    fine-tuned: ``weights`` ``fine-tuned``), ``one-shot`` for one-shot copies. Rows written before the
    ``sparsity`` and ``weights`` columns existed are one one-shot series, its dense checkpoint included, so they
    read as they did."""
    from pathlib import Path

    if path is None or not Path(path).is_file():
        return None
    acc = pd.read_csv(path)
    for column in ("sparsity", "weights"):
        if column not in acc:
            acc[column] = np.nan
    acc["variant"] = [c.split(" + ", 1)[1].split(" (")[0] if " + " in c else "dense" for c in acc["checkpoint"].astype(str)]
    target = acc["variant"].map(_variant_order)
    acc["level"] = pd.to_numeric(acc["sparsity"], errors="coerce").fillna(target).round(2)
    acc["series"] = np.where(acc["weights"].astype(str).eq(FINE_TUNED), FINE_TUNED, ONE_SHOT)
    return acc


def _variant_order(name: str) -> float:
    from prunebench.benchmarks.efficiency.variants import parse_variant

    return parse_variant(name).sparsity


def _exact(acc: pd.DataFrame, path: str) -> bool:
    """Every scored row of `path` predicts what PyTorch fp32 predicts, on every example."""
    mine = acc[acc["path"] == path]
    return len(mine) > 0 and bool((mine["flipped"] == 0).all()) and bool((mine["score_delta"] == 0).all())


def _weights_label(level: float, series: str) -> str:
    return "dense" if level == 0 else f"{100 * level:.0f}%, {series}"


def _checkpoints(acc: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(checkpoint, task, its rows) in the table's order: task, then the fine-tuned series before the one-shot
    one, then sparsity."""
    order = {FINE_TUNED: 0, ONE_SHOT: 1}
    groups = acc.groupby(["checkpoint", "task"], sort=False)
    return sorted(((c, t, g) for (c, t), g in groups),
                  key=lambda x: (x[1], order[x[2]["series"].iloc[0]], x[2]["level"].iloc[0], x[0]))


def _pending(acc: pd.DataFrame | None) -> list[str]:
    """What the accuracy rows still lack: fine-tuned pruned checkpoints, a second task."""
    if acc is None or acc.empty:
        return ["fine-tuned pruned checkpoints", "a second task"]
    missing = []
    if not ((acc["series"] == FINE_TUNED) & (acc["level"] > 0)).any():
        missing.append("fine-tuned pruned checkpoints")
    if acc["task"].nunique() < 2:
        missing.append("a second task")
    return missing


def accuracy_table(acc: pd.DataFrame | None) -> Table:
    """One row per scored (checkpoint, task): PyTorch fp32's dev score, then each runtime path's score minus
    it (points) with the share of predictions that changed; pending where nothing has been scored."""
    paths = [p for p in runtime_paths() if p != SAME_MODEL]
    exact = [] if acc is None or acc.empty else [p for p in paths if _exact(acc, p)]
    paths = [p for p in paths if p not in exact]  # a column of zeros says less than one line of the notes
    columns = ["Weights", "Task", "PyTorch fp32", *paths]
    caption = ("Dev-set score through each CPU runtime and precision minus the same weights' PyTorch fp32 score "
               "(points; in brackets, the share of predictions that changed).")
    if acc is None or acc.empty:
        body = [[PENDING, PENDING, PENDING, *(PENDING for _ in paths)]]
    else:
        body = []
        for _, task, g in _checkpoints(acc):
            by_path = {r.path: r for r in g.itertuples(index=False)}
            cells = []
            for path in paths:
                r = by_path.get(path)
                if r is None or pd.isna(r.score_delta):
                    cells.append(PENDING if r is None else MISSING)
                else:
                    flip = "" if pd.isna(r.flipped) else f" ({100 * r.flipped:.1f}%)"
                    cells.append(f"{r.score_delta:+.2f}{flip}")
            row = [_weights_label(g["level"].iloc[0], g["series"].iloc[0]), task_label(task),
                   f"{g['torch_score'].iloc[0]:.2f}", *cells]
            if row not in body:  # one dense checkpoint that starts both series (same weights, same scores): once
                body.append(row)
    has = set() if acc is None else set(zip(acc["series"], acc["level"] > 0))
    kinds = []
    if (FINE_TUNED, True) in has:
        kinds.append("fine-tuned: a run's final model (`prunebench run --save-model`), global magnitude pruning to that "
                     "sparsity, then recovery fine-tuning, so its PyTorch score already carries what pruning cost")
    if (ONE_SHOT, True) in has:
        kinds.append("one-shot: a dense checkpoint of that task (its dense row) magnitude-pruned (global) to that "
                     "sparsity with no recovery training, so its PyTorch score shows what pruning alone cost")
    pending = _pending(acc)
    notes = ["int8: NNCF post-training quantization (OpenVINO IR, or QDQ ONNX for DeepSparse), calibrated on "
             "training sentences. Dense: a fine-tuned checkpoint" + "".join(f"; {k}" for k in kinds) + "; the columns: "
             f"what the runtime and precision cost on top. {SAME_MODEL}: the int8 model with other kernels (same "
             "scores)." + (f" {join(exact)}: PyTorch's prediction on every example of every row." if exact else "")
             + (f" {join(pending).capitalize()}: {PENDING} ({ACCURACY_COMMAND})." if pending else "")]
    return Table(columns, body, caption, "tab:runtime-accuracy", notes, align="ll" + "r" * (len(columns) - 2))


TRADEOFF_BATCH = 1  # the deployer's latency: one request at a time


def tradeoff_points(df: pd.DataFrame | None, acc: pd.DataFrame | None, batch: int = TRADEOFF_BATCH) -> pd.DataFrame:
    """Per task, runtime path and sparsity: the fine-tuned checkpoint's dev score through that path (the accuracy
    rows) beside that path's latency at `batch` for the same sparsity (the efficiency rows: latency depends on
    the sparsity and the path, not on which weights were kept). Columns: task, path, sparsity, score, latency_ms.
    Empty where either side is missing."""
    rows = runtime_rows(df)
    if rows.empty or acc is None or acc.empty:
        return pd.DataFrame(columns=["task", "path", "sparsity", "score", "latency_ms"])
    timed = rows[(rows["variant"] != REPEAT) & (rows["batch"].astype(int) == batch)].assign(
        sparsity=lambda t: t["sparsity"].round(2))[["path", "sparsity", "latency_ms"]]
    scored = acc[acc["series"] == FINE_TUNED].assign(sparsity=lambda a: a["level"])[["task", "path", "sparsity", "score"]]
    return scored.merge(timed, on=["path", "sparsity"]).sort_values(["task", "path", "sparsity"]).reset_index(drop=True)


def runtime_figure(df: pd.DataFrame | None, acc: pd.DataFrame | None = None) -> plt.Figure:
    """Latency against unstructured sparsity, one line per runtime path, one panel per batch (log scale):
    a sparse-aware runtime's line falls with sparsity, a dense one's stays flat; the gap between lines at 0%
    is what precision and runtime buy without pruning. Where fine-tuned checkpoints were scored through the
    runtimes (`acc`), one more panel per task puts both axes together: dev score against latency at batch 1,
    one line per path through its sparsities (`tradeoff_points`), the deployer's choice in one picture."""
    rows = runtime_rows(df)
    rows = rows[rows["variant"] != REPEAT] if not rows.empty else rows
    points = tradeoff_points(df, acc)
    with plt.rc_context(STYLE), sns.axes_style("whitegrid"):
        if rows.empty:
            fig, ax = plt.subplots(figsize=(6.4, 1.2), layout="constrained")
            ax.axis("off")
            ax.text(0.5, 0.5, "No runtime rows yet: prunebench bench-efficiency --paths onnxruntime,openvino,deepsparse",
                    ha="center", va="center")
            return fig
        batches = sorted(rows["batch"].astype(int).unique())
        tasks = sorted(points["task"].unique())
        # latency panels on top; below them, where fine-tuned checkpoints were scored, one trade-off panel per task
        ncols = max(len(batches), len(tasks))
        fig, axes = plt.subplots(2 if tasks else 1, ncols, figsize=(6.5, 5.0 if tasks else 2.6), layout="constrained",
                                 squeeze=False)
        paths = [p for p in runtime_paths() if p in set(rows["path"])]
        colours = dict(zip(paths, sns.color_palette("colorblind", len(paths))))
        style = lambda path: "--" if "fp32" in path or path == BASELINE else "-"  # noqa: E731
        for ax in axes.flat[len(batches):ncols]:
            ax.axis("off")
        for ax, batch in zip(axes[0], batches):
            for path in paths:
                g = rows[(rows["path"] == path) & (rows["batch"] == batch)].sort_values("sparsity")
                ax.plot(100 * g["sparsity"], g["latency_ms"], style(path), marker="o", markersize=3, color=colours[path],
                        linewidth=1, label=path)
            ax.set_yscale("log")
            ax.set_xlabel("unstructured sparsity (%)", fontsize=7)
            ax.set_ylabel(f"latency at batch {batch} (ms)", fontsize=7)
            ax.set_title(f"batch {batch}", fontsize=8)
            ax.tick_params(labelsize=6)
        if tasks:
            for ax in axes[1][len(tasks):]:
                ax.axis("off")
        for ax, task in zip(axes[1] if tasks else [], tasks):
            for path in paths:
                g = points[(points["task"] == task) & (points["path"] == path)].sort_values("sparsity")
                ax.plot(g["latency_ms"], g["score"], style(path), marker="o", markersize=3, color=colours[path], linewidth=1)
                for r in g.itertuples(index=False):
                    if path == BASELINE:  # the sparsities, once, along the reference line
                        ax.annotate(f"{100 * r.sparsity:.0f}%", (r.latency_ms, r.score), fontsize=5,
                                    xytext=(2, 2), textcoords="offset points")
            ax.set_xlabel(f"latency at batch {TRADEOFF_BATCH} (ms)", fontsize=7)
            ax.set_ylabel("dev score through the runtime", fontsize=7)
            ax.set_title(f"{task_label(task)}, fine-tuned", fontsize=8)
            ax.tick_params(labelsize=6)
        fig.legend(handles=axes[0][0].get_lines(), loc="outside right center", fontsize=6, frameon=False)
    return fig


def runtime_sentences(df: pd.DataFrame | None, acc: pd.DataFrame | None = None) -> str:
    """The paper's answer to where unstructured sparsity pays and where precision pays more, from the rows;
    a speedup inside the noise band is never cited. `acc`: `load_accuracy`'s rows, for what each precision
    costs in score."""
    rows = runtime_rows(df)
    if rows.empty:
        return "No CPU runtime rows have been measured yet."
    rows = rows.assign(vs_base=against_baseline(rows))
    bands = noise_band(rows)
    out = []
    for (device, model), g in rows.groupby(["device", "model"], sort=True):
        detail = g["device_detail"].iloc[0]
        batches = [b for b in sorted(g["batch"].astype(int).unique()) if (device, model, b) in bands]
        if not batches:  # rows from before the dense-vs-dense repeat: no band, so nothing is claimed
            out.append(f"On {detail}, no dense-vs-dense repeat was timed, so no runtime speedup is claimed.")
            continue
        g = g[g["batch"].astype(int).isin(batches)]
        band = max(bands[(device, model, b)] for b in batches)
        threads = join(sorted({str(int(t)) for t in g["threads"].dropna()}))
        out.append(f"On {detail} ({threads} thread{'s' if threads != '1' else ''}), two timings of the same dense model "
                   f"differ by up to {100 * band:.0f}%, so smaller speedups are not claimed.")
        pays, flat = [], []
        for path in [p for p in runtime_paths() if p in set(g["path"])]:
            parts = []
            for b in batches:
                mine = g[(g["path"] == path) & (g["batch"] == b) & (g["sparsity"] > 0)].sort_values("sparsity")
                above = mine[mine["speedup_vs_dense"] > 1 + bands.get((device, model, b), 0.0)]
                if len(above):
                    top = mine.loc[mine["speedup_vs_dense"].idxmax()]
                    parts.append(f"from {100 * above['sparsity'].iloc[0]:.0f}% sparsity at batch {b} "
                                 f"(up to {top['speedup_vs_dense']:.2f}x at {100 * top['sparsity']:.0f}%)")
            (pays.append(f"{path} " + " and ".join(parts)) if parts else flat.append(path))
        if pays:
            out.append("Unstructured sparsity pays over the same runtime's dense model only on " + "; ".join(pays) + ".")
        if flat:
            out.append(f"{join(flat)} stay within the noise at every sparsity measured.")
        for b in batches:
            here = g[(g["batch"] == b) & (g["variant"] != REPEAT) & g["vs_base"].notna()]
            dense = here[here["variant"] == "dense"]
            if dense.empty:
                continue
            best_dense = dense.loc[dense["vs_base"].idxmax()]
            fp32 = here[(here["sparsity"] > 0) & here["dtype"].eq("float32")]
            best_any = here.loc[here["vs_base"].idxmax()]
            text = (f"At batch {b}, against dense onnxruntime fp32: runtime and precision without pruning give up to "
                    f"{best_dense['vs_base']:.2f}x ({best_dense['path']})")
            if len(fp32):
                best_sparse = fp32.loc[fp32["vs_base"].idxmax()]
                text += (f", sparsity at fp32 up to {best_sparse['vs_base']:.2f}x ({best_sparse['path']} at "
                         f"{100 * best_sparse['sparsity']:.0f}%)")
            text += (f", and the fastest row is {best_any['path']} at {100 * best_any['sparsity']:.0f}% sparsity "
                     f"({best_any['vs_base']:.2f}x).")
            out.append(text)
    out.append(accuracy_sentence(acc))
    return " ".join(out)


def accuracy_sentence(acc: pd.DataFrame | None) -> str:
    """What bf16 and int8 change in dev-set score, per runtime, over the checkpoints scored: for each task's
    fine-tuned series the change at each sparsity, and for the one-shot series the same."""
    lossy = [p for p in runtime_paths() if p != SAME_MODEL and not p.endswith("fp32") and p != BASELINE]
    if acc is None or acc.empty or acc[acc["path"].isin(lossy)]["score_delta"].dropna().empty:
        return f"What int8 and bf16 cost in dev-set score is {PENDING}: no fine-tuned pruned checkpoint was kept."
    scored = acc[acc["path"].isin(lossy) & acc["score_delta"].notna()]
    out = []
    for series, what in ((FINE_TUNED, "checkpoints fine-tuned at each sparsity (dense, or pruned then fine-tuned)"),
                         (ONE_SHOT, "one-shot pruned copies of a dense fine-tuned checkpoint")):
        mine = scored[scored["series"] == series]
        if mine.empty:
            continue
        parts = []
        for path in [p for p in lossy if p in set(mine["path"])]:
            cells = []
            for task, g in sorted(mine[mine["path"] == path].groupby("task")):
                g = g.sort_values("level")
                levels = "/".join(f"{100 * v:.0f}" for v in g["level"])
                cells.append(f"{'/'.join(f'{d:+.2f}' for d in g['score_delta'])} ({task_label(task)} at {levels}%)")
            parts.append(f"{path} {', '.join(cells)}")
        out.append(f"for the {what}, {'; '.join(parts)}")
    pending = _pending(acc)
    return ("Through the runtimes, against the same weights in PyTorch fp32, the dev-set score moves by (points) "
            + "; and ".join(out) + "." + (f" {join(pending).capitalize()} {'are' if len(pending) > 1 else 'is'} {PENDING}."
                                           if pending else ""))

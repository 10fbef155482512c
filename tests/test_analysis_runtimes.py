"""The CPU runtime rows drawn on two axes (`analysis/runtimes.py`): the noise band from the dense-vs-dense
repeat, no speedup claimed inside it, precision against the onnxruntime fp32 baseline, accuracy pending."""

import pandas as pd

from prunebench.analysis.paper_figures import pareto_points
from prunebench.analysis.runtimes import (accuracy_table, load_accuracy, noise_band, runtime_figure, runtime_rows,
                                          runtime_sentences, runtime_table, scored_as_trained)
from prunebench.analysis.speedup import speedup_points

# (path, dtype, dense ms, dense-repeat speedup, {sparsity: speedup over the path's own dense})
PATHS = [("onnxruntime", "float32", 30.0, 0.97, {0.5: 1.01, 0.9: 0.99}),
         ("openvino-int8", "int8", 10.0, 1.04, {0.5: 1.02, 0.9: 1.03}),
         ("deepsparse-fp32", "float32", 40.0, 1.02, {0.5: 1.30, 0.9: 3.00})]


def efficiency(batch: int = 1) -> pd.DataFrame:
    rows = []
    for path, dtype, ms, repeat, sparse in PATHS:
        base = {"device": "cpu (1 threads)", "device_detail": "AMD EPYC", "model": "minilm-l6", "path": path,
                "execution": path.split("-")[0], "scope": "model", "batch": batch, "dtype": dtype, "threads": 1,
                "latency_iqr_ms": 0.5, "theoretical_speedup": 1.0}
        rows.append({**base, "variant": "dense", "latency_ms": ms, "speedup_vs_dense": 1.0})
        rows.append({**base, "variant": "dense-repeat", "latency_ms": ms / repeat, "speedup_vs_dense": repeat})
        for s, x in sparse.items():
            rows.append({**base, "variant": f"magnitude-global@{s:g}", "latency_ms": ms / x, "speedup_vs_dense": x,
                         "theoretical_speedup": 1 / (1 - s)})
    return pd.DataFrame(rows)


def test_the_noise_band_is_the_largest_dense_vs_dense_distance_from_one():
    (key, band), = noise_band(runtime_rows(efficiency())).items()
    assert key == ("cpu (1 threads)", "minilm-l6", 1) and abs(band - 0.04) < 1e-9  # openvino-int8's 1.04


def test_the_table_puts_speedups_inside_the_noise_in_parentheses():
    table = runtime_table(efficiency())
    assert table.columns[4:6] == ["50%", "90%"]
    rows = {r[0]: r for r in table.rows}
    assert rows["deepsparse-fp32"][4:7] == ["1.30", "3.00", "±4%"]
    assert rows["openvino-int8"][3:6] == ["3.00", "(1.02)", "(1.03)"]  # 30 ms / 10 ms over onnxruntime fp32
    assert rows["onnxruntime"][3] == "(1.00)" and {r[-1] for r in table.rows} == {"±4%"}


def test_the_sentences_cite_only_speedups_beyond_the_noise():
    text = runtime_sentences(efficiency())
    assert "up to 4%" in text
    assert "only on deepsparse-fp32 from 50% sparsity at batch 1 (up to 3.00x at 90%)" in text
    assert "onnxruntime and openvino-int8 stay within the noise" in text
    assert "without pruning give up to 3.00x (openvino-int8)" in text and "int8 and bf16 cost" in text and "pending" in text


def accuracy_csv(tmp_path):
    rows = []
    for label, torch_score, deltas in [("ckpt", 83.5, {"openvino-bf16": -0.1, "openvino-int8": 0.2, "deepsparse-int8": -12.0}),
                                       ("ckpt + magnitude-global@0.5 (one-shot, no recovery)", 81.0, {"openvino-int8": -0.3})]:
        for path, delta in deltas.items():
            rows.append({"checkpoint": label, "task": "sst2", "path": path, "torch_score": torch_score,
                         "score": torch_score + delta, "score_delta": delta, "flipped": 0.01})
    pd.DataFrame(rows).to_csv(tmp_path / "acc.csv", index=False)
    return load_accuracy(tmp_path / "acc.csv")


def test_the_accuracy_table_has_a_row_per_checkpoint_and_says_pending_where_unscored(tmp_path):
    table = accuracy_table(accuracy_csv(tmp_path))
    assert table.columns[3:] == ["onnxruntime", "openvino-fp32", "openvino-bf16", "openvino-int8", "deepsparse-fp32",
                                 "deepsparse-int8"]  # openvino-int8-sparse runs openvino-int8's model
    exact = accuracy_csv(tmp_path)
    exact = pd.concat([exact, exact.assign(path="openvino-fp32", score_delta=0.0, flipped=0.0)])
    folded = accuracy_table(exact)
    assert "openvino-fp32" not in folded.columns and "openvino-fp32: PyTorch's prediction on every example" in folded.notes[0]
    dense, half = table.rows
    assert dense[:3] == ["dense", "SST-2", "83.50"] and dense[5:7] == ["-0.10 (1.0%)", "+0.20 (1.0%)"]
    assert dense[3] == "pending" and dense[-1] == "-12.00 (1.0%)"
    assert half[0] == "50%, one-shot" and half[6] == "-0.30 (1.0%)"
    assert accuracy_table(None).rows[0][0] == "pending"


def test_the_sentences_give_each_precisions_score_change(tmp_path):
    text = runtime_sentences(efficiency(), accuracy_csv(tmp_path))
    assert "openvino-int8 +0.20/-0.30 (SST-2 at 0/50%)" in text and "deepsparse-int8 -12.00 (SST-2 at 0%)" in text
    assert "one-shot pruned copies" in text and text.endswith("Fine-tuned pruned checkpoints and a second task are pending.")


def fine_tuned_csv(tmp_path):
    """The old one-shot rows (no `sparsity`, `weights` columns), then runs saved by --save-model on two tasks."""
    accuracy_csv(tmp_path)
    old = pd.read_csv(tmp_path / "acc.csv")
    rows = []
    for task, level, torch_score, delta in [("sst2", 0.0, 84.0, 0.1), ("sst2", 0.8, 80.0, -0.5), ("mrpc", 0.0, 85.0, 0.0),
                                            ("mrpc", 0.5, 84.0, -1.0), ("mrpc", 0.9, 75.0, 2.0)]:
        for path in ("onnxruntime", "openvino-int8"):
            d = 0.0 if path == "onnxruntime" else delta
            rows.append({"checkpoint": f"run {task} {level}", "task": task, "path": path, "torch_score": torch_score,
                         "score": torch_score + d, "score_delta": d, "flipped": 0.0 if d == 0 else 0.02,
                         "sparsity": level + 1e-5 if level else 2e-6, "weights": "fine-tuned"})
    pd.concat([old, pd.DataFrame(rows)]).to_csv(tmp_path / "acc2.csv", index=False)
    return load_accuracy(tmp_path / "acc2.csv")


def test_the_accuracy_table_lists_fine_tuned_runs_per_task_and_sparsity_before_the_one_shot_copies(tmp_path):
    table = accuracy_table(fine_tuned_csv(tmp_path))
    got = [(r[0], r[1], r[2], r[table.columns.index("openvino-int8")]) for r in table.rows]
    assert got == [("dense", "MRPC", "85.00", "+0.00 (0.0%)"), ("50%, fine-tuned", "MRPC", "84.00", "-1.00 (2.0%)"),
                   ("90%, fine-tuned", "MRPC", "75.00", "+2.00 (2.0%)"),
                   ("dense", "SST-2", "84.00", "+0.10 (2.0%)"), ("80%, fine-tuned", "SST-2", "80.00", "-0.50 (2.0%)"),
                   ("dense", "SST-2", "83.50", "+0.20 (1.0%)"), ("50%, one-shot", "SST-2", "81.00", "-0.30 (1.0%)")]
    assert "pending" not in table.notes[0] and "fine-tuned: a run's final model" in table.notes[0]


def test_a_dense_checkpoint_that_starts_both_series_is_listed_once(tmp_path):
    dense = accuracy_csv(tmp_path)
    dense = dense[dense["checkpoint"] == "ckpt"]
    again = dense.assign(checkpoint="the same weights, saved by a run", weights="fine-tuned", sparsity=0.0)
    assert [r[:3] for r in accuracy_table(load_accuracy_rows(tmp_path, pd.concat([dense, again]))).rows] == [
        ["dense", "SST-2", "83.50"]]
    other = again.assign(score_delta=again["score_delta"] + 1)  # other weights, other scores: both listed
    assert len(accuracy_table(load_accuracy_rows(tmp_path, pd.concat([dense, other]))).rows) == 2


def load_accuracy_rows(tmp_path, rows: pd.DataFrame):
    rows.drop(columns=["variant", "level", "series"]).to_csv(tmp_path / "acc3.csv", index=False)
    return load_accuracy(tmp_path / "acc3.csv")


def test_the_sentences_give_the_fine_tuned_series_per_task(tmp_path):
    text = runtime_sentences(efficiency(), fine_tuned_csv(tmp_path))
    assert "openvino-int8 +0.00/-1.00/+2.00 (MRPC at 0/50/90%), +0.10/-0.50 (SST-2 at 0/80%)" in text
    assert "openvino-int8 +0.20/-0.30 (SST-2 at 0/50%)" in text and "pending" not in text


def test_int8_runtime_rows_stay_out_of_the_pareto_until_their_own_scores_exist():
    df = efficiency(batch=32)
    assert list(scored_as_trained(df)) == [p != "openvino-int8" for p in df["path"]]
    results = pd.DataFrame({"model": ["minilm-l6"] * 2, "regime": ["full"] * 2, "method": ["magnitude-global"] * 2,
                            "target_units": [0.5, 0.9], "task": ["sst2"] * 2, "retained": [0.99, 0.9]})
    points = pareto_points(results, df)
    assert set(points["path"]) == {"onnxruntime", "deepsparse-fp32"} and "dense-repeat" not in set(points["variant"])
    assert "dense-repeat" not in set(speedup_points(df)["variant"])


def test_rows_without_a_dense_repeat_claim_nothing():
    old = efficiency()
    old = old[old["variant"] != "dense-repeat"]
    assert runtime_sentences(old).startswith("On AMD EPYC, no dense-vs-dense repeat was timed, so no runtime speedup is claimed.")
    assert "3.00" not in runtime_sentences(old)


def test_the_figure_draws_one_line_per_path():
    fig = runtime_figure(efficiency())
    assert [line.get_label() for line in fig.axes[0].get_lines()] == [p for p, *_ in PATHS]


def test_the_trade_off_pairs_each_fine_tuned_score_with_its_paths_latency_at_that_sparsity(tmp_path):
    from prunebench.analysis.runtimes import tradeoff_points

    rows = []
    for sparsity, weights, torch_score in [(0.0, "fine-tuned", 84.0), (0.9, "fine-tuned", 70.0), (0.9, "", 60.0)]:
        label = "ckpt" if sparsity == 0 else f"run at {sparsity}" if weights else "ckpt + magnitude-global@0.9 (one-shot)"
        for path, delta in [("onnxruntime", 0.0), ("deepsparse-fp32", 0.0), ("openvino-int8", -1.0)]:
            rows.append({"checkpoint": label, "task": "sst2", "path": path, "torch_score": torch_score,
                         "score": torch_score + delta, "score_delta": delta, "flipped": 0.0, "sparsity": sparsity,
                         "weights": weights})
    pd.DataFrame(rows).to_csv(tmp_path / "acc.csv", index=False)
    points = tradeoff_points(efficiency(), load_accuracy(tmp_path / "acc.csv")).set_index(["path", "sparsity"])
    # the one-shot copy at 90% is not a fine-tuned checkpoint: it is not drawn
    assert sorted(points.index) == [("deepsparse-fp32", 0.0), ("deepsparse-fp32", 0.9), ("onnxruntime", 0.0),
                                    ("onnxruntime", 0.9), ("openvino-int8", 0.0), ("openvino-int8", 0.9)]
    assert points.loc[("deepsparse-fp32", 0.9), "latency_ms"] == 40.0 / 3.00  # PATHS: 3x over its own dense at 90%
    assert points.loc[("deepsparse-fp32", 0.9), "score"] == 70.0
    assert points.loc[("openvino-int8", 0.0), "score"] == 83.0
    fig = runtime_figure(efficiency(), load_accuracy(tmp_path / "acc.csv"))
    trade = fig.axes[1]  # one latency panel (batch 1) on top, the SST-2 trade-off below it
    assert [list(line.get_xdata()) for line in trade.get_lines()][0] == [30.0, 30.0 / 0.99]  # onnxruntime at 0 and 90%

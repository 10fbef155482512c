"""The speedup figure and table from results/v1/efficiency.csv, present or absent."""

from pathlib import Path

import pandas as pd

from prunebench.analysis.run import execute_notebook
from prunebench.analysis.results import add_labels
from prunebench.analysis.speedup import speedup_figure, speedup_points, speedup_table
from prunebench.benchmarks.efficiency.table import COLUMNS, to_text

PARAMS = {"speedup_figure": "out/speedup.pdf", "speedup_md": "out/speedup.md", "speedup_tex": "out/speedup.tex"}


def _row(**values) -> dict:
    base = {"model": "minilm-l6", "scope": "model", "execution": "eager", "batch": 32, "seq_len": 128}
    return {c: "" for c in COLUMNS} | base | values


def fixture(path: Path) -> Path:
    rows = [
        _row(device="cpu (2 threads)", variant="dense", path="dense-kernels", theoretical_speedup=1.0, speedup_vs_dense=1.0,
             latency_ms=900.0, throughput=35.5),
        _row(device="cpu (2 threads)", variant="head+ffn@0.5", path="structured", theoretical_speedup=1.9, speedup_vs_dense=1.7,
             latency_ms=530.0, throughput=60.4),
        _row(device="cpu (2 threads)", variant="magnitude-global@0.5", path="torch-csr", theoretical_speedup=1.8,
             speedup_vs_dense=0.4, latency_ms=2250.0, throughput=14.2),
        _row(device="cpu (2 threads)", variant="magnitude-global@0.5", path="torch-csr", scope="linears",
             theoretical_speedup=2.0, speedup_vs_dense=0.3),
        _row(device="cuda: GPU", variant="magnitude-2of4@0.5", path="semi-structured-2:4", execution="cuda-graph",
             theoretical_speedup=1.8, speedup_vs_dense=1.2, latency_ms=1.0, throughput=32000.0),
        _row(device="cuda: GPU", variant="magnitude-2of4@0.5", path="semi-structured-2:4", batch=1, notes="not measured: x"),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_text(rows))
    return path


def test_points_are_measured_pruned_whole_model_rows(tmp_path):
    df = pd.read_csv(fixture(tmp_path / "eff.csv"))
    points = speedup_points(df)
    assert sorted(points["variant"]) == ["head+ffn@0.5", "magnitude-2of4@0.5", "magnitude-global@0.5"]
    assert len(speedup_figure(df).axes) == 2  # one panel per device and model
    table = speedup_table(df)
    assert len(table.rows) == 5 and ["—" in r[6] for r in table.rows].count(True) == 1  # the unmeasured row shows —
    assert all(r[-1] == "—" for r in table.rows)  # no result rows: never invented


def test_the_figure_draws_batch_32_of_each_model_or_its_largest_batch(tmp_path):
    from prunebench.analysis.speedup import figure_points

    df = pd.read_csv(fixture(tmp_path / "eff.csv"))
    other = df[df["device"] == "cuda: GPU"].assign(model="shape:bert-base", batch=128)
    also_128 = df[df["variant"] == "head+ffn@0.5"].assign(batch=128, speedup_vs_dense=1.9)
    points = figure_points(speedup_points(pd.concat([df, other, also_128])))
    assert sorted(zip(points["model"], points["variant"], points["batch"])) == [
        ("minilm-l6", "head+ffn@0.5", 32), ("minilm-l6", "magnitude-2of4@0.5", 32), ("minilm-l6", "magnitude-global@0.5", 32),
        ("shape:bert-base", "magnitude-2of4@0.5", 128)]
    assert len([ax for ax in speedup_figure(pd.concat([df, other])).axes if ax.axison]) == 3


def _results(*rows) -> pd.DataFrame:
    """Result rows as `load_results` gives them: (method, requested sparsity, task, source, seed, score, dense)."""
    cols = ["method", "target_units", "task", "data_source", "train_examples", "seed", "score", "dense_score", "model"]
    sizes = {"sst2": 67349, "qqp": 21147}
    df = pd.DataFrame([[m, s, t, src, sizes[t], seed, sc, d, "minilm-l6"] for m, s, t, src, seed, sc, d in rows], columns=cols)
    return add_labels(df)


def test_the_accuracy_cost_is_joined_from_the_method_rows_per_task_and_regime(tmp_path):
    df = pd.read_csv(fixture(tmp_path / "eff.csv"))
    results = _results(("magnitude-global", 0.5, "sst2", "glue_dir", 0, 88.0, 90.0),
                       ("magnitude-global", 0.5, "sst2", "glue_dir", 1, 89.0, 90.0),
                       ("magnitude-global", 0.5, "qqp", "glue_dir:qqp-subset", 0, 80.0, 82.0),
                       ("magnitude-global", 0.7, "sst2", "glue_dir", 0, 50.0, 90.0),  # another sparsity
                       ("magnitude-layerwise", 0.5, "sst2", "glue_dir", 0, 10.0, 90.0),  # another method
                       ("dense", 0.0, "sst2", "glue_dir", 0, 90.0, 90.0))  # the reference
    rows = {(r[1], r[2], r[3]): r[-1] for r in speedup_table(df, results).rows}
    assert rows[("minilm-l6", "magnitude-global@0.5", "torch-csr")] == (
        "-2.00 (QQP subset, 21,147 train, held-out eval, 1 seeds); -1.50 (SST-2, full data, 2 seeds)")
    assert rows[("minilm-l6", "head+ffn@0.5", "structured")] == rows[("minilm-l6", "dense", "dense-kernels")] == "—"


def test_a_bench_of_another_model_gets_no_accuracy_from_minilm_rows(tmp_path):
    # random weights with BERT-base's shapes: timing only; MiniLM's accuracy cost is not its cost
    df = pd.read_csv(fixture(tmp_path / "eff.csv")).assign(model="shape:bert-base")
    results = _results(("magnitude-global", 0.5, "sst2", "glue_dir", 0, 88.0, 90.0))
    assert {r[1] for r in speedup_table(df, results).rows} == {"shape:bert-base"}
    assert all(r[-1] == "—" for r in speedup_table(df, results).rows)


def test_the_notebook_draws_the_csv_or_says_nothing_was_measured(tmp_path):
    csv = fixture(tmp_path / "results/v1/efficiency.csv")
    execute_notebook("efficiency_speedup", {"efficiency": str(csv), **PARAMS}, cwd=tmp_path / "with")
    tex = (tmp_path / "with/out/speedup.tex").read_text()
    md = (tmp_path / "with/out/speedup.md").read_text()
    assert r"\includegraphics[width=\linewidth]{generated/speedup.pdf}" in tex and "](speedup.png)" in md
    assert "| cpu (2 threads) | minilm-l6 | magnitude-global@0.5 | torch-csr | eager | 32 |" in md
    assert (tmp_path / "with/out/speedup.png").stat().st_size > 10_000
    execute_notebook("efficiency_speedup", {"efficiency": str(tmp_path / "absent.csv"), **PARAMS}, cwd=tmp_path / "without")
    assert "No efficiency measurement yet" in (tmp_path / "without/out/speedup.md").read_text()
    assert "No efficiency measurement yet" in (tmp_path / "without/out/speedup.tex").read_text()


def test_the_probe_table_has_a_column_per_row_count_and_ignores_failures(tmp_path):
    from prunebench.analysis.speedup import probe_table

    assert probe_table(tmp_path / "absent.csv") is None
    probe = tmp_path / "probe.csv"
    probe.write_text("device,torch,out,in,rows,backend,execution,dense_ms,sparse_ms,speedup\n"
                     "GPU,2.11,384,1536,4096,cusparselt,cuda-graph,0.02,0.025,0.800\n"
                     "GPU,2.11,384,1536,4096,cusparselt,eager,0.02,0.5,0.040\n"
                     "# 384x1536 rows 16384 cusparselt: failed\n"
                     "GPU,2.11,384,1536,16384,cusparselt-searched,cuda-graph,0.08,0.07,1.143\n")
    table = probe_table(probe)
    assert table.columns[-2:] == ["4,096 rows", "16,384 rows"]
    assert table.rows == [["GPU", "384 x 1536", "cusparselt", "0.80×", "—"], ["GPU", "384 x 1536", "cusparselt-searched", "—", "1.14×"]]


def test_the_batch_summary_joins_the_linears_of_the_same_variant_path_and_execution(tmp_path):
    from prunebench.analysis.speedup import batch_summary

    df = pd.read_csv(fixture(tmp_path / "eff.csv"))
    df.loc[df["variant"] == "head+ffn@0.5", "speedup_fraction"] = 1.7 / 1.9
    rows = {(r[0], r[2], r[3]): r for r in batch_summary(df).rows}
    csr = rows[("cpu (2 threads)", "magnitude-global@0.5", "torch-csr")]
    assert csr[-2:] == ["0.30×", "0.30× (batch 32)"]
    assert rows[("cpu (2 threads)", "head+ffn@0.5", "structured")][-3:] == ["0.89", "—", "—"]

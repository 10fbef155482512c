"""The real offline model learns: MiniLM-L6 on the embedded SST-2 sample, well above chance, pruned or not."""

import pytest

from prunebench.benchmarks.cli import main
from prunebench.benchmarks.records import read_rows


@pytest.mark.slow
def test_minilm_learns_sst2_and_survives_half_sparsity(tmp_path):
    out = tmp_path / "row.csv"
    argv = ["run", "--model", "minilm-l6", "--task", "sst2", "--method", "magnitude-global", "--sparsity", "0.5",
            "--data-source", "embedded", "--max-train-samples", "1000", "--device", "cpu", "--out", str(out),
            "--set", "lr=5e-5", "--set", "recovery_epochs=1", "--set", "progress=false", "--set", "bench_repeats=2"]
    assert main(argv) == 0
    (row,) = read_rows(out)
    # chance is 50% and the majority class of the 500 held-out sentences about 51%
    assert float(row["dense_score"]) > 75
    assert float(row["score"]) > 70
    assert abs(float(row["achieved_sparsity"]) - 0.5) < 0.005

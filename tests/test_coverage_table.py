"""The coverage table counts a campaign's rows the way the grid runner does, and is rebuilt with the report."""

import re
import subprocess
import sys
from pathlib import Path

from _generated import rerun

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_coverage_is_what_the_grid_runner_counts(tmp_path):
    again, committed = rerun("results/v2/tables/coverage.md", tmp_path / "coverage.md")
    assert again == committed
    dry = subprocess.run([sys.executable, "scripts/run_grid.py", "config/v2-minilm.yaml", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True)
    grid, present = map(int, re.search(r"(\d+) rows in the grid, (\d+) present", dry.stdout).groups())
    assert f"{present} of the {grid} rows of `config/v2-minilm.yaml` are present" in committed


def test_a_row_file_counts_in_its_cell_and_a_stale_merge_is_named(tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [rte, mrpc]\nseeds: [0, 1]\ndata_source: embedded\n"
                      "results_version: v9\nmethods: {dense: {sparsities: [0.0]}, random: {sparsities: [0.5], tasks: [rte]}}\n"
                      "train: {epochs: 1}\n")
    row = tmp_path / "results/v9/runs/t/minilm-l6/rte/random/s0.50-seed1.csv"
    row.parent.mkdir(parents=True)
    row.write_text("a row\n")
    out = tmp_path / "coverage.md"
    proc = subprocess.run([sys.executable, "scripts/coverage_table.py", str(config), "results/v2/results.csv",
                           "--root", str(tmp_path), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    table = out.read_text()
    assert "1 of the 6 rows" in table and "(5 pending)" in table
    assert "| random | 1/2 | - | 1/2 |" in table  # no random cell on MRPC
    assert "| dense | 0/2 | 0/2 | 0/4 |" in table
    assert "holds" in table and "not 1" in table  # the CSV given merges other rows: said, not hidden


def test_a_config_that_does_not_check_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [nosuchtask]\nseeds: [0]\nmethods: {dense: {sparsities: [0.0]}}\n")
    out = tmp_path / "coverage.md"
    proc = subprocess.run([sys.executable, "scripts/coverage_table.py", str(bad), "results/v2/results.csv", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("coverage_table: ") and len(proc.stderr.splitlines()) == 1
    assert not out.exists()
    missing_root = subprocess.run([sys.executable, "scripts/coverage_table.py", "config/v2-minilm.yaml",
                                   "results/v2/results.csv", "--root", str(tmp_path / "nowhere"), "--out", str(out)],
                                  cwd=ROOT, capture_output=True, text=True)
    assert missing_root.returncode == 2 and "no such folder" in missing_root.stderr and not out.exists()

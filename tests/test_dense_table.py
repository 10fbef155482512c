"""The dense table puts our dense rows beside published dev scores only where the regimes match."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from _generated import rerun
from prunebench.analysis.reference import PUBLISHED_DEV, published_score

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_dense_table_is_what_the_script_makes_now(tmp_path):
    again, committed = rerun("results/v2/tables/dense.md", tmp_path / "dense.md")
    assert again == committed
    assert "| MiniLM-L6 | SST-2 | full data | 3 |" in committed


def test_only_full_data_rows_get_a_published_score():
    published = pd.read_csv(PUBLISHED_DEV)
    assert published_score(published, "distilbert", "sst2", "full") == "91.3"
    # QQP's 23.5k-row subset is not the task the paper trained on
    assert published_score(published, "distilbert", "qqp", "qqp-train-subset-n23497") == "not comparable (regime)"
    assert published_score(published, "minilm-l6-h384", "cola", "full") == "not in the card's table"


def test_every_published_figure_names_its_paper_and_where_it_was_read():
    published = pd.read_csv(PUBLISHED_DEV)
    assert published[["paper", "transcribed_from"]].notna().all().all()
    assert published["score"].between(0, 100).all()


def test_a_missing_results_file_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "dense.md"
    proc = subprocess.run([sys.executable, "scripts/dense_table.py", str(tmp_path / "none.csv"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("dense_table: ") and len(proc.stderr.splitlines()) == 1
    assert not out.exists()


def test_a_published_file_without_its_columns_is_one_line_and_exit_2(tmp_path):
    for text in ("", "model,task\nminilm-l6-h384,sst2\n"):
        bad = tmp_path / "published.csv"
        bad.write_text(text)
        proc = subprocess.run([sys.executable, "scripts/dense_table.py", "results/v2/results.csv", "--published", str(bad),
                               "--out", str(tmp_path / "dense.md")], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "no column score" in proc.stderr and not (tmp_path / "dense.md").exists()

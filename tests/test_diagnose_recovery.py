"""scripts/diagnose_recovery.py: the committed STS-B recovery check is what its command writes from the rows."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_check_is_what_its_command_writes(tmp_path):
    from _generated import rerun

    again, committed = rerun("results/v2/diagnosis-stsb-recovery.md", tmp_path / "again.md")
    table = lambda text: [line for line in text.splitlines() if line.startswith("|")]  # noqa: E731
    assert table(again) == table(committed) and len(table(committed)) == 7  # header, rule, 3 + 2 rows
    if os.environ.get("GLUE_DIR"):  # the label variance comes from STS-B's training split (else the embedded sample)
        assert again == committed
    # the check's rows are not campaign rows: they stay out of results/v2/runs and so out of results.csv
    assert "diag" not in (ROOT / "results/v2/results.csv").read_text()


def test_a_sparsity_without_rows_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "x.md"
    proc = subprocess.run([sys.executable, "scripts/diagnose_recovery.py", "results/v2/diagnosis/stsb-recovery",
                           "results/v2/runs/v2-minilm/minilm-l6/stsb", "--method", "magnitude-layerwise",
                           "--sparsity", "0.55", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "0.55" in proc.stderr
    assert not out.exists()

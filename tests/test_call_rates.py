"""A device call's rate counts its result rows only (not data preparation or checkpoints) over its wall time."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from call_rates import call_rates  # noqa: E402


def test_rows_per_gpu_minute_counts_result_rows_over_wall_time_and_gpus(tmp_path):
    (tmp_path / "calls.csv").write_text("call,session,device,gpus,wall_s,what\n1,8,x2,2,300.0,a test\n")
    (tmp_path / "call1-phase.log").write_text(
        "ok      11s /tmp/c1/prepared/t/mrpc-minilm-l6.json\n"
        "ok      32s /tmp/c1/checkpoints/t/mrpc-minilm-l6-seed1-4.csv\n"
        "ok       9s /tmp/c1/results/v2/runs/t/minilm-l6/mrpc/snip/s0.80-seed1.csv\n"
        "ok      90s /tmp/c1/results/v2/sweeps/t/lr1/minilm-l6/mrpc/snip/s0.80-seed0.csv\n"
        "FAIL    169s /tmp/c1/results/v2/runs/t/minilm-l6/sst2/snip/s0.80-seed1.csv  (log: x)\n")
    (call,) = call_rates(tmp_path).itertuples(index=False)
    assert call.rows == 2 and call.rows_per_gpu_minute == pytest.approx(2 * 60 / (300 * 2))


def test_a_call_without_its_log_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "calls.csv").write_text("call,session,device,gpus,wall_s,what\n3,8,x2,2,300.0,a test\n")
    proc = subprocess.run([sys.executable, "scripts/call_rates.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "call3-phase.log: no queue log for call 3" in proc.stderr

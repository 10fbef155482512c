"""Several writers at once, as several workflow jobs are: rows never interleave, a merge running meanwhile
only ever sees whole rows, and two runs racing to make the same dense checkpoint both end with a valid one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _figures import count, tally
from _proc import leftovers, read_row, run_argv, run_env, start
from prunebench.benchmarks.merge import merge, run_files_under
from prunebench.benchmarks.validate_results import validate_results

pytestmark = pytest.mark.reliability

HERE = Path(__file__).resolve().parent
WRITERS, ROWS = 3, 40


def test_concurrent_writers_and_a_running_merge_see_only_whole_rows(tmp_path):
    runs, merged, stop = tmp_path / "runs", tmp_path / "results.csv", tmp_path / "stop"
    env = run_env(tmp_path / "cache")
    python = [sys.executable, str(HERE / "_writer.py")]
    runs.mkdir()
    merger = subprocess.Popen([*python, "merge", str(runs), str(merged), str(stop)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not merged.exists() and merger.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the merge loop is running before the first row is written
    writers = [subprocess.Popen([*python, "write", str(runs), str(k), str(ROWS)], env=env, stderr=subprocess.PIPE, text=True)
               for k in range(WRITERS)]
    hot, seen, reads = runs / "shared" / "hot.csv", set(), 0
    while any(w.poll() is None for w in writers):  # the test process reads the file everyone rewrites
        if hot.exists():
            report = validate_results(hot)
            assert report.problems == [] and len(report.rows) == 1, report.problems[:1]
            seen.add(report.rows[0]["run_id"])
            reads += 1
    for w in writers:
        assert w.wait() == 0, w.stderr.read()[-2000:]
    stop.touch()
    out, err = merger.communicate(timeout=60)
    assert merger.returncode == 0, err[-2000:]
    stats = json.loads(out)
    assert stats["merges"] >= 2, "the merge should have run while rows were being written"
    assert len(seen) >= 2, "the reader should have seen several versions of the shared file"

    n = merge(run_files_under(runs), merged)
    report = validate_results(merged)
    tally(WRITERS * ROWS + 1, [r["run_id"] for r in report.rows])
    assert report.problems == [] and n == len(report.rows) == WRITERS * ROWS + 1
    assert len({r["run_id"] for r in report.rows}) == n
    assert leftovers(runs) == []
    count("rows", reads + stats["rows"] + n)


def test_two_runs_racing_for_one_dense_checkpoint_both_end_valid(tmp_path, tiny_bert_dir):
    """Both runs fine-tune the same dense model and reach the rename together (held at it until both are
    there); one folder wins, the other run drops its copy and uses the winner."""
    cache, gate = tmp_path / "cache", tmp_path / "gate"
    gate.mkdir()
    outs = {"dense": tmp_path / "a" / "row.csv", "magnitude-global": tmp_path / "b" / "row.csv"}
    procs = []
    for method, out in outs.items():
        argv = run_argv(tiny_bert_dir, out, method=method, sparsity=0.0 if method == "dense" else 0.5)
        procs.append(start([sys.executable, str(HERE / "_inject.py"), f"wait:{gate}:2", "*/dense/*", "--", "-v", *argv[3:]],
                           cache))
    began = time.monotonic()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "dense checkpoint: fine-tuning" in err, "each run should have made the checkpoint itself"
    assert len(list(gate.iterdir())) == 2 and time.monotonic() - began < 300
    (folder,) = (cache / "dense").iterdir()
    assert (folder / "dense.json").is_file() and (folder / "model.safetensors").is_file()
    assert leftovers(cache, tmp_path / "a", tmp_path / "b") == []
    dense, pruned = read_row(outs["dense"]), read_row(outs["magnitude-global"])
    tally(2, [dense["run_id"], pruned["run_id"]])
    assert pruned["dense_score"] == dense["score"]
    count("rows", 2)

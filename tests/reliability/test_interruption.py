"""A `prunebench run` killed again and again, then restarted, ends with exactly the row an uninterrupted run
writes, and nothing half-made is left: no temporary file, no half-saved checkpoint folder.

Two kinds of kill, on one shared cache and one row path, in sequence:
- at the worst moments: SIGKILL right before each rename that makes an output visible (a token cache
  entry, the dense checkpoint folder, the sidecar, the row), so all the work is done and only its
  temporary exists;
- at random moments (seeded): SIGKILL after a random share of an uninterrupted run's duration.
The workflow's own kills (Snakemake killed mid-grid) are in tests/test_workflow.py.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _figures import count, tally
from _tiny import one_thread  # noqa: F401  (autouse: in-process runs use one intra-op thread)
from _proc import TIMING_COLUMNS, leftovers, read_row, run, run_argv, start
from prunebench.benchmarks.validate_results import validate_results

pytestmark = pytest.mark.reliability

INJECT = Path(__file__).resolve().parent / "_inject.py"
# the renames of a cold run, in the order they happen
WORST_MOMENTS = ["*/tokens/*.npz", "*/dense/*", "*/row.json", "*/row.csv"]
RANDOM_KILLS, SEED = 5, 8


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_bert_dir):
    """An uninterrupted run on a cold cache: its row, and how long it took."""
    folder = tmp_path_factory.mktemp("reference")
    began = time.monotonic()
    done = run(run_argv(tiny_bert_dir, folder / "out" / "row.csv"), folder / "cache")
    assert done.returncode == 0, done.stderr[-2000:]
    return read_row(folder / "out" / "row.csv"), time.monotonic() - began


def test_a_run_killed_at_its_worst_moments_and_at_random_resumes_to_the_same_row(tmp_path, tiny_bert_dir, reference):
    ref_row, ref_seconds = reference
    out, cache = tmp_path / "out" / "row.csv", tmp_path / "cache"
    argv = run_argv(tiny_bert_dir, out)
    kills = 0

    for moment in WORST_MOMENTS:
        done = run([sys.executable, str(INJECT), "kill", moment, "--", *argv[3:]], cache)
        assert done.returncode == -signal.SIGKILL, f"no rename into {moment} happened: {done.stderr[-1500:]}"
        assert not out.exists(), "a killed run must not leave a row"
        kills += 1
    assert leftovers(cache, out.parent), "the kills before a rename should have left temporaries to clean"

    rng, random_kills = random.Random(SEED), 0
    for _ in range(RANDOM_KILLS):
        proc = start(argv, cache)
        try:
            proc.wait(timeout=rng.uniform(0.05, 0.6) * ref_seconds)
        except subprocess.TimeoutExpired:  # still running: kill it wherever it is
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            random_kills += 1
        else:  # a fast machine finished first: check the row, then take it away to keep killing
            proc.communicate()
            assert proc.returncode == 0 and validate_results(out).problems == []
            out.unlink()
        assert not out.exists() or validate_results(out).problems == []
    assert random_kills >= RANDOM_KILLS - 2, "the random kills should mostly land before the run ends"
    kills += random_kills

    done = run(argv, cache)
    report = validate_results(out) if out.exists() else None
    tally(1, [r["run_id"] for r in report.rows] if report else [])
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in out.parent.iterdir()) == ["row.csv", "row.json"], "exactly one row, its sidecar"
    assert report.problems == [] and len(report.rows) == 1
    assert leftovers(cache, out.parent) == [], "temporaries of killed runs must be cleaned up"
    (dense,) = (cache / "dense").iterdir()
    assert (dense / "dense.json").is_file() and (dense / "model.safetensors").is_file()

    row = read_row(out)
    differing = [c for c in row if c not in TIMING_COLUMNS and row[c] != ref_row[c]]
    assert differing == [], {c: (row[c], ref_row[c]) for c in differing}
    count("kills", kills)
    count("rows", 1)
    again = run(argv, cache)  # and a rerun keeps it: an existing row is never recomputed
    assert again.returncode == 0 and again.stdout.startswith("exists:") and read_row(out) == row


def test_a_half_made_checkpoint_folder_is_replaced_not_used(tmp_path, monkeypatch, tiny_bert_dir, run_cli):
    """A dense folder without dense.json (made by hand, or by an older version) is never loaded."""
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / "cache"))
    code, first = run_cli(tiny_bert_dir, task="rte", method="dense", sparsity=0.0)
    assert code == 0
    (dense,) = (tmp_path / "cache" / "dense").iterdir()
    (dense / "dense.json").unlink()
    (dense / "model.safetensors").write_bytes(b"half")
    code, again = run_cli(tiny_bert_dir, task="rte", method="dense", sparsity=0.0, out=tmp_path / "again.csv")
    assert code == 0
    assert (dense / "dense.json").is_file() and leftovers(tmp_path / "cache") == []
    assert read_row(again)["score"] == read_row(first)["score"]
    count("rows", 2)

"""Results integrity: `prunebench validate results.csv` passes the published CSV and names the line and
column of each kind of damage; `prunebench merge` refuses a damaged row, a duplicate run and another
schema version, leaving the previous merged CSV as it was.
"""

from __future__ import annotations

import csv
import re
import io
import shutil
from pathlib import Path

import pytest

from _figures import count
from prunebench.benchmarks.cli import main
from prunebench.benchmarks.records import COLUMNS

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results/v1/results.csv"


def _rows() -> list[list[str]]:
    with open(RESULTS, newline="") as f:
        return list(csv.reader(f))


def _text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _set(row: int, column: str, value: str):
    def change(rows):
        rows[row][COLUMNS.index(column)] = value
        return _text(rows)

    return change


def _truncated(rows):
    text = _text(rows[:4])
    return text[: len(text) - 120]


CORRUPTIONS = {
    "truncated last line": (_truncated, r":4: (\d+ values, expected 29|created_at: |malformed CSV)"),
    "bad number": (_set(2, "score", "9o.5"), r":3: score: '9o\.5' is not a number"),
    "integer with a fraction": (_set(1, "seed", "0.5"), r":2: seed: '0\.5' is not an integer"),
    "duplicate run_id": (lambda rows: _text([*rows[:3], rows[1]]), r":4: run_id: [0-9a-f]{16} already on line 2"),
    "sparsity out of range": (_set(3, "target_sparsity", "1.2"), r":4: target_sparsity: 1\.2 is outside \[0, 1\)"),
    "negative achieved sparsity": (_set(3, "achieved_sparsity", "-0.01"), r":4: achieved_sparsity: -0\.01 is outside"),
    "score out of range": (_set(1, "score", "101.0"), r":2: score: 101\.0 is outside \[-?\d+, 100\] for [a-z0-9+]+"),
    "score not from its metrics": (_set(1, "score", "50.0"), r":2: metrics: the primary metrics give score .* says 50\.0"),
    "bad JSON": (_set(2, "metrics", '{"accuracy":0.9'), r":3: metrics: not valid JSON"),
    "JSON that is not an object": (_set(2, "method_params", "[1, 2]"), r":3: method_params: JSON list, expected an object"),
    "metric out of range": (_set(2, "metrics", '{"accuracy":1.5}'), r":3: metrics: accuracy=1\.5 is outside \[0, 1\]"),
    "unknown task": (_set(1, "task", "sst3"), r":2: task: 'sst3' is not a GLUE task"),
    "run_id not from config_hash": (_set(1, "run_id", "0123456789abcdef"), r":2: run_id: is not the start of config_hash"),
    "negative seed": (_set(1, "seed", "-1"), r":2: seed: -1 is negative"),
    "more nonzero than total": (_set(1, "params_nonzero", "99999999999"), r":2: params_nonzero: 99999999999 is outside"),
    "empty required cell": (_set(1, "device", ""), r":2: device: empty"),
    "bad time": (_set(1, "created_at", "2026-11-26T03:29:05+00"), r":2: created_at: "),
    "schema version 2": (_set(1, "schema_version", "2"), r":2: schema_version: '2' is not 1"),
    "wrong header": (lambda rows: _text([[c if c != "score" else "Score" for c in rows[0]], *rows[1:3]]),
                     r":1: header is not schema v1: missing 1 column\(s\) \(score\), unexpected 1 column\(s\) \(Score\)"),
    "reordered header": (lambda rows: _text([rows[0][1:2] + rows[0][:1] + rows[0][2:], *rows[1:2]]), r":1: header has the schema v1 columns in another order"),
    "blank line": (lambda rows: _text(rows[:2]) + "\n" + _text(rows[2:3]), r":3: blank line"),
    "empty file": (lambda rows: "", r":1: empty file"),
}


def test_the_published_results_are_valid(capsys):
    assert main(["validate", str(RESULTS)]) == 0
    rows = len(_rows()) - 1
    assert capsys.readouterr().out == f"{RESULTS}: {rows} rows, OK\n"
    count("rows", rows)


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_each_kind_of_damage_is_named_with_its_line(tmp_path, capsys, damage):
    make, message = CORRUPTIONS[damage]
    path = tmp_path / "results.csv"
    path.write_text(make(_rows()))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and lines and all(line.startswith("prunebench: error: ") for line in lines)
    assert any(re.search(f"^prunebench: error: {path}{message}", line) for line in lines), captured.err
    assert lines[-1].startswith(f"prunebench: error: {path}: ") and "problem(s)" in lines[-1]
    count("inputs")


def test_a_report_lists_every_problem_and_says_how_many_more(tmp_path, capsys):
    rows = _rows()
    for row in rows[1:]:
        row[COLUMNS.index("seed")] = "-1"
    path = tmp_path / "results.csv"
    path.write_text(_text(rows))
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 11 and lines[0].endswith(":2: seed: -1 is negative") and lines[9].endswith(":11: seed: -1 is negative")
    assert lines[-1].endswith(f"{len(rows) - 1} problem(s) in {len(rows) - 1} rows ({len(rows) - 11} more not shown)")
    count("rows", len(rows) - 1)


@pytest.fixture
def runs(tmp_path):
    """A runs folder holding the published row files, and a previous merged CSV."""
    folder = tmp_path / "runs"
    published = ROOT / "results/v1/runs"
    # the git-ignored grids (smoke, cli) are not published rows
    shutil.copytree(published, folder, ignore=lambda d, names: {"smoke", "cli"} & set(names) if Path(d) == published else set())
    (tmp_path / "results.csv").write_text("previous\n")
    return folder


def test_a_merge_of_good_rows_is_valid(runs, tmp_path, capsys):
    assert main(["merge", str(runs), "--out", str(tmp_path / "results.csv")]) == 0
    assert (tmp_path / "results.csv").read_bytes() == RESULTS.read_bytes()
    assert main(["validate", str(tmp_path / "results.csv")]) == 0


@pytest.mark.parametrize("grid", ["smoke", "cli"])
def test_check_grids_never_reach_the_published_csv(runs, tmp_path, grid):
    """A smoke or ad-hoc row beside the published ones (here a copy, which would be a duplicate run) is left
    out of the runs folder's merge; merged by its own path it is still a results file."""
    row = next(runs.rglob("*.csv"))
    (runs / grid / "m").mkdir(parents=True)
    shutil.copy(row, runs / grid / "m" / row.name)
    assert main(["merge", str(runs), "--out", str(tmp_path / "results.csv")]) == 0
    assert (tmp_path / "results.csv").read_bytes() == RESULTS.read_bytes()
    assert main(["merge", str(runs / grid), "--out", str(tmp_path / "check.csv")]) == 0
    with open(tmp_path / "check.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 1


@pytest.mark.parametrize("case", ["another schema version", "a duplicate run", "a damaged row"])
def test_the_merge_refuses_and_keeps_the_previous_csv(runs, tmp_path, capsys, case):
    rows = _rows()
    if case == "another schema version":
        header = [*rows[0], "new_column"]
        row = [*rows[1], "x"]
        row[0] = "2"
        (runs / "v2.csv").write_text(_text([header, row]))
        message = r"v2\.csv:1: a schema v2 file; v1 results never mix with another version"
    elif case == "a duplicate run":
        shutil.copy(next(runs.rglob("s0.50-seed0.csv")), runs / "copy.csv")
        message = r"run [0-9a-f]{16} is in both .* and .*; remove one"
    else:
        row = rows[1]
        row[COLUMNS.index("achieved_sparsity")] = "nan"
        (runs / "bad.csv").write_text(_text([rows[0], row]))
        message = r"bad\.csv:2: achieved_sparsity: 'nan' is not a finite number; nothing was merged"
    assert main(["merge", str(runs), "--out", str(tmp_path / "results.csv")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert (tmp_path / "results.csv").read_text() == "previous\n"
    count("inputs")

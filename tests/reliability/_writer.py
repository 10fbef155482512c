"""Worker processes for the concurrency test, started as scripts (one interpreter each, like workflow jobs).

    python _writer.py write RUNS WRITER ROWS   # ROWS row files of its own + one shared file rewritten each time
    python _writer.py merge RUNS OUT STOPFILE  # merge RUNS into OUT, check OUT, again, until STOPFILE exists

Rows are copies of the committed results with their own run_id and config_hash, and `method_params` padded
to a random length (up to ~64 KB), so that a row seen half-written could not pass as a whole one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from prunebench.benchmarks.merge import merge, run_files_under  # noqa: E402
from prunebench.benchmarks.records import COLUMNS, ResultRecord, write_record  # noqa: E402
from prunebench.benchmarks.validate_results import TYPES, _parse, validate_results  # noqa: E402


def base_rows() -> list[dict]:
    with open(ROOT / "results/v1/results.csv", newline="") as f:
        return [{c: _parse(row[c], *TYPES[c]) for c in COLUMNS} for row in csv.DictReader(f)]


def record(base: dict, key: str, rng: random.Random) -> ResultRecord:
    digest = hashlib.sha256(key.encode()).hexdigest()
    params = json.loads(base["method_params"])
    params["_pad"] = "x" * rng.randrange(0, 1 << 16)
    return ResultRecord(**{**base, "run_id": digest[:16], "config_hash": digest,
                           "method_params": json.dumps(params, sort_keys=True, separators=(",", ":"))})


def write(runs: Path, writer: int, rows: int) -> None:
    rng, bases = random.Random(writer), base_rows()
    for i in range(rows):
        write_record(runs / f"w{writer}" / f"r{i}.csv", record(bases[i % len(bases)], f"{writer}-{i}", rng))
        write_record(runs / "shared" / "hot.csv", record(bases[(i + writer) % len(bases)], f"hot-{writer}-{i}", rng))
        time.sleep(0.005)  # as jobs finish at different times; also lets several merges run meanwhile


def merge_until(runs: Path, out: Path, stop: Path) -> None:
    merges = rows = 0
    while not stop.exists():
        if runs.is_dir():
            merge(run_files_under(runs), out)
            report = validate_results(out)
            if report.problems:
                raise SystemExit(f"merged CSV invalid after {merges} merges: {report.problems[0]}")
            merges, rows = merges + 1, rows + len(report.rows)
        time.sleep(0.01)
    print(json.dumps({"merges": merges, "rows": rows}))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "write":
        write(Path(args[0]), int(args[1]), int(args[2]))
    elif command == "merge":
        merge_until(Path(args[0]), Path(args[1]), Path(args[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")

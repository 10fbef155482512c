"""Rows per GPU-minute of each device call, from its queue log and its wall time.

    python scripts/call_rates.py results/v2/calls      # prints the markdown table results/v2/README.md shows

`calls.csv` in the folder holds what the device tool reported per call (wall seconds, machine, GPUs); a call's
rows are the `ok` lines of its `call<N>-phase.log` whose path is a result row (under runs/ or sweeps/), so a row
made and later withdrawn still counts as GPU work done. Rate = rows x 60 / (wall seconds x GPUs).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROW = re.compile(r"^ok\s+\d+s\s+\S+/(runs|sweeps)/\S+\.csv")


def call_rates(folder: Path) -> pd.DataFrame:
    """calls.csv joined with each call's row count and rate; raises FileNotFoundError naming a missing log."""
    calls = pd.read_csv(folder / "calls.csv")
    counts = []
    for call in calls["call"]:
        log = folder / f"call{call}-phase.log"
        if not log.is_file():
            raise FileNotFoundError(f"{log}: no queue log for call {call} of {folder / 'calls.csv'}")
        counts.append(sum(bool(ROW.match(line)) for line in log.read_text().splitlines()))
    calls["rows"] = counts
    calls["rows_per_gpu_minute"] = calls["rows"] * 60 / (calls["wall_s"] * calls["gpus"])
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder of calls.csv and the call<N>-phase.log queue logs")
    args = parser.parse_args(argv)
    try:
        calls = call_rates(args.folder)
    except (OSError, KeyError) as exc:
        print(f"call_rates: {exc}", file=sys.stderr)
        return 2
    print("| call | session | device | queue asked for | rows made | wall s | rows per GPU-minute |")
    print("|--:|--:|---|---|--:|--:|--:|")
    for c in calls.itertuples(index=False):
        print(f"| {c.call} | {c.session} | `{c.device}` | {c.what} | {c.rows} | {c.wall_s:.1f} | {c.rows_per_gpu_minute:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How far two runs of the same configs landed apart: row files matched by their path under two runs folders.

Written for `results/v1/archive/repeat-g1/` (28 configs that ran twice on two H200 machines): GPU training is
not bitwise reproducible, and how much a repeat moves a score is what tells a real gap from noise. Rows must
hold the same config (`config_hash`); a pair that does not is refused, never compared.

    python scripts/compare_runs.py results/v1/archive/repeat-g1 results/v1/runs/v1-minilm
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.benchmarks.merge import run_files_under  # noqa: E402
from prunebench.benchmarks.records import read_rows  # noqa: E402


def pairs(first: Path, second: Path) -> list[tuple[dict, dict]]:
    """(row in `first`, row of the same relative path in `second`) for every row file of `first`."""
    out = []
    for path in run_files_under(first):
        other = second / path.relative_to(first)
        if not other.is_file():
            raise UsageError(f"{other} does not exist: {path} has no repeat to compare with")
        (a,), (b,) = read_rows(path), read_rows(other)
        if a["config_hash"] != b["config_hash"]:
            raise UsageError(f"{path} and {other} hold different configs ({a['config_hash'][:12]} vs {b['config_hash'][:12]})")
        out.append((a, b))
    if not out:
        raise UsageError(f"no row files under {first}")
    return out


def summary(matched: list[tuple[dict, dict]]) -> list[str]:
    """Per task: how many pairs, how many identical, mean / median / largest |score difference|, and how far
    their dense checkpoints' scores were apart."""
    import numpy as np

    lines = []
    for task in sorted({a["task"] for a, _ in matched}):
        rows = [(a, b) for a, b in matched if a["task"] == task]
        diff = np.array([abs(float(a["score"]) - float(b["score"])) for a, b in rows])
        dense = max(abs(float(a["dense_score"]) - float(b["dense_score"])) for a, b in rows)
        lines.append(f"{task}: {len(rows)} pairs, {int((diff == 0).sum())} identical; |score difference| mean "
                     f"{diff.mean():.2f}, median {np.median(diff):.2f}, largest {diff.max():.2f}; dense scores "
                     f"apart by up to {dense:.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    try:
        for line in summary(pairs(args.first, args.second)):
            print(line)
    except UsageError as exc:
        print(f"compare_runs: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

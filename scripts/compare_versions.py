"""Which orderings of two methods, per task and sparsity, a later results version keeps, reverses or loses.

    python scripts/compare_versions.py results/v1/results.csv results/v2/results.csv \\
        --out results/v2/tables/v1-vs-v2.md

Every number comes from the two CSVs through `analysis/versions.py` (paired differences by seed, 95% bootstrap
intervals). Bad input (a missing or malformed CSV) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.labels import percent, task_label  # noqa: E402
from prunebench.analysis.results import ResultsError, load_results  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402
from prunebench.analysis.versions import STATUSES, compare_versions  # noqa: E402



def difference(row, which: str) -> str:
    return f"{row[f'diff_{which}']:+.2f} [{row[f'low_{which}']:+.2f}, {row[f'high_{which}']:+.2f}]"


def pairs_table(pairs, status: str, old: str, new: str) -> Table:
    rows = [[task_label(r.task), r.regime, f"{percent(r.target_sparsity)}%", f"{r.a} − {r.b}",
             difference(r._asdict(), "old"), difference(r._asdict(), "new")]
            for r in pairs[pairs["status"] == status].itertuples(index=False)]
    return Table(["Task", "Regime", "Sparsity", "Pair (A − B)", f"{old}: A − B [95%]", f"{new}: A − B [95%]"], rows,
                 caption=f"Pairs {status}. Score points, seed mean of the paired difference with its interval.",
                 label=f"tab:versions-{status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the earlier version's merged results CSV")
    parser.add_argument("new", type=Path, help="the later version's merged results CSV")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    try:
        old, new = load_results(args.old), load_results(args.new)
    except (OSError, ResultsError) as exc:
        print(f"compare_versions: {exc}", file=sys.stderr)
        return 2
    names = [p.parent.name for p in (args.old, args.new)]  # results/v1/results.csv -> v1
    pairs = compare_versions(old, new)
    counts = pairs["status"].value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    intro = (f"Each pair of pruning methods measured in both {names[0]} and {names[1]} on the same cell (model, task, "
             f"regime, sparsity), with at least three seeds paired in each: A is ahead of B in a version when the 95% "
             f"interval of A − B (seed by seed) lies above zero. Kept: the same ordering in both; reversed: opposite "
             f"orderings; lost: resolved in {names[0]} only; new: in {names[1]} only; open: in neither. Methods are "
             f"compared by name; {names[1]} may run them with other recipes.\n\n{len(pairs)} pairs: {summary}.")
    sections = [to_markdown(pairs_table(pairs, s, *names), heading="##") if (pairs["status"] == s).any()
                else f"## Pairs {s}\n\nNone.\n" for s in ("reversed", "lost", "new")]
    write_script_markdown("scripts/compare_versions.py", argv if argv is not None else sys.argv[1:],
                          f"{args.old} and {args.new}", f"{names[0]} against {names[1]}: orderings of methods",
                          intro + "\n\n" + "\n".join(sections), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

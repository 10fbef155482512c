"""Write the gap-to-dense tables of some methods at some sparsities, one per task, and the best method at each.

    python scripts/gap_table.py results/v2/results.csv --tasks sst2,mrpc,stsb --sparsities 0.5,0.7,0.8,0.9 \\
        --methods 'obert,sparsegpt,sparsegpt-2of4,distillation(base=obert),distillation(base=sparsegpt),gradual-magnitude-global,soft-movement,magnitude-global' \\
        --out results/v2/tables/second-order.md

Every number is computed from the CSV by `analysis/gaps.py` (seed means, 95% bootstrap intervals over seeds,
gaps paired with each row's own dense checkpoint); a method or cell without rows prints "not run". Bad input
(a missing CSV, a method or task the CSV does not have) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.gaps import GOALS, best_at, cell_gaps, checkpoint_drift, gap_table  # noqa: E402
from prunebench.analysis.labels import percent  # noqa: E402
from prunebench.analysis.results import DENSE, ResultsError, check_method_names, load_results  # noqa: E402
from prunebench.analysis.tables import to_markdown, write_script_markdown  # noqa: E402


def summary(gaps, sparsities: list[float], asked: int) -> list[str]:
    """One line per task and sparsity with a goal: the best method among those of the `asked` with three seeds,
    its gap with interval, ties, the goal."""
    lines = []
    for s in [s for s in sparsities if s in GOALS]:
        best = best_at(gaps, s)
        for b in best.itertuples(index=False):
            tied = f"; tied with {b.tied}" if b.tied else ""
            verdict = "meets" if b.meets_goal else "misses"
            among = "" if b.ranked == asked else f" (of the {b.ranked} of {asked} methods with three seeds)"
            lines.append(f"- {b.task} at {percent(s)}%: best {b.method}{among} {b.score:.2f}, gap {b.gap:+.2f} "
                         f"[{b.gap_low:+.2f}, {b.gap_high:+.2f}]{tied}; {verdict} the goal of {b.goal:g} point(s)")
    return lines or ["- no cell has three seeds yet"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a merged results CSV (prunebench merge)")
    parser.add_argument("--methods", required=True, help="comma-separated, in table order")
    parser.add_argument("--tasks", required=True, help="comma-separated")
    parser.add_argument("--sparsities", default="0.5,0.7,0.8,0.9", help="comma-separated (default 0.5,0.7,0.8,0.9)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    try:
        df = load_results(args.results)
    except (OSError, ResultsError) as exc:
        print(f"gap_table: {exc}", file=sys.stderr)
        return 2
    methods, tasks = args.methods.split(","), args.tasks.split(",")
    try:
        sparsities = [round(float(s), 2) for s in args.sparsities.split(",")]
    except ValueError:
        print(f"gap_table: --sparsities {args.sparsities}: give numbers such as 0.5,0.8", file=sys.stderr)
        return 2
    try:
        check_method_names(methods, df, args.results)
    except ResultsError as exc:
        print(f"gap_table: {exc}", file=sys.stderr)
        return 2
    if unknown := sorted(set(tasks) - set(df["task"])):
        print(f"gap_table: --tasks {','.join(unknown)}: no rows in {args.results}; it has {', '.join(sorted(set(df['task'])))}",
              file=sys.stderr)
        return 2
    df = df[df["task"].isin(tasks)]
    gaps = cell_gaps(df, methods, sparsities)
    dense = df[df["method"] == DENSE]
    keys = sorted({tuple(k) for k in df[["model", "task", "regime"]].itertuples(index=False, name=None)},
                  key=lambda k: (k[0], tasks.index(k[1]), k[2]))
    drift = checkpoint_drift(df[df["method"].isin([DENSE, *methods])])
    sections = []
    for key in keys:
        table = gap_table(gaps, dense, *key, methods, sparsities)
        mine = drift[(drift["model"] == key[0]) & (drift["task"] == key[1]) & (drift["regime"] == key[2])]
        if len(mine):
            low, high = int(mine["checkpoints"].min()), int(mine["checkpoints"].max())
            table.notes.append(f"These rows started from {low if low == high else f'{low}-{high}'} "
                               f"dense checkpoint(s) per seed (re-made in each device call); their scores are up to "
                               f"{mine['drift'].max():.2f} points from the dense row of the same seed.")
        sections.append(to_markdown(table, heading="##"))
    intro = ("Each method against the dense model it was pruned from, per task; goals (not gates): within 1 point of "
             "dense at 80% sparsity, within 3 at 90%. Best: the highest seed mean among this file's methods with three "
             "seeds; tied: methods whose score interval overlaps the best one's. With three seeds a 95% percentile "
             "bootstrap interval is the range of the seeds (each extreme is a resample's mean with probability 1/27, "
             "more than 2.5%): read the intervals as that range.\n\n" + "\n".join(summary(gaps, sparsities, len(methods))))
    write_script_markdown("scripts/gap_table.py", argv if argv is not None else sys.argv[1:], str(args.results),
                          "Gap to dense", intro + "\n\n" + "\n".join(sections), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

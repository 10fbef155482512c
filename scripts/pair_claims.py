"""Method A against method B on every cell both were measured on: the paired difference of their gaps to dense.

    python scripts/pair_claims.py results/v2/results.csv \\
        --pairs magnitude-global:magnitude-layerwise,snip:magnitude-pretrained --out results/v2/tables/claims.md

Each pair is one table (a row per task, a column per sparsity): A − B, seed mean with its 95% interval, and ">"
where A is above B (interval above zero), "<" where below, "~" where undecided; the line above the table counts
them. The numbers come from the CSV through `analysis/claims.py`. Bad input (a missing or malformed CSV, a pair
not written A:B, a method with no rows) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.claims import paired_claim, tally  # noqa: E402
from prunebench.analysis.labels import percent, task_label  # noqa: E402
from prunebench.analysis.results import ResultsError, load_results  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402


def pair_table(claim, a: str, b: str) -> Table:
    sparsities = sorted(claim["target_sparsity"].unique())
    rows = []
    for (task, regime), group in claim.groupby(["task", "regime"], sort=False):
        by_s = {r.target_sparsity: r for r in group.itertuples(index=False)}
        rows.append([task_label(task), regime] + [
            f"{by_s[s].diff:+.2f} [{by_s[s].low:+.2f}, {by_s[s].high:+.2f}] {by_s[s].verdict}" if s in by_s else "—"
            for s in sparsities])
    counts = tally(claim)
    caption = (f"{a} − {b}. Gap to dense of {a} minus that of {b}, score points, seed mean [95% interval]; "
               f"{a} above {b} in {counts['>']} cells (>), below in {counts['<']} (<), undecided in {counts['~']} (~).")
    return Table(["Task", "Regime", *[f"{percent(s)}%" for s in sparsities]], rows, caption=caption,
                 label=f"tab:claim-{a}-{b}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a merged results CSV (prunebench merge)")
    parser.add_argument("--pairs", required=True, help="comma-separated A:B method pairs, e.g. snip:random")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    pairs = [p.split(":") for p in args.pairs.split(",")]
    bad = [":".join(p) for p in pairs if len(p) != 2 or not all(p) or p[0] == p[1]]
    if bad:
        print(f"pair_claims: --pairs {', '.join(bad)}: write each pair as A:B, two different methods", file=sys.stderr)
        return 2
    try:
        df = load_results(args.results)
        claims = [(a, b, paired_claim(df, a, b)) for a, b in pairs]
    except (OSError, ResultsError, ValueError) as exc:
        print(f"pair_claims: {exc}", file=sys.stderr)
        return 2
    intro = ("Each cell pairs the two methods' rows seed by seed (rows of one seed start from that seed's dense "
             "checkpoint; each row's gap to the checkpoint it started from is compared, so checkpoints re-made in "
             "different device calls do not enter the difference). Only cells where both methods have three seeds "
             "are shown; with three seeds the 95% bootstrap interval is the range of the seeds' differences.")
    sections = [to_markdown(pair_table(claim, a, b), heading="##") if len(claim)
                else f"## {a} − {b}\n\nNo cell has three paired seeds of both yet.\n" for a, b, claim in claims]
    write_script_markdown("scripts/pair_claims.py", argv if argv is not None else sys.argv[1:], str(args.results),
                          "Method against method, cell by cell", intro + "\n\n" + "\n".join(sections), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

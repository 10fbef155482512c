"""List the cells of a results CSV that score at chance level, and whether their seeds predict a constant.

    python scripts/chance_audit.py results/v2/results.csv --out results/v2/tables/near-chance.md

Every number comes from the CSV through `analysis/near_chance.py` (seed means; chance levels from
`analysis/chance.py`); the explanations belong in the campaign's README, next to the diagnosis of each collapse.
Bad input (a missing or malformed CSV) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.labels import percent, task_label  # noqa: E402
from prunebench.analysis.near_chance import near_chance_cells  # noqa: E402
from prunebench.analysis.phases import MARGIN  # noqa: E402
from prunebench.analysis.results import ResultsError, load_results  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402


def audit_table(cells) -> Table:
    rows = [[task_label(c.task), c.regime, c.method, f"{percent(c.target_sparsity)}%", str(c.n),
             f"{c.score:.2f} [{c.score_min:.2f}, {c.score_max:.2f}]", f"{c.chance:.2f}", f"{c.dense:.2f}",
             f"{c.room:.2f}", f"{c.constant} of {c.n}"] for c in cells.itertuples(index=False)]
    return Table(["Task", "Regime", "Method", "Sparsity", "Seeds", "Score [min, max]", "Chance", "Dense", "Room",
                  "Constant seeds"], rows,
                 caption=f"Cells at most {MARGIN:g} points above chance (or below it). Score: seed mean [lowest, highest seed]; Dense: "
                         "seed mean of the dense checkpoints the rows started from; Room: Dense minus Chance; Constant "
                         "seeds: seeds whose score is exactly a constant prediction's (one class; MCC or correlation 0).",
                 label="tab:near-chance")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a merged results CSV (prunebench merge)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    try:
        df = load_results(args.results)
    except (OSError, ResultsError) as exc:
        print(f"chance_audit: {exc}", file=sys.stderr)
        return 2
    cells = near_chance_cells(df)
    per_task = cells.groupby("task").agg(cells=("n", "size"), constant=("constant", lambda c: int((c > 0).sum())))
    summary = "\n".join(f"- {task_label(t)}: {r.cells} cell(s) near chance, {r.constant} with a seed that predicts "
                        f"a constant" for t, r in per_task.iterrows()) or "- no cell is near chance"
    body = (f"{len(cells)} of the pruned cells of `{args.results}` score at most {MARGIN:g} points above their "
            "task's chance level (the best constant prediction), or below it. A seed that scores exactly a constant prediction has "
            "collapsed to it; a cell near chance with no such seed sits where the task leaves little room between a "
            "constant and the dense model (Room).\n\n" + summary + "\n\n" + to_markdown(audit_table(cells), heading="##"))
    write_script_markdown("scripts/chance_audit.py", argv if argv is not None else sys.argv[1:], str(args.results),
                          "Cells at chance level", body, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

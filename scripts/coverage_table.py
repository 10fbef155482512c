"""Which rows of a campaign's grid exist, per method and task: what a reader checks before trusting a table.

    python scripts/coverage_table.py config/v2-minilm.yaml results/v2/results.csv --out results/v2/tables/coverage.md

A row counts as present where the file the grid names for it exists (results/<version>/runs/...), exactly as
`run_grid.py --dry-run` and `snakemake -n` count; `prunebench merge` builds the results CSV from those files, and
the table says so if the CSV's row count differs from theirs. Bad input (a config that does not check, a missing
CSV) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.labels import task_label  # noqa: E402
from prunebench.analysis.results import ResultsError, load_results  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402
from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.benchmarks.grid import GridRun, runs  # noqa: E402
from prunebench.benchmarks.workflow_config import check_config, load_yaml  # noqa: E402


def coverage(grid: list[GridRun], root: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(method label, task) -> (rows present, rows in the grid), in the grid's order."""
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for run in grid:
        present, total = cells.get((run.method, run.task), (0, 0))
        cells[(run.method, run.task)] = (present + (root / run.path).is_file(), total + 1)
    return cells


def coverage_table(cells: dict[tuple[str, str], tuple[int, int]], tasks: list[str]) -> Table:
    methods = list(dict.fromkeys(method for method, _ in cells))
    rows = []
    for method in methods:
        counts = [cells.get((method, task)) for task in tasks]
        present = sum(c[0] for c in counts if c)
        total = sum(c[1] for c in counts if c)
        rows.append([method, *(f"{c[0]}/{c[1]}" if c else "-" for c in counts), f"{present}/{total}"])
    return Table(["Method", *map(task_label, tasks), "All"], rows,
                 caption="Rows per method and task. Each cell: rows present / rows the grid asks for (every sparsity "
                         "and seed of the cell); '-': the grid has no cell of that method on that task.", label="tab:coverage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the campaign's workflow config, e.g. config/v2-minilm.yaml")
    parser.add_argument("results", type=Path, help="its merged results CSV (prunebench merge)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="folder that holds results/<version>/runs/ (default: the working directory, as the workflow's)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"coverage_table: --root {args.root}: no such folder (the one that holds results/<version>/runs/)", file=sys.stderr)
        return 2
    try:
        config = check_config(load_yaml(args.config))
        merged = len(load_results(args.results))
    except (OSError, UsageError, ResultsError) as exc:
        print(f"coverage_table: {exc}", file=sys.stderr)
        return 2
    grid = runs(config)
    cells = coverage(grid, args.root)
    present = sum(p for p, _ in cells.values())
    complete = sum(p == t for p, t in cells.values())
    body = (f"{present} of the {len(grid)} rows of `{args.config}` are present ({len(grid) - present} pending); "
            f"{complete} of its {len(cells)} (method, task) cells have every row.\n\n")
    if merged != present:
        body += (f"**`{args.results}` holds {merged} rows, not {present}**: merge the rows again "
                 f"(`prunebench merge`), or the CSV holds rows the grid does not ask for.\n\n")
    body += to_markdown(coverage_table(cells, list(config["tasks"])), heading="##")
    write_script_markdown("scripts/coverage_table.py", argv if argv is not None else sys.argv[1:], str(args.results),
                          "Grid coverage", body, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pick each task's recipe from a sweep's rows, print the table and the config lines, or check a config.

    python scripts/select_recipe.py results/v1/sweeps/sweep-dense                       # table + task_train
    python scripts/select_recipe.py results/v1/sweeps/sweep-dense --table results/v1/tables/recipes-dense.md
    python scripts/select_recipe.py results/v1/sweeps/sweep-dense --check config/v1-minilm.yaml

``--check`` exits 1 when the config's recipe of a swept task differs from the sweep's choice, so a committed
config cannot drift from the committed sweep rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.recipes import choose, load_sweep, markdown  # noqa: E402
from prunebench.benchmarks.grid import task_recipe  # noqa: E402
from prunebench.benchmarks.records import write_atomic  # noqa: E402
from prunebench.benchmarks.workflow_config import load_yaml  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="results/v1/sweeps/<tag>")
    parser.add_argument("--table", type=Path, help="also write the markdown table here")
    parser.add_argument("--check", type=Path, help="a grid config whose recipes must equal the choice")
    args = parser.parse_args()
    df, swept = load_sweep(args.sweep)
    chosen = choose(df, swept)
    table = markdown(df, chosen)
    if args.table:
        write_atomic(args.table, f"Seed-0 validation scores of every recipe of `{args.sweep}`; the chosen one in bold.\n\n" + table)
    if args.check:
        config = load_yaml(args.check)
        wrong = []
        for row in chosen.to_dict("records"):
            if row["task"] not in config["tasks"] or not row["decides"]:
                continue
            recipe = task_recipe(config, row["task"])
            for field in swept:
                if field not in recipe or float(recipe[field]) != float(row[f"train.{field}"]):
                    wrong.append(f"{row['task']}: {field}={recipe.get(field)!r}, the sweep chose {row[f'train.{field}']}")
        for line in wrong:
            print(f"{args.check}: {line}", file=sys.stderr)
        return 1 if wrong else 0
    print(table)
    print("task_train:")
    for row in chosen[chosen["decides"]].to_dict("records"):
        fields = ", ".join(f"{f}: {row[f'train.{f}']}" for f in swept)
        print(f"  {row['task']}: {{{fields}}}  # {row['method']} s{row['target_sparsity']:.2f}: {row['score']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

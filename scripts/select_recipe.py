"""Pick each task's recipe (or each method's parameters) from a sweep's rows, print the table and the config lines, or check a config.

    python scripts/select_recipe.py results/v1/sweeps/sweep-dense                       # table + task_train
    python scripts/select_recipe.py results/v1/sweeps/sweep-dense --table results/v1/tables/recipes-dense.md
    python scripts/select_recipe.py results/v1/sweeps/sweep-dense --check config/v1-minilm.yaml
    python scripts/select_recipe.py results/v2/sweeps/sweep-methods --untuned results/v1/results.csv   # + tuning effect

``--check`` exits 1 when the config's recipe of a swept task, or a swept parameter of a method it runs (under
``methods.<name>.params``), differs from the sweep's choice, so a committed config cannot drift from the
committed sweep rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.recipes import (  # noqa: E402
    choose, choose_params, config_mismatches, load_sweep, markdown, params_markdown, swept_params, tuning_effect,
    tuning_markdown)
from prunebench.benchmarks.records import write_atomic  # noqa: E402
from prunebench.benchmarks.workflow_config import load_yaml  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="results/v1/sweeps/<tag>")
    parser.add_argument("--table", type=Path, help="also write the markdown table here")
    parser.add_argument("--check", type=Path, help="a grid config whose recipes must equal the choice")
    parser.add_argument("--untuned", type=Path,
                        help="results CSV of a campaign that ran the methods' defaults (e.g. results/v1/results.csv): "
                             "the table also says how much tuning moved each method against its row there")
    args = parser.parse_args()
    if args.untuned is not None and not args.untuned.is_file():  # one line before any table is computed or written
        parser.error(f"--untuned {args.untuned}: no such file")
    if args.check is not None and not args.check.is_file():
        parser.error(f"--check {args.check}: no such file")
    if not args.sweep.is_dir():
        parser.error(f"{args.sweep}: no such sweep folder (results/<version>/sweeps/<tag>)")
    try:
        df, swept = load_sweep(args.sweep)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    per_method = swept_params(df)
    chosen, chosen_params = choose(df, swept), choose_params(df, per_method)
    tables = []
    if swept or not per_method:
        tables.append(markdown(df, chosen))
    if per_method:
        tables.append(params_markdown(df, chosen_params))
        untuned = pd.read_csv(args.untuned) if args.untuned else None
        tables.append("How much the choice moved each score (seed 0; the default setting is the method's own "
                      f"defaults):\n\n{tuning_markdown(tuning_effect(df, chosen_params, untuned), 'untuned')}")
    table = "\n".join(tables)
    caption = f"Seed-0 validation scores of every recipe of `{args.sweep}`; the chosen one in bold.\n\n"
    if args.table:
        write_atomic(args.table, caption + table)
    if args.check:
        wrong = config_mismatches(load_yaml(args.check), chosen, swept, chosen_params)
        for line in wrong:
            print(f"{args.check}: {line}", file=sys.stderr)
        if not wrong:
            print(f"{args.check}: every swept recipe and parameter is the choice of {args.sweep}")
        return 1 if wrong else 0
    print(caption + table)
    if swept:
        print("task_train:")
        for row in chosen[chosen["decides"]].to_dict("records"):
            fields = ", ".join(f"{f}: {row[f'train.{f}']}" for f in swept)
            print(f"  {row['task']}: {{{fields}}}  # {row['method']} s{row['target_sparsity']:.2f}: {row['score']:.2f}")
    if per_method:
        print("methods:")
        for row in chosen_params.to_dict("records"):
            values = ", ".join(f"{k}: {v}" for k, v in row["params"].items())
            print(f"  {row['method']}:\n    params: {{{values}}}  # s{row['target_sparsity']:.2f}, mean of {row['tasks']}: "
                  f"{row['score']:.2f}{'' if row['decides'] else ' (every setting scored the same)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

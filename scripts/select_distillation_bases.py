"""Which weight-pruning methods distillation goes on top of, per task: the best two at 80 and 90% (issue 23).

    python scripts/select_distillation_bases.py config/v2-minilm.yaml results/v2/results.csv           # the choice
    python scripts/select_distillation_bases.py config/v2-minilm.yaml results/v2/results.csv --check   # and the config

Candidates are the config's unstructured methods (registry kind ``unstructured``) but ``random``, the floor every
method is measured against. A candidate's figure on a task is the mean, over the 80% and 90% cells, of its seed
means; a task is decided only once every candidate has both cells with every seed the config lists, so a choice
never rests on a partial grid. Chosen on the validation split that the tables also report (GLUE's test labels
are not public), like every recipe of the campaign; results/v2/README.md says what that means for reading them.

With ``--check``, every decided task must have a ``distillation@<label>`` entry of the config whose ``base`` is each
chosen method, on that task, at every chosen sparsity; other distillation entries are allowed (SST-2's on SparseGPT
came from issue 21). Exit 1 names the first missing entry; bad input is one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.results import ResultsError, load_results  # noqa: E402
from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.benchmarks.grid import registry_name  # noqa: E402
from prunebench.benchmarks.workflow_config import check_config, load_yaml  # noqa: E402
from prunebench.methods import registry  # noqa: E402

SPARSITIES = (0.8, 0.9)
FLOOR = "random"


@dataclass
class Choice:
    task: str
    ranked: list[tuple[str, float]] = field(default_factory=list)  # (method, figure), best first, candidates complete
    missing: list[str] = field(default_factory=list)  # "method at 80%: 1 of 3 seeds", where a cell is incomplete

    def best(self, top: int) -> list[str]:
        return [] if self.missing else [method for method, _ in self.ranked[:top]]


def candidates(config: dict) -> list[str]:
    """The config's plain (unlabelled) unstructured methods but the random floor, in the config's order."""
    return [m for m in config["methods"] if "@" not in m and m != FLOOR and registry.get(m).kind == "unstructured"]


def choose(df: pd.DataFrame, config: dict, sparsities: tuple[float, ...] = SPARSITIES) -> list[Choice]:
    seeds = set(config["seeds"])
    choices = []
    for task in config["tasks"]:
        methods = [m for m in candidates(config) if task in config["methods"][m].get("tasks", config["tasks"])]
        if not methods:
            continue
        choice = Choice(task)
        for method in methods:
            rows = df[(df["task"] == task) & (df["method"] == method)]
            means = []
            for s in sparsities:
                cell = rows[((rows["target_sparsity"] - s).abs() < 1e-9) & rows["seed"].isin(seeds)]
                if set(cell["seed"]) != seeds:
                    choice.missing.append(f"{method} at {s:.0%}: {cell['seed'].nunique()} of {len(seeds)} seeds")
                means.append(cell.groupby("seed")["score"].mean().mean())  # the mean of the seed means
            if not choice.missing:
                choice.ranked.append((method, sum(means) / len(means)))
        choice.ranked.sort(key=lambda pair: -pair[1])
        choices.append(choice)
    return choices


def unmet(choices: list[Choice], config: dict, top: int, sparsities: tuple[float, ...] = SPARSITIES) -> list[str]:
    """The distillation entries the decided tasks lack: 'task: distillation on <method> at 80%'."""
    gaps = []
    variants = {label: spec for label, spec in config["methods"].items() if registry_name(label) == "distillation"}
    for choice in choices:
        for method in choice.best(top):
            for s in sparsities:
                if not any(spec.get("params", {}).get("base") == method
                           and choice.task in spec.get("tasks", config["tasks"])
                           and any(abs(float(x) - s) < 1e-9 for x in spec["sparsities"])
                           for spec in variants.values()):
                    gaps.append(f"{choice.task}: distillation on {method} at {s:.0%}")
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the campaign's workflow config")
    parser.add_argument("results", type=Path, help="its merged results CSV")
    parser.add_argument("--top", type=int, default=2, help="how many methods per task (default 2)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a decided task lacks its distillation entries")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error(f"--top must be >= 1, got {args.top}")
    try:
        config = check_config(load_yaml(args.config))
        df = load_results(args.results)
    except (OSError, UsageError, ResultsError) as exc:
        print(f"select_distillation_bases: {exc}", file=sys.stderr)
        return 2
    choices = choose(df, config)
    for choice in choices:
        if choice.missing:
            print(f"{choice.task}: pending, {len(choice.missing)} cell(s) incomplete (e.g. {choice.missing[0]})")
        else:
            ranked = ", ".join(f"{m} {v:.2f}" for m, v in choice.ranked)
            print(f"{choice.task}: {' + '.join(choice.best(args.top))} (mean of the 80% and 90% seed means: {ranked})")
    gaps = unmet(choices, config, args.top)
    if args.check and gaps:
        print(f"select_distillation_bases: {args.config} lacks {gaps[0]}" + (f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else ""),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

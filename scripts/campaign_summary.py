"""Per task, what a campaign answers to issue 23's questions, every figure computed from the CSVs: the digest a
closing note or the paper quotes instead of copying numbers by hand.

    python scripts/campaign_summary.py results/v2/results.csv --old results/v1/results.csv \\
        --methods 'magnitude-global,magnitude-layerwise,...' --knee-rule kneedle-past-safe-zone \\
        --out results/v2/tables/summary.md

One section per (model, task, regime), in GLUE order, each line computed by the module named here:

- dense: seed mean ± sample std (`results.dense_baselines`), and the published dev scores of MiniLM 6x384 and
  DistilBERT where the regime is the task's own (`reference.published_score`);
- the best of `--methods` at 80% and 90% sparsity among those with three seeds, its gap to dense with the 95%
  interval, the methods it cannot be told apart from, and the goal (`gaps.best_at`, `gaps.GOALS`); "so far" while
  some of the methods that `--config`'s grid asks for on that task and sparsity lack three seeds (without
  `--config`, every one of `--methods` counts on every task);
- where the three phases fall (`phases.detect` with `--knee-rule`) for the `--phase-methods` curves, and for seed
  003's reported curve of the same task under the same rules (cited numbers: DistilBERT, full data);
- each `--pairs` A:B (global against layer-wise magnitude; prune-at-start methods against magnitude-pretrained):
  cells where A's gap to dense is above B's, below, undecided (`claims.paired_claim`);
- the orderings of two methods that `--old` resolved one way and this CSV the other way, and how many it keeps
  (`versions.compare_versions`).

Bad input (a missing or malformed CSV, a method neither registered nor in the CSV, a pair not written A:B, an
unknown knee rule) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.claims import paired_claim, tally  # noqa: E402
from prunebench.analysis.comparison import task_order  # noqa: E402
from prunebench.analysis.curves import build_curves, reference_curves  # noqa: E402
from prunebench.analysis.gaps import GOALS, best_at, cell_gaps  # noqa: E402
from prunebench.analysis.labels import percent  # noqa: E402
from prunebench.analysis.chance import chance_score  # noqa: E402
from prunebench.analysis.phases import KNEE_RULES, MARGIN  # noqa: E402
from prunebench.analysis.reference import (PUBLISHED_MODELS, REFERENCE_LABEL, REFERENCE_REGIME,  # noqa: E402
                                           load_published, load_reported, published_score)
from prunebench.benchmarks.atomic import check_target  # noqa: E402
from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.analysis.results import DENSE, ResultsError, check_method_names, dense_baselines, load_results  # noqa: E402
from prunebench.analysis.tables import sparsity_text, write_script_markdown  # noqa: E402
from prunebench.analysis.versions import STATUSES, compare_versions  # noqa: E402

KEY = ["model", "task", "regime"]
PAIRS = ("magnitude-global:magnitude-layerwise,gradual-magnitude-global:gradual-magnitude-layerwise,"
         "snip:magnitude-pretrained,grasp:magnitude-pretrained,lottery-ticket:magnitude-pretrained")
PHASE_METHODS = "magnitude-layerwise,magnitude-global"


def of(frame: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """The rows of one (model, task, regime)."""
    return frame[(frame[KEY] == pd.Series(key, index=KEY)).all(axis=1)] if len(frame) else frame


def curve_text(curve) -> str:
    """A curve's three phases (``phases.detect``) and the points they were read from."""
    p = curve.phases()
    over = sparsity_text(p.over_start) + (f" ({p.over_rule})" if p.over_rule else "")
    return (f"safe zone ends {sparsity_text(p.safe_end)}, knee {sparsity_text(p.knee)}, over-pruning starts {over} "
            f"({len(curve.sparsity)} points, {percent(curve.sparsity[0])}-{percent(curve.sparsity[-1])}%)")


def dense_line(dense, chance: float, published: pd.DataFrame) -> str:
    """The dense seed mean ± sample std, the best constant prediction's score (``chance.chance_score``) and the
    published dev scores where the regime is the task's own."""
    spread = f" ± {dense.std:.2f}" if dense.n > 1 else ""
    cited = "; ".join(f"{label.split(',')[0]} {published_score(published, model, dense.task, dense.regime)}"
                      for model, label in PUBLISHED_MODELS.items())
    return (f"- Dense: {dense.mean:.2f}{spread} over {dense.n} seed(s); chance (the best constant prediction) "
            f"{chance:.2f}, so {dense.mean - chance:.2f} points of room; published dev scores: {cited}.")


def asked_methods(config_path: Path, methods: list[str]) -> dict[tuple[str, str, float], set[str]]:
    """(model, task, sparsity) -> which of `methods` the config's grid runs there on three seeds or more (what a best
    is ranked among), under the names rows are shown
    by (``results.method_variants`` over the grid's runs with each method's full parameters, as rows record them:
    a config entry ``distillation@obert`` is shown as ``distillation(base=obert)``). Raises UsageError on a config
    that does not check."""
    import dataclasses
    import json

    from prunebench.analysis.results import method_variants
    from prunebench.benchmarks.grid import runs
    from prunebench.benchmarks.workflow_config import check_config, load_yaml
    from prunebench.methods.registry import get

    grid = [r for r in runs(check_config(load_yaml(config_path))) if r.method != DENSE]
    classes = {r.method: get(r.method.split("@")[0]) for r in grid}
    frame = pd.DataFrame({
        "method": [classes[r.method].name for r in grid],
        "method_params": [json.dumps(dataclasses.asdict(classes[r.method].parse_params(r.params))) for r in grid]})
    seeds: dict[tuple[str, str, float, str], set[int]] = {}
    for r, name in zip(grid, method_variants(frame)):
        if name in methods:
            seeds.setdefault((r.model, r.task, round(r.sparsity, 4), name), set()).add(r.seed)
    asked: dict[tuple[str, str, float], set[str]] = {}
    for (model, task, sparsity, name), ran in seeds.items():
        if len(ran) >= 3:  # a cell the grid runs on fewer seeds is never ranked (best_at's min_seeds), so never awaited
            asked.setdefault((model, task, sparsity), set()).add(name)
    return asked


def best_lines(bests: dict[float, pd.DataFrame], key: tuple, asked, chance: float) -> list[str]:
    """The best method at each goal sparsity (`bests`: sparsity -> ``gaps.best_at`` of every task): "so far" while
    some of the methods asked there (`asked(sparsity)`: which) lack three seeds, and flagged when its score is
    within ``phases.MARGIN`` points of chance."""
    lines = []
    for s, best in bests.items():
        mine = of(best, key)
        if mine.empty:
            lines.append(f"- Best at {percent(s)}%: no method has three seeds there yet.")
            continue
        b = mine.iloc[0]
        wanted, have = asked(s), set(b.ranked_methods)
        so_far = ("" if wanted <= have else
                  f" so far ({len(wanted & have)} of the {len(wanted)} methods asked there have three seeds)")
        tied = f"; score intervals overlapping its own: {b.tied}" if b.tied else ""
        near = f"; within {MARGIN:g} points of chance (tables/near-chance.md)" if b.score <= chance + MARGIN else ""
        verdict = "meets" if b.meets_goal else "misses"
        lines.append(f"- Best at {percent(s)}%{so_far}: {b.method} {b.score:.2f}, gap to dense {b.gap:+.2f} "
                     f"[{b.gap_low:+.2f}, {b.gap_high:+.2f}]{tied}{near}; {verdict} the goal of {b.goal:g} "
                     f"point{'' if b.goal == 1 else 's'}.")
    return lines


def phase_lines(curves: dict, reference: dict, key: tuple, methods: list[str]) -> list[str]:
    """Our curves' phases, then seed 003's curve of the task under the same rules, only in the regime its numbers
    belong to (``reference.REFERENCE_REGIME``: full data)."""
    model, task, regime = key
    lines = [f"- Phases of {m}: {curve_text(curves[(model, task, regime, m)])}." if (model, task, regime, m) in curves
             else f"- Phases of {m}: no curve yet." for m in methods]
    if regime == REFERENCE_REGIME:
        lines += [f"- Phases of {m.replace(f' [{REFERENCE_LABEL}]', '')} in seed 003 (its printed DistilBERT "
                  f"accuracies under the same rules; cited, not measured here): {curve_text(curve)}."
                  for (t, m), curve in sorted(reference.items()) if t == task]
    return lines


def claim_lines(claims: list, key: tuple) -> list[str]:
    """Per A:B pair (``claims.paired_claim``), the cells of this task where A's gap to dense is above B's."""
    lines = []
    for a, b, claim in claims:
        mine = of(claim, key)
        if mine.empty:
            lines.append(f"- {a} against {b}: no cell with three paired seeds yet.")
            continue
        counts = tally(mine)
        lines.append(f"- {a} against {b} (gap to dense, paired by seed): above in {counts['>']} cell(s), below in "
                     f"{counts['<']}, undecided in {counts['~']}.")
    return lines


def version_lines(pairs: pd.DataFrame, key: tuple, old: str, new: str) -> list[str]:
    """How the pairs of methods ordered in both versions fared (``versions.compare_versions``), reversals listed."""
    mine = of(pairs, key)
    if mine.empty:
        return [f"- Against {old}: no pair of methods with three seeds in both on this task."]
    counts = mine["status"].value_counts()
    statuses = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    lines = [f"- Against {old}: {len(mine)} pairs of methods with three seeds in both: {statuses} (lost: resolved in "
             f"{old} only; new: in {new} only; open: in neither)."]
    for r in mine[mine["status"] == "reversed"].itertuples(index=False):
        lines.append(f"  - reversed at {percent(r.target_sparsity)}%: {r.a} − {r.b} was {r.diff_old:+.2f} "
                     f"[{r.low_old:+.2f}, {r.high_old:+.2f}] in {old}, is {r.diff_new:+.2f} "
                     f"[{r.low_new:+.2f}, {r.high_new:+.2f}] in {new}.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the campaign's merged results CSV (prunebench merge)")
    parser.add_argument("--old", type=Path, required=True, help="the earlier version's merged results CSV")
    parser.add_argument("--methods", required=True, help="comma-separated methods ranked for the best at 80%% and 90%%")
    parser.add_argument("--pairs", default=PAIRS, help=f"comma-separated A:B method pairs (default {PAIRS})")
    parser.add_argument("--phase-methods", default=PHASE_METHODS,
                        help=f"comma-separated methods whose curves' phases are given (default {PHASE_METHODS})")
    parser.add_argument("--knee-rule", default="kneedle", help=f"one of {', '.join(KNEE_RULES)} (default kneedle; "
                        "give the config's knee_rule so the phases read as the phase table's)")
    parser.add_argument("--config", type=Path, default=None,
                        help="the campaign's grid config: which of --methods each task and sparsity asks for (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    if args.out is not None:
        try:
            check_target(args.out, "--out")
        except UsageError as exc:
            print(f"campaign_summary: {exc}", file=sys.stderr)
            return 2
    pairs = [p.split(":") for p in args.pairs.split(",")]
    if bad := [":".join(p) for p in pairs if len(p) != 2 or not all(p) or p[0] == p[1]]:
        print(f"campaign_summary: --pairs {', '.join(bad)}: write each pair as A:B, two different methods", file=sys.stderr)
        return 2
    if args.config is not None and not args.config.is_file():
        print(f"campaign_summary: --config {args.config}: no such file (the campaign's grid config)", file=sys.stderr)
        return 2
    if args.knee_rule not in KNEE_RULES:
        print(f"campaign_summary: --knee-rule {args.knee_rule}: choose one of {', '.join(KNEE_RULES)}", file=sys.stderr)
        return 2
    methods, phase_methods = args.methods.split(","), args.phase_methods.split(",")
    try:
        df, old = load_results(args.results), load_results(args.old)
        check_method_names(methods, df, args.results)
        check_method_names(phase_methods, df, args.results, flag="--phase-methods")
        check_method_names([m for p in pairs for m in p], df, args.results, flag="--pairs")
        claims = [(a, b, paired_claim(df, a, b)) for a, b in pairs]
        published = load_published()
        asked = asked_methods(args.config, methods) if args.config is not None else None
    except (OSError, ResultsError, ValueError, UsageError) as exc:
        print(f"campaign_summary: {exc}", file=sys.stderr)
        return 2
    names = [p.parent.name for p in (args.old, args.results)]  # results/v1/results.csv -> v1
    gaps = cell_gaps(df, methods, list(GOALS))
    bests = {s: best_at(gaps, s) for s in GOALS}
    curves = {(c.model, c.task, c.regime, c.method): c for c in build_curves(df, args.knee_rule)}
    reference = {(c.task, c.method): c for c in reference_curves(load_reported(), args.knee_rule)}
    versions = compare_versions(old, df)
    sections = []
    dense = dense_baselines(df)
    labels = df.drop_duplicates(KEY).set_index(KEY)
    for d in sorted(dense.itertuples(index=False), key=lambda d: (d.model, task_order(d.task), d.regime)):
        key = (d.model, d.task, d.regime)
        label = labels.loc[key]
        chance = chance_score(d.task, qqp_subset=bool(of(df, key)["qqp_subset"].iloc[0]))
        lines = [dense_line(d, chance, published)]
        if (of(df, key)["method"] == DENSE).all():
            lines.append(f"- No pruned rows in `{args.results}`: this task has dense rows only.")
        else:
            def asked_at(s: float, key=key) -> set[str]:
                return set(methods) if asked is None else asked.get((key[0], key[1], round(s, 4)), set())

            lines += [*best_lines(bests, key, asked_at, chance), *phase_lines(curves, reference, key, phase_methods),
                      *claim_lines(claims, key), *version_lines(versions, key, *names)]
        sections.append(f"## {label['model_label']}, {label['task_label']}, {label['regime_label']}\n\n" + "\n".join(lines) + "\n")
    intro = (f"Per task, from `{args.results}` (and `{args.old}` for the last lines): the dense model, the best "
             f"method at 80% and 90% with its gap to dense (goals, not gates: within {GOALS[0.8]:g} point at 80%, "
             f"{GOALS[0.9]:g} at 90%), where the three phases fall (knee rule `{args.knee_rule}`, as in the phase "
             "table), method against method, and the orderings the earlier version resolved otherwise. Intervals are "
             "95% percentile bootstrap over seeds; with three seeds, the range of the seeds. A best whose score interval "
             "overlaps another method's is not told apart from it here (unpaired, the cautious reading); the method "
             "against method lines pair the seeds and can order two such methods. A gap is paired with the dense "
             "checkpoint each row started from (checkpoints are re-made in each device call), so it need not equal the "
             "score minus the dense line's mean (tables/best.md gives each task's checkpoint drift). \"So far\": "
             "some of the methods asked at that sparsity lack three seeds, and the best is the best of those that have "
             "them. "
             "Seed 003's phases are shown in the full-data regime only, the one its numbers belong to.")
    write_script_markdown("scripts/campaign_summary.py", argv if argv is not None else sys.argv[1:],
                          f"{args.results} and {args.old}", "The campaign per task", intro + "\n\n" + "\n".join(sections),
                          args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

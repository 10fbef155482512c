"""Did a method's inner training leave the constant predictor's plateau? A table from the rows' sidecars.

LoRA-prune (LoRA first) scores near chance on CoLA and STS-B for some seeds and not others
(results/v2/diagnosis/lora-prune.md). The reading offered there: its LoRA phase can sit on the loss of a model
that predicts the same thing for every input, and a run that never leaves that plateau has nothing to prune
from. Sidecars from call 17 on keep the curves of a method's inner trainings (`inner_train_loss`), so the reading
can be checked on the rows themselves, against a number computed independently of any model: the training loss
of the best constant predictor, from the task's training labels alone (cross-entropy of the label frequencies,
i.e. their entropy in nats, for classification; the labels' variance for regression, whose loss is the MSE).

    python scripts/inner_phase_table.py results/v2/runs/v2-minilm/minilm-l6 --method lora-prune \\
        --out results/v2/tables/lora-prune-inner.md

One line per (task, seed): the inner phase is the same for every sparsity of a seed (it runs before pruning;
the script checks that the curves agree and says where they do not). "Left the plateau at" is the first logged
step whose loss is below `--below` (default 0.9) times the constant predictor's and stays below it for the rest of
the phase; "never" when no such step exists. Needs the GLUE files of the tasks (GLUE_DIR) for the labels.
Exit 2 with one line when the folder or method has no sidecar with that phase.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.labels import percent, task_label  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402
from prunebench.benchmarks.data import load_splits  # noqa: E402
from prunebench.benchmarks.tasks import get_task  # noqa: E402


def constant_predictor_loss(labels, regression: bool) -> float:
    """The least training loss a model that ignores its input can reach: the labels' entropy in nats
    (cross-entropy, -sum p log p over the class frequencies p) or their population variance (mean squared error).
    Raises ValueError on an empty label list."""
    values = [float(v) for v in labels]
    if not values:
        raise ValueError("no labels")
    if regression:
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)
    counts: dict[float, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return -sum(c / len(values) * math.log(c / len(values)) for c in counts.values())


def left_plateau_at(curve: list[tuple[int, float]], level: float) -> int | None:
    """The first logged step from which every later logged loss is below `level` (None: never)."""
    step = None
    for s, loss in curve:
        if loss < level:
            step = s if step is None else step
        else:
            step = None
    return step


def read_phases(folder: Path, method: str, phase: str) -> dict[tuple[str, int], dict]:
    """(task, seed) -> {"curve": [(step, loss)], "scores": {sparsity: score}, "differs": [sparsities]}."""
    found: dict[tuple[str, int], dict] = {}
    for sidecar in sorted(folder.glob(f"*/{method}/*.json")):
        row = sidecar.with_suffix(".csv")
        meta = json.loads(sidecar.read_text())
        curves = [p for p in meta.get("inner_train_loss") or [] if p.get("desc") == phase]
        if not curves or not row.exists():
            continue
        record = pd.read_csv(row).iloc[0]
        key = (str(record["task"]), int(record["seed"]))
        curve = [(int(s), float(v)) for s, v in curves[0]["loss"]]
        entry = found.setdefault(key, {"curve": curve, "scores": {}, "differs": []})
        entry["scores"][float(record["target_sparsity"])] = float(record["score"])
        if curve != entry["curve"]:
            entry["differs"].append(float(record["target_sparsity"]))
    return found


def phase_table(phases: dict[tuple[str, int], dict], plateau: dict[str, float], method: str, phase: str,
                below: float) -> Table:
    rows, notes = [], []
    for (task, seed), entry in sorted(phases.items()):
        curve, level = entry["curve"], plateau[task]
        left = left_plateau_at(curve, below * level)
        rows.append([task_label(task), str(seed), f"{curve[-1][0]:,}", f"{level:.3f}", f"{curve[0][1]:.3f}",
                     f"{curve[len(curve) // 2][1]:.3f}", f"{curve[-1][1]:.3f}", "never" if left is None else f"{left:,}",
                     ", ".join(f"{percent(s)}%: {v:.2f}" for s, v in sorted(entry["scores"].items()))])
        if entry["differs"]:
            notes.append(f"{task_label(task)} seed {seed}: the curve at sparsity {entry['differs']} differs from the first read.")
    notes = [f"Loss: the sidecars' `inner_train_loss`, the loop's logged means over 50 steps. Constant loss: the least "
             "training loss of a model that ignores its input (the training labels' entropy in nats, or their variance "
             f"for a regression's MSE). Below {below:g} x constant from: the first logged step after which the loss stays "
             "under that level; never: it does not.", *notes]
    return Table(["Task", "Seed", "Steps", "Constant loss", "First logged", "Middle", "Last",
                  f"Below {below:g} x constant from", "Score by sparsity"], rows,
                 caption=f"Inner training `{phase}` of `{method}` against a constant predictor's loss",
                 label=f"tab:inner-{method}-{phase}", notes=notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a model's runs folder: <folder>/<task>/<method>/*.json")
    parser.add_argument("--method", required=True, help="the method's folder name, e.g. lora-prune")
    parser.add_argument("--phase", default="lora", help="the inner training's `desc` in the sidecar (default: lora)")
    parser.add_argument("--below", type=float, default=0.9, help="plateau threshold, a share of the constant loss")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    phases = read_phases(args.folder, args.method, args.phase) if args.folder.is_dir() else {}
    if not phases:
        print(f"inner_phase_table: no {args.method} sidecar under {args.folder} has an inner training "
              f"{args.phase!r} (sidecars keep them from results/v2 call 17 on)", file=sys.stderr)
        return 2
    plateau = {}
    for task_name in sorted({task for task, _ in phases}):
        task = get_task(task_name)
        plateau[task_name] = constant_predictor_loss(load_splits(task).train["label"], task.is_regression)
    table = phase_table(phases, plateau, args.method, args.phase, args.below)
    body = (f"Whether `{args.method}`'s inner training `{args.phase}` left the loss of a model that ignores its input, "
            "per task and seed (the phase runs before pruning, so it is one curve for all sparsities of a seed).\n\n"
            + to_markdown(table, heading="##"))
    write_script_markdown("scripts/inner_phase_table.py", argv if argv is not None else sys.argv[1:], str(args.folder),
                          f"Inner training of {args.method}", body, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

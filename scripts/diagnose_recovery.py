"""Does a one-shot collapse come from too short a recovery? The same row with more recovery epochs, side by side.

    python scripts/diagnose_recovery.py results/v2/diagnosis/stsb-recovery results/v2/runs/v2-minilm/minilm-l6/stsb \\
        --method magnitude-layerwise --sparsity 0.9 --out results/v2/diagnosis-stsb-recovery.md

ROWS is a folder of row files (`<method label>/s<sparsity>-seed<n>.csv`, each with its JSON sidecar) made for the
check; COMPARE the campaign's rows of the same task. For each row of `--method` (any label starting with it) at
`--sparsity`: where it ran, its recovery epochs (from the sidecar's training config), the score, the score of the
dense checkpoint it started from, and the recovery's last logged training loss, next to the loss of predicting
without the input (`diagnose_global_collapse.loss_of_no_input`). Every number is read from those files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from diagnose_global_collapse import loss_of_no_input  # noqa: E402

from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402
from prunebench.benchmarks.paths import format_sparsity  # noqa: E402


def rows_of(folder: Path, method: str, sparsity: float) -> list[dict]:
    """One dict per row file of `method` (or a label `method@...`) at `sparsity` under `folder`, with its sidecar."""
    found = []
    for csv in sorted(folder.glob(f"{method}*/s{format_sparsity(sparsity)}-seed*.csv")):
        if csv.parent.name != method and not csv.parent.name.startswith(method + "@"):
            continue
        row = pd.read_csv(csv).iloc[0].to_dict()
        side = json.loads(csv.with_suffix(".json").read_text())
        step, loss = side["train_loss"][-1]
        found.append({"label": csv.parent.name, "seed": int(row["seed"]), "device": row["device"],
                      "epochs": side["config"]["train"]["recovery_epochs"], "steps": step, "score": row["score"],
                      "dense": row["dense_score"], "loss": loss, "source": csv})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, help="folder of the check's rows")
    parser.add_argument("compare", type=Path, help="folder of the campaign's rows of the same task")
    parser.add_argument("--method", required=True)
    parser.add_argument("--sparsity", type=float, required=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    for folder in (args.rows, args.compare):
        if not folder.is_dir():
            print(f"diagnose_recovery: {folder}: no such folder", file=sys.stderr)
            return 2
    check, campaign = rows_of(args.rows, args.method, args.sparsity), rows_of(args.compare, args.method, args.sparsity)
    if not check or not campaign:
        empty = args.rows if not check else args.compare
        print(f"diagnose_recovery: {empty}: no {args.method} row at sparsity {format_sparsity(args.sparsity)}",
              file=sys.stderr)
        return 2
    tasks = {json.loads(r["source"].with_suffix(".json").read_text())["config"]["task"] for r in check + campaign}
    if len(tasks) != 1:
        print(f"diagnose_recovery: the rows are of several tasks ({', '.join(sorted(tasks))})", file=sys.stderr)
        return 2
    task = tasks.pop()
    what, level = loss_of_no_input(task)
    table = Table(["Rows", "Label", "Seed", "Device", "Recovery epochs", "Steps", "Score", "Dense checkpoint",
                   "Last training loss"],
                  [[kind, r["label"], str(r["seed"]), r["device"], f"{r['epochs']:g}", str(r["steps"]),
                    f"{r['score']:.2f}", f"{r['dense']:.2f}", f"{r['loss']:.3f}"]
                   for kind, rows in (("campaign", campaign), ("check", check)) for r in rows],
                  caption=f"{args.method} at {format_sparsity(args.sparsity)} on {task}. Last training loss: the "
                          "recovery's last logged window (mean loss per step).",
                  label="tab:diagnose-recovery")
    body = (f"The loss of predicting without the input on {task}: {what}: {level:.3f}.\n\n"
            + to_markdown(table, heading="##"))
    write_script_markdown("scripts/diagnose_recovery.py", argv if argv is not None else sys.argv[1:],
                          f"{args.rows} and {args.compare}", f"Recovery length and the {task} collapse", body, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

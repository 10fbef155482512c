"""Is a one-shot magnitude collapse in the network or in the scoring? Two checks that do not use the dev score.

1. The recovery's own training loss (each row's sidecar ``train_loss``, mean loss per logged window) against the
   loss of predicting without the input: for a regression task the variance of the training labels (MSE of the
   mean), for classification the entropy of the label distribution (cross-entropy of the class priors). A final
   loss near that level means the pruned network did not fit its training set, whatever the dev metric says.
2. Where one global magnitude threshold puts the sparsity: per encoder linear weight of the model the rows
   started from (here MiniLM-L6's pre-trained weights, which fine-tuning moves little), its share pruned, and how
   many output rows lose every weight; and how many do when every matrix is pruned to the same share (layer-wise).

    python scripts/diagnose_global_collapse.py --task stsb --sparsities 0.8,0.9 \\
        --rows results/v2/runs/v2-minilm/minilm-l6/stsb > results/v2/diagnosis-stsb-global-magnitude.txt
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def loss_of_no_input(task: str) -> tuple[str, float]:
    """(what, value): label variance for regression, label entropy (nats) for classification, on the train split."""
    from prunebench.benchmarks.data import load_splits
    from prunebench.benchmarks.tasks import get_task

    t = get_task(task)
    labels = load_splits(t).train["label"].astype(float)
    if t.is_regression:
        return "variance of the training labels (MSE of predicting their mean)", float(labels.var(ddof=0))
    p = labels.value_counts(normalize=True)
    return "entropy of the training labels (cross-entropy of the class priors, nats)", float(-(p * p.map(math.log)).sum())


def empty_rows(masks: dict) -> int:
    """Output rows (dim 0 of an nn.Linear weight [out, in]) whose every weight is pruned."""
    return sum(int((m.sum(dim=1) == 0).sum()) for m in masks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--sparsities", default="0.8,0.9")
    parser.add_argument("--rows", type=Path, required=True, help="folder of the task's rows: <method>/s<sparsity>-seed<n>.json")
    parser.add_argument("--methods", default="magnitude-global,magnitude-layerwise,gradual-magnitude-global,sparsegpt,obert")
    parser.add_argument("--model", default="minilm-l6")
    args = parser.parse_args()
    sparsities = [float(s) for s in args.sparsities.split(",")]
    what, level = loss_of_no_input(args.task)
    print(f"{args.task}: {what}: {level:.3f}")
    print("\nfinal recovery training loss (last logged window), per method, sparsity and seed:")
    for method in args.methods.split(","):
        for s in sparsities:
            found = sorted((args.rows / method).glob(f"s{s:.2f}-seed*.json"))
            finals = [json.loads(p.read_text())["train_loss"][-1] for p in found]
            if finals:
                print(f"  {method:<26} {s:.2f}  " + "  ".join(f"{loss:.3f} (step {step})" for step, loss in finals))

    import torch

    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task
    from prunebench.methods._masking import masks_from_scores
    from prunebench.methods._structure import prunable_weights

    model = load_model(resolve(args.model), get_task(args.task))
    weights = {name: w.detach() for name, w in prunable_weights(model).items()}
    rows = sum(w.shape[0] for w in weights.values())
    for s in sparsities:
        masks = masks_from_scores({n: w.abs() for n, w in weights.items()}, s, "global")
        share = {n: 1 - masks[n].float().mean().item() for n in weights}
        print(f"\none global magnitude threshold at {s:.2f} on {args.model}'s weights: {empty_rows(masks)} of {rows} "
              f"output rows left with no weight; most pruned matrices:")
        for name, value in sorted(share.items(), key=lambda kv: -kv[1])[:6]:
            print(f"  {name:<55} {value:.3f}")
        print(f"  least pruned: {min(share, key=share.get)} {min(share.values()):.3f}")
        # layer-wise magnitude prunes every matrix to the same share: if emptied matrices were the whole cause of
        # a global collapse, the layer-wise rows at the same sparsity would not collapse
        layer = masks_from_scores({n: w.abs() for n, w in weights.items()}, s, "layer")
        print(f"the same sparsity per matrix (layer-wise magnitude): {empty_rows(layer)} of {rows} output rows left "
              f"with no weight")
    return 0


if __name__ == "__main__":
    sys.exit(main())

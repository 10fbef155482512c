"""GraSP at 50% collapses where GraSP at 90% does not (v2: MNLI low-resource, MRPC, CoLA): in the mask or in training?

v2's near-chance table has GraSP at 50% predicting a constant class on 2 of 3 seeds of MNLI and MRPC; on MNLI it is
below random pruning at 50% and below GraSP itself at 90%. GraSP ranks one score over all weights, so its 50% mask
prunes a subset of what its 90% mask prunes; a 50% network that trains worse than the 90% one is surprising. Three
checks that do not use the dev score:

1. Which weights each mask removes, rebuilt as the rows' runs made them (same `Run`, seed, pre-trained model with
   its seeded head, the first `batches` training batches, `grasp_scores`, `masks_from_scores`), on the CPU where
   the runs used a GPU (other numerics move a few weights across the cut: padding 8 against 16 moved 4 of 10.6
   million): where the scores cut at each sparsity, and how many weights the 50% mask and "S > 0" disagree on; the share of
   the largest-magnitude tenth of each matrix's weights that is pruned (random pruning removes the sparsity's
   share of it; magnitude pruning none until 90%), the per-matrix sparsity range, and output rows left empty;
   and, before any training, how much the pruned encoder's [CLS] vector still varies across the first batch's
   examples, for the GraSP, global magnitude and random masks of the same sparsity.
2. Where fine-tuning starts from each mask, on the training batches after the scored ones, dropout off: the
   task loss, the norm of its gradient over every trainable parameter (what the first step sees before clipping)
   and the [CLS] vector norm, for the GraSP mask, the opposite half of its ranking (the lowest S pruned first),
   magnitude and random masks of the same sparsity. GraSP's objective is the gradient flow g^T g (Wang et al.
   2020; `prunebench/methods/grasp.py`): removing the weights of positive S raises it, each by a little, and at
   50% its mask removes nearly all of them together.
3. Whether training left the constant-predictor plateau: each row's last logged training loss (its sidecar's
   `train_loss`) against the loss of predicting the class priors (the entropy of the training labels).

    python scripts/diagnose_grasp.py --task mnli --seeds 0,1,2 --sparsities 0.5,0.7,0.8,0.9 --threads 1 \\
        --rows results/v2/runs/v2-minilm/minilm-l6/mnli > results/v2/diagnosis/grasp-mnli.txt

Needs the offline GLUE files (GLUE_DIR); runs on the CPU: per seed, one GraSP scoring (two backward passes over
`batches` batches) and check 2's (1 + 4 x sparsities) x `batches` gradient passes (68 for the command above).
Nothing is written but a token cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from prunebench.benchmarks.records import read_rows  # noqa: E402


def mask_report(model, masks: dict, sparsity: float) -> str:
    """One line: share of each matrix's top-10% |θ| pruned (mean over matrices), per-matrix sparsity range, empty
    output rows."""
    import torch

    top_pruned, shares, empty = [], [], 0
    for name, keep in masks.items():
        w = model.get_parameter(name).detach().abs()
        top = w >= torch.quantile(w.flatten().float(), 0.9)
        top_pruned.append(float((~keep & top).sum() / top.sum()))
        shares.append(float((~keep).float().mean()))
        empty += int((~keep).all(dim=1).sum()) if keep.dim() == 2 else 0
    return (f"  {sparsity:.0%}: pruned {sum(top_pruned) / len(top_pruned):.1%} of each matrix's largest-|θ| tenth "
            f"(mean; {min(top_pruned):.1%}-{max(top_pruned):.1%} over matrices; random: {sparsity:.0%}); per-matrix "
            f"sparsity {min(shares):.1%}-{max(shares):.1%}; {empty} empty output rows")


@contextmanager
def masked(model, masks: dict):
    """The model with `masks` applied to its weights for the duration of the block, then restored."""
    import torch

    saved = {name: model.get_parameter(name).detach().clone() for name in masks}
    try:
        with torch.no_grad():
            for name, keep in masks.items():
                model.get_parameter(name).mul_(keep)
        yield model
    finally:
        with torch.no_grad():
            for name, w in saved.items():
                model.get_parameter(name).copy_(w)


def representation_spread(model, masks: dict, batch: dict) -> float:
    """How much the pruned encoder's [CLS] vector still varies with the input: the std across the batch's
    examples (mean over dimensions) over the mean vector norm. Near 0: every input looks alike to the head, and
    fine-tuning starts where the class priors are the best answer."""
    import torch

    from prunebench.benchmarks.train import model_inputs

    with masked(model, masks), torch.no_grad():
        hidden = model.base_model(**model_inputs(batch)).last_hidden_state[:, 0]
    return float(hidden.std(dim=0).mean() / hidden.norm(dim=1).mean())


def start_of_training(model, masks: dict, batches: list[dict], loss_fn) -> tuple[float, float, float]:
    """Where fine-tuning starts from the pruned network: the task loss (nats), the norm of its gradient over every
    trainable parameter (the first step's, before clipping) and the mean [CLS] vector norm, averaged over
    `batches`. GraSP chooses its mask by how removing each weight changes the squared gradient norm to first
    order (Wang et al. 2020, the GraSP score); this measures the norm the chosen mask actually leaves. Raises
    ValueError when `batches` is empty."""
    import torch

    from prunebench.benchmarks.train import model_inputs

    if not batches:
        raise ValueError("no batches to measure the start of training on")
    params = [p for p in model.parameters() if p.requires_grad]
    losses, norms, cls = [], [], []
    with masked(model, masks):
        for batch in batches:
            loss = loss_fn(model, batch)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            losses.append(float(loss.detach()))
            norms.append(float(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g.float()) for g in grads if g is not None]))))
            with torch.no_grad():
                cls.append(float(model.base_model(**model_inputs(batch)).last_hidden_state[:, 0].norm(dim=1).mean()))
    return sum(losses) / len(losses), sum(norms) / len(norms), sum(cls) / len(cls)


def training_report(rows: Path, method: str, sparsity: float, seed: int, floor: float) -> str:
    sidecar = rows / method / f"s{sparsity:.2f}-seed{seed}.json"
    csv = sidecar.with_suffix(".csv")
    if not sidecar.is_file() or not csv.is_file():
        return f"  {method} {sparsity:.0%} seed {seed}: no row in {rows}"
    curve = json.loads(sidecar.read_text())["train_loss"]
    (row,) = read_rows(csv)
    score = float(row["score"])
    last = curve[-1][1] if curve else float("nan")
    plateau = "on the plateau" if abs(last - floor) < 0.05 else "left it"
    return (f"  {method} {sparsity:.0%} seed {seed}: dev score {score:.2f}; last training loss {last:.3f} against "
            f"{floor:.3f} for the class priors ({plateau})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--sparsities", default="0.5,0.9", help="comma-separated sparsities (default 0.5,0.9)")
    parser.add_argument("--batches", type=int, default=4, help="GraSP's scoring batches (the v2 config's: 4)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="GraSP's temperature (the v2 config's: 1.0; regression tasks always 1.0, as the method does)")
    parser.add_argument("--max-len", type=int, default=128, help="the v2 recipe's max_len (128)")
    parser.add_argument("--rows", type=Path, default=None,
                        help="a task's runs folder (<method>/s<sparsity>-seed<n>.csv) for check 3; skipped without it")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from diagnose_global_collapse import loss_of_no_input
    from prunebench.benchmarks.config import RunConfig, TrainConfig, parse_overrides
    from prunebench.benchmarks.errors import UsageError
    from prunebench.benchmarks.runner import Run, prepare
    from prunebench.benchmarks.train import seed_everything
    from prunebench.methods._masking import masks_from_scores
    from prunebench.methods.grasp import grasp_scores, tempered_loss
    from prunebench.methods.snip import first_batches, scoring_mode

    torch.set_num_threads(args.threads)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        sparsities = [float(s) for s in args.sparsities.split(",")]
    except ValueError:
        print(f"diagnose_grasp: --seeds {args.seeds} --sparsities {args.sparsities}: comma-separated integers and "
              "fractions, e.g. --seeds 0,2 --sparsities 0.5,0.9", file=sys.stderr)
        return 2
    if bad := [s for s in sparsities if not 0 < s < 1]:
        print(f"diagnose_grasp: --sparsities {bad[0]:g}: a sparsity is a fraction between 0 and 1, e.g. 0.5", file=sys.stderr)
        return 2
    if args.rows is not None and not args.rows.is_dir():
        print(f"diagnose_grasp: --rows {args.rows}: no such folder (a task's runs folder)", file=sys.stderr)
        return 2
    try:
        what, floor = loss_of_no_input(args.task)
    except UsageError as exc:
        print(f"diagnose_grasp: {exc}", file=sys.stderr)
        return 2
    print(f"GraSP on {args.task} (pre-trained MiniLM-L6, temperature {args.temperature:g}, {args.batches} batches)")
    for seed in seeds:
        train = parse_overrides(TrainConfig(), {"max_len": args.max_len, "progress": False})
        cfg = RunConfig(model="minilm-l6", task=args.task, method="grasp", sparsity=sparsities[0], seed=seed,
                        method_params={"batches": args.batches, "temperature": args.temperature}, train=train,
                        data_source="glue_dir")
        run = Run(prepare(cfg), torch.device("cpu"))
        seed_everything(seed)
        model = run.pretrained()
        ctx = run.context(sparsities[0])
        temperature = 1.0 if ctx.task.is_regression else args.temperature  # GraSP.before_training's rule
        with scoring_mode(model):
            scores = grasp_scores(model, first_batches(ctx, args.batches), tempered_loss(ctx.task, temperature))
        keep = {name: -s for name, s in scores.items()}
        half = masks_from_scores(keep, 0.5)
        differ = sum(int(((~half[name]) != (s > 0)).sum()) for name, s in scores.items())
        magnitude = {name: model.get_parameter(name).detach().abs() for name in scores}
        generator = torch.Generator().manual_seed(seed)
        noise = {name: torch.rand(w.shape, generator=generator) for name, w in magnitude.items()}
        batch = first_batches(ctx, 1)[0]
        flat = torch.cat([v.flatten() for v in scores.values()])
        cuts = ", ".join(f"{s:.0%} at S = {float(torch.quantile(flat.double(), 1 - s)):.3g}" for s in sparsities)
        print(f"seed {seed}: 1. the masks; GraSP scores S > 0 (pruned first) on {float((flat > 0).double().mean()):.1%} "
              f"of the weights, {float((flat == 0).double().mean()):.1%} exactly 0; the cut for {cuts} (S spans "
              f"{float(flat.min()):.3g} to {float(flat.max()):.3g}); the 50% mask and S > 0 disagree on {differ:,} of "
              f"{flat.numel():,} weights; the [CLS] spread before training (dense: "
              f"{representation_spread(model, {}, batch):.3f})")
        later = first_batches(ctx, 2 * args.batches)[args.batches:]  # not the batches the scores were taken on
        loss_fn = tempered_loss(ctx.task, 1.0)  # the loss training uses, untempered
        if later:
            with scoring_mode(model):
                start = "; ".join(f"{k} {v:.3f}" for k, v in zip(("loss", "gradient norm", "[CLS] norm"),
                                                                  start_of_training(model, {}, later, loss_fn)))
            print(f"       start of training, dense ({len(later)} batches after the scored ones): {start}")
        else:
            print("       start of training: not measured (the training set has no batch after the scored ones)")
        for s in sparsities:
            # the opposite half of GraSP's ranking (the lowest S pruned first) tells a sign split from GraSP's own
            masks = {name: masks_from_scores(scores_of, s) for name, scores_of in (
                ("GraSP", keep), ("GraSP negated", scores), ("magnitude", magnitude), ("random", noise))}
            print(mask_report(model, masks["GraSP"], s), flush=True)
            spreads = {name: representation_spread(model, masks[name], batch)
                       for name in ("GraSP", "magnitude", "random")}
            print("       [CLS] spread: " + ", ".join(f"{k} {v:.3f}" for k, v in spreads.items()), flush=True)
            if not later:
                continue
            with scoring_mode(model):
                starts = {name: start_of_training(model, mask, later, loss_fn) for name, mask in masks.items()}
            print("       start of training (loss / gradient norm / [CLS] norm): " + ", ".join(
                f"{k} {a:.3f} / {b:.2f} / {c:.1f}" for k, (a, b, c) in starts.items()), flush=True)
        print(mask_report(model, masks_from_scores(magnitude, sparsities[0]), sparsities[0]).replace("  ", "  magnitude ", 1))
        if args.rows is not None:
            print(f"seed {seed}: 3. training ({what}: {floor:.3f})")
            for s in sparsities:
                for method in ("grasp", "random"):
                    print(training_report(args.rows, method, s, seed, floor))
    return 0


if __name__ == "__main__":
    sys.exit(main())

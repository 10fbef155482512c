"""lora-prune (order lora-first) collapses on CoLA and STS-B: is it the LoRA phase, the pruning, or a bug?

The row's sidecar logs only the recovery phase (`train_loss` is the loop's curve; the LoRA phase runs inside
`before_training` through `ctx.train`, whose curve the runner drops). This runs the method exactly as the
harness does (same `Run`, data, loop, recipe, `LoraPrune.before_training`), with two observation points added
and nothing else changed:

- after the LoRA phase: its training-loss curve, and the LoRA model (adapters on, eval mode) scored on dev,
  with no pruning;
- right after the merge, before pruning: the merged model scored on dev (it must give the LoRA model's logits:
  a check of the merge), the size of the merged update relative to the pre-trained weights, and whether the
  trained head survived the merge;
- after global magnitude pruning, before recovery: the score;
- after recovery: the score (the row's number) and the recovery's loss curve (the sidecar's).

For every scored model it also prints the spread of the dev predictions (the share of the most frequent class,
or the standard deviation of the regression output) and the share of saturated pooler units (|tanh| > 0.99).
Each `--lora-lr` value is one such run; nothing is written anywhere but a temporary token cache.

    python scripts/diagnose_lora_prune.py --task cola --lora-lr 1e-3,4e-4 --samples 0 --sparsity 0.5

Needs the offline GLUE files (GLUE_DIR) and peft; runs on one CPU thread unless --threads says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prediction_spread(task, logits) -> str:
    """The most frequent predicted class and its share, or the std of the regression output."""
    import numpy as np

    if task.is_regression:
        values = logits.reshape(-1)
        return f"prediction std {values.std():.4f} (mean {values.mean():.4f})"
    classes = logits.argmax(axis=-1)
    top = np.bincount(classes, minlength=logits.shape[-1])
    return f"{top.max() / len(classes):.4f} of dev predicted class {int(top.argmax())}"


def observe(model, run, label: str) -> "np.ndarray":
    """Score `model` on dev, print the score, the prediction spread and the pooler's saturation; returns logits."""
    import torch

    from prunebench.benchmarks.metrics import compute_metrics, predictions_from_logits, primary_score
    from prunebench.benchmarks.train import predict

    task, cfg = run.prep.task, run.prep.cfg.train
    pooled: list = []
    pooler = next((m for n, m in model.named_modules() if n.endswith("pooler.activation")), None)
    hook = pooler.register_forward_hook(lambda _m, _i, out: pooled.append(out.detach().abs())) if pooler else None
    was_training = model.training
    try:
        dev = next(iter(run.evals.values()))
        logits = predict(model, dev, cfg, run.device)
    finally:
        if hook:
            hook.remove()
        model.train(was_training)
    metrics = compute_metrics(task, predictions_from_logits(task, logits), dev.data.labels)
    saturated = ""
    if pooled:
        flat = torch.cat([p.reshape(-1) for p in pooled])
        saturated = f"; pooler |tanh| > 0.99: {float((flat > 0.99).float().mean()):.4f}"
    shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items())
    print(f"  {label}: score {primary_score(task, metrics):.2f} ({shown}); {prediction_spread(task, logits)}{saturated}",
          flush=True)
    return logits


def lora_update_size(wrapped) -> str:
    """||B A * scaling||_F / ||W_0||_F over all adapted layers (sum of squares), and its largest value per layer."""
    from peft.tuners.lora import LoraLayer

    delta_sq = base_sq = 0.0
    largest = 0.0
    for module in wrapped.modules():
        if isinstance(module, LoraLayer) and "default" in module.lora_A:
            delta = module.get_delta_weight("default").float()
            base = module.get_base_layer().weight.float()
            delta_sq += float(delta.pow(2).sum())
            base_sq += float(base.pow(2).sum())
            largest = max(largest, float(delta.norm() / base.norm()))
    return f"merged update / pre-trained weights (Frobenius): {(delta_sq / base_sq) ** 0.5:.4f} overall, {largest:.4f} largest layer"


def curve(stats) -> str:
    return ", ".join(f"{s}:{v:.3f}" for s, v in stats.loss_curve)


def one_run(args, lora_lr: float) -> None:
    import torch

    from prunebench.benchmarks.config import RunConfig, TrainConfig, parse_overrides
    from prunebench.benchmarks.runner import Run, prepare
    from prunebench.benchmarks.train import finetune, seed_everything
    from prunebench.methods.base import Method
    from prunebench.methods.lora_prune import LoraPrune

    overrides = {"max_train_samples": args.samples, "max_eval_samples": args.eval_samples, "progress": False,
                 **dict(pair.split("=", 1) for pair in args.set)}
    cfg = RunConfig(model=args.model, task=args.task, method="lora-prune", sparsity=args.sparsity, seed=args.seed,
                    method_params={"alpha": args.alpha, "rank": args.rank, "lora_lr": lora_lr,
                                   "lora_epochs": args.lora_epochs},
                    train=parse_overrides(TrainConfig(), overrides), data_source=args.data_source)
    prep = prepare(cfg)
    run = Run(prep, torch.device(args.device))
    recipe = prep.cfg.train
    epochs, lr = LoraPrune(prep.params).training_phase(recipe)
    print(f"lora_lr {lora_lr:g}: {prep.task.name}, {len(prep.splits.train)} training examples, LoRA "
          f"{prep.params.lora_epochs or recipe.epochs:g} epochs, then {args.sparsity:g} global magnitude, then "
          f"recovery {epochs:g} epochs at lr {lr:g} (batch {recipe.batch_size}, {recipe.schedule} schedule, "
          f"warm-up {recipe.warmup_ratio:g})", flush=True)

    class Probe(LoraPrune):
        """LoraPrune with observation points; every computation is the method's own."""

        def _prune(self, model, ctx):
            merged = observe(model, run, "merged, before pruning")
            print(f"    merged logits vs LoRA model's: max |difference| {abs(merged - self.lora_logits).max():.2e}; "
                  f"head kept: {self.head_kept(model)}", flush=True)
            super()._prune(model, ctx)
            observe(model, run, f"pruned to {ctx.target_sparsity:g}, before recovery")

        def head_kept(self, model) -> bool:
            return all(torch.equal(p, model.get_parameter(n)) for n, p in self.trained_head.items())

    probe = Probe(prep.params)
    seed_everything(prep.cfg.seed)
    model = run.pretrained()
    ctx = run.context(prep.cfg.sparsity)

    def recording_train(wrapped, epochs_, lr_, hooks=None, desc="inner"):
        """The runner's `inner_train`, keeping the loop's statistics and scoring the LoRA model."""
        child = dataclasses.replace(ctx, info={}, steps_per_epoch=0, total_steps=0)
        start = time.perf_counter()
        wrapped, stats = finetune(wrapped, hooks or Method(), child, run.train, recipe, epochs_, lr_, prep.cfg.seed, desc=desc)
        ctx.masks = child.masks
        print(f"  LoRA phase: {stats.steps} steps at lr {lr_:g} in {time.perf_counter() - start:.0f} s; "
              f"training loss {curve(stats)}", flush=True)
        probe.lora_logits = observe(wrapped, run, "LoRA model, no pruning")
        print(f"    {lora_update_size(wrapped)}", flush=True)
        probe.trained_head = {n.replace("base_model.model.", "").replace("modules_to_save.default.", ""): p.detach().clone()
                              for n, p in wrapped.named_parameters() if "modules_to_save.default" in n}
        wrapped.train()
        return wrapped

    ctx.train = recording_train
    start = time.perf_counter()
    model, stats = finetune(model, probe, ctx, run.train, recipe, epochs, lr, prep.cfg.seed, desc="recovery")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"  recovery: {stats.steps} steps; every parameter trainable: {trainable == sum(p.numel() for p in model.parameters())}; "
          f"training loss {curve(stats)}", flush=True)
    pruned = {n: float((w == 0).float().mean()) for n, w in ctx.prunable(model).items()}
    total = sum((w == 0).sum().item() for w in ctx.prunable(model).values()) / sum(w.numel() for w in ctx.prunable(model).values())
    print(f"  achieved sparsity {total:.4f} (layers {min(pruned.values()):.3f} to {max(pruned.values()):.3f})", flush=True)
    observe(model, run, "after recovery (the row's score)")
    print(f"  {time.perf_counter() - start:.0f} s in all", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--task", default="cola")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--lora-lr", default="1e-3", help="comma-separated; one run each (v2 recipe: 1e-3)")
    parser.add_argument("--lora-epochs", type=float, default=0.0, help="0: the task recipe's epochs, as the method does")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=int, default=16)
    parser.add_argument("--samples", type=int, default=0, help="training examples (fixed-seed sample; 0: all)")
    parser.add_argument("--eval-samples", type=int, default=0, help="dev examples (0: all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="training config field; defaults are the v2 recipe of the task (config/v2-minilm.yaml)")
    parser.add_argument("--data-source", default="glue_dir")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (on cuda the loop runs as in the campaign: bf16, CUDA graphs)")
    args = parser.parse_args()
    args.set = [*V2_RECIPE.get(args.task, []), *args.set]

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("PRUNEBENCH_CACHE", tempfile.mkdtemp(prefix="prunebench-lora-"))
    for value in args.lora_lr.split(","):
        one_run(args, float(value))
    return 0


# config/v2-minilm.yaml's recipe: train (all tasks) and task_train
_V2_TRAIN = ["max_len=128", "batch_size=32", "recovery_lr=1e-4", "recovery_epochs=3"]
V2_RECIPE = {
    "cola": [*_V2_TRAIN, "epochs=10", "lr=5e-5"],
    "stsb": [*_V2_TRAIN, "epochs=10", "lr=1e-4"],
    "mrpc": [*_V2_TRAIN, "epochs=10", "lr=1e-4"],
    "sst2": [*_V2_TRAIN, "epochs=3", "lr=2e-5"],
    "rte": [*_V2_TRAIN, "epochs=10", "lr=2e-5"],
}

if __name__ == "__main__":
    sys.exit(main())

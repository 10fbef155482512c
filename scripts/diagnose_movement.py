"""Hard movement pruning with its masks taken from other scores: is a collapse in the scores or in the machinery?

`movement` collapses to one class on the small GLUE tasks (results/v1/README.md). This runs the method's own
training loop, schedule and parametrisation several times on one sample of a task, changing only where each
step's Top-v masks come from:

- ``movement``: the learned scores, as the method does;
- ``negated``: the same scores, lowest kept (the opposite choice);
- ``magnitude``: |W| of the current weights (gradual magnitude pruning from the pre-trained model);
- ``random``: one fixed random score per weight (nested random masks on the same schedule).

For each it prints the score, the training-loss curve and, at a few steps, how many masks flipped in that
step, the share of the largest 1% of weights that is pruned, and what removing that step's newly pruned
weights does to the loss to first order: -sum(g * W) over them, with g the last batch's (clipped) gradient,
and its coherence |sum(g * W)| / sum(|g * W|) (1: every removed weight moves the loss the same way; near 0:
their effects cancel). Needs the offline GLUE files (GLUE_DIR).

    python scripts/diagnose_movement.py --task sst2 --samples 3000 --epochs 2 --lr 1e-4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.benchmarks.records import read_rows  # noqa: E402

SOURCES = ("movement", "negated", "magnitude", "random")
REPORT_STEPS = 6  # steps at which the mask statistics are printed, spread over the pruning window


def patch(source: str) -> None:
    """Replace `Movement._update` in this process by one that takes its masks from `source`."""
    import torch

    import prunebench.methods.movement as movement
    from prunebench.methods._masking import masks_from_scores
    from prunebench.methods._schedules import cubic_sparsity

    fixed: dict = {}
    report: set = set()

    @torch.no_grad()
    def update(self, step, ctx):
        if not report:
            span = max(1, self.end - self.begin)
            report.update(self.begin + round(span * i / (REPORT_STEPS - 1)) for i in range(REPORT_STEPS))
        sparsity = cubic_sparsity(step, 0.0, ctx.target_sparsity, self.begin, self.end)
        weights = {k: lin.parametrizations.weight.original for k, lin in self.state.linears.items()}
        if source == "movement":
            scores = self.state.scores
        elif source == "negated":
            scores = {k: -s for k, s in self.state.scores.items()}
        elif source == "magnitude":
            scores = {k: w.abs() for k, w in weights.items()}
        else:
            if not fixed:
                g = torch.Generator().manual_seed(0)
                fixed.update({k: torch.rand(s.shape, generator=g).to(s.device) for k, s in self.state.scores.items()})
            scores = fixed
        before = {k: m.clone() for k, m in self.state.masks.items()} if step in report else None
        self.state.set_masks(masks_from_scores(scores, sparsity, scope=self.params.scope))
        if before is not None:  # the statistics cost more than the step: only where they are printed
            print(f"  step {step}: {mask_statistics(before, self.state.masks, weights)}", flush=True)

    movement.Movement._update = update


def mask_statistics(before: dict, after: dict, weights: dict) -> str:
    """One step's mask change: the pruned share, flips, the share of the largest 1% of weights pruned, and the
    first-order loss change of removing the newly pruned weights (-sum(g * W), g the last batch's gradient)
    with its coherence |sum(g * W)| / sum(|g * W|)."""
    flipped = sum(int((before[k] != m).sum()) for k, m in after.items())
    pruned = sum(int((m == 0).sum()) for m in after.values())
    total = sum(m.numel() for m in after.values())
    big = big_pruned = 0
    signed = absolute = 0.0
    for k, w in weights.items():
        flat = w.detach().abs().reshape(-1).float()
        top = flat >= flat.kthvalue(max(1, int(0.99 * flat.numel()))).values
        big += int(top.sum())
        big_pruned += int((top & (after[k].reshape(-1) == 0)).sum())
        if w.grad is not None:
            gw = (w.grad * w)[(before[k] != 0) & (after[k] == 0)].double()
            signed += float(gw.sum())
            absolute += float(gw.abs().sum())
    return (f"{pruned / total:.3f} pruned, {flipped} masks flipped this step, {big_pruned / max(big, 1):.3f} of the "
            f"largest 1% of weights pruned; removing this step's: first-order loss change {-signed:+.4f}, coherence "
            f"{abs(signed) / absolute if absolute else 0.0:.3f}")


def run_one(source: str, args, workdir: Path) -> dict:
    out = workdir / f"{source}.csv"
    cmd = [sys.executable, __file__, "--one", source, "--", "run", "--model", args.model, "--task", args.task,
           "--method", "movement", "--sparsity", str(args.sparsity), "--max-train-samples", str(args.samples),
           "--max-eval-samples", str(args.eval_samples), "--set", f"epochs={args.epochs}", "--set", f"lr={args.lr}",
           "--set", "progress=false", "--threads", str(args.threads), "--data-source", "glue_dir", "--out", str(out)]
    env = {**os.environ, "PRUNEBENCH_CACHE": str(workdir / "cache")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    print("\n".join(line for line in proc.stdout.splitlines() if line.startswith("  step")))
    if proc.returncode != 0:
        raise SystemExit(f"{source}: the run failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    sidecar = json.loads(out.with_suffix(".json").read_text())
    (row,) = read_rows(out)
    return {"score": float(row["score"]), "dense": float(row["dense_score"]),
            "loss": [(s, round(v, 3)) for s, v in sidecar["train_loss"]]}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":  # the child: patch, then the ordinary CLI
        source, rest = sys.argv[2], sys.argv[4:]
        patch(source)
        from prunebench.benchmarks.cli import main as cli

        return cli(rest)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--samples", type=int, default=3000, help="training examples (fixed-seed sample)")
    parser.add_argument("--eval-samples", type=int, default=400)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--sources", default=",".join(SOURCES), help=f"comma-separated, of: {', '.join(SOURCES)}")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sources = args.sources.split(",")
    bad = [s for s in sources if s not in SOURCES]
    if bad:
        parser.error(f"unknown mask source {bad[0]!r}; valid: {', '.join(SOURCES)}")
    with tempfile.TemporaryDirectory(prefix="prunebench-movement-") as tmp:
        for source in sources:
            print(f"{source}:", flush=True)
            result = run_one(source, args, Path(tmp))
            print(f"  score {result['score']:.2f} (dense {result['dense']:.2f}); training loss {result['loss']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

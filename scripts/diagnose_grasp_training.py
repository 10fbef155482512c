"""GraSP's collapse at 50%: its own choice of weights, or any split by the sign of θ·Hg? Train and see.

`scripts/diagnose_grasp.py` found that GraSP's 50% mask is the set of weights of positive score S = -θ ⊙ Hg (a
split by the sign of θ·Hg), that the opposite half starts fine-tuning as far from the dense model, and that the
start alone does not tell the runs that collapse from those that train. This trains the v2 grid's own GraSP runs
(the config's recipe and parameters for the task, sparsity and seeds) with only the ranking that the mask is cut
from replaced, as `scripts/diagnose_movement.py` does for movement's scores:

- ``grasp``: -S, the method as published (Wang, Zhang & Grosse 2020, Algorithm 1: the highest S pruned first);
- ``negated``: S, the opposite half (the lowest S pruned first): the same sign split, the other way round;
- ``abs``: |S|, the weights whose removal moves the gradient flow most, either way, kept (no sign split);
- ``random``: uniform noise, seeded by the run's seed (random pruning of the pre-trained model, global).

If ``negated`` collapses as ``grasp`` does and ``abs`` and ``random`` train, the collapse belongs to splitting the
weights by the sign of θ·Hg, not to GraSP's direction. Rows go to --out, never into results/; each run prints its
score, its last logged training loss and whether that is on the plateau of the class priors.

    python scripts/diagnose_grasp_training.py --task mnli --sparsity 0.5 --seeds 0,1,2 --device cuda --jobs 8 \\
        --out /tmp/grasp-training > results/v2/diagnosis/grasp-training-mnli.txt

On the CPU (a sample, for a quick look): --max-train-samples 600 --max-eval-samples 200 --device cpu --jobs 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from prunebench.benchmarks.records import read_rows  # noqa: E402

RANKINGS = ("grasp", "negated", "abs", "random")


def patch(ranking: str) -> None:
    """Replace the keep-scores GraSP cuts its mask from (its -S) by `ranking`'s, in this process only."""
    import torch

    import prunebench.methods.grasp as grasp

    cut = grasp.masks_from_scores

    def masks_from(keep: dict, sparsity: float, **kwargs):
        if ranking == "negated":
            keep = {name: -k for name, k in keep.items()}
        elif ranking == "abs":
            keep = {name: k.abs() for name, k in keep.items()}
        elif ranking == "random":
            generator = torch.Generator().manual_seed(torch.initial_seed() % 2**63)  # the run's seed, as set
            keep = {name: torch.rand(k.shape, generator=generator).to(k.device) for name, k in keep.items()}
        return cut(keep, sparsity, **kwargs)

    grasp.masks_from_scores = masks_from


def grid_runs(config_path: Path, task: str, sparsity: float, seeds: list[int]):
    """The config and its GraSP rows for `task` at `sparsity`, one per seed; UsageError where the grid has none."""
    from prunebench.benchmarks.errors import UsageError
    from prunebench.benchmarks.grid import runs
    from prunebench.benchmarks.workflow_config import check_config, load_yaml

    config = check_config(load_yaml(config_path))
    found = {run.seed: run for run in runs(config)
             if run.method == "grasp" and run.task == task and abs(run.sparsity - sparsity) < 1e-9}
    if missing := [seed for seed in seeds if seed not in found]:
        raise UsageError(f"{config_path} has no grasp run of {task} at {sparsity:g} with seed {missing[0]}")
    return config, [found[seed] for seed in seeds]


def train_one(ranking: str, run, config: dict, args, out: Path) -> dict:
    """One training run of `run` with `ranking`'s mask, by the grid's own command; its row and sidecar go to `out`."""
    from run_grid import run_command

    cmd = [sys.executable, __file__, "--one", ranking, "--",
           *run_command(run, config, out.parent, args.device, args.threads, out)[3:]]  # [3:]: "run" and its arguments
    for flag in ("max_train_samples", "max_eval_samples"):
        if getattr(args, flag):
            cmd += ["--set", f"{flag}={getattr(args, flag)}"]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    (row,) = read_rows(out)
    curve = json.loads(out.with_suffix(".json").read_text())["train_loss"]
    return {"score": float(row["score"]), "last_loss": curve[-1][1] if curve else float("nan")}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":  # the child: patch, then the ordinary CLI
        patch(sys.argv[2])
        from prunebench.benchmarks.cli import main as cli

        return cli(sys.argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config/v2-minilm.yaml")
    parser.add_argument("--task", default="mnli")
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--rankings", default=",".join(RANKINGS), help=f"comma-separated, of: {', '.join(RANKINGS)}")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-train-samples", type=int, default=0, help="a training sample (default 0: all)")
    parser.add_argument("--max-eval-samples", type=int, default=0, help="an evaluation sample (default 0: all)")
    parser.add_argument("--out", type=Path, required=True, help="a folder for the rows (never under results/)")
    args = parser.parse_args()

    from diagnose_global_collapse import loss_of_no_input
    from prunebench.benchmarks.errors import UsageError

    rankings = args.rankings.split(",")
    try:
        if bad := [r for r in rankings if r not in RANKINGS]:
            raise UsageError(f"unknown ranking {bad[0]!r}; valid: {', '.join(RANKINGS)}")
        if not all(s.strip().isdigit() for s in args.seeds.split(",")):
            raise UsageError(f"--seeds {args.seeds}: comma-separated integers, e.g. 0,1,2")
        if args.jobs < 1:
            raise UsageError(f"--jobs {args.jobs}: at least 1")
        if (ROOT / "results") in [args.out.resolve(), *args.out.resolve().parents]:
            raise UsageError(f"--out {args.out}: diagnostic rows stay out of results/ (give e.g. /tmp/grasp-training)")
        config, cells = grid_runs(args.config, args.task, args.sparsity, [int(seed) for seed in args.seeds.split(",")])
        what, floor = loss_of_no_input(args.task)
    except UsageError as exc:
        print(f"diagnose_grasp_training: {exc}", file=sys.stderr)
        return 2
    jobs = [(ranking, run, config, args.out / ranking / f"s{args.sparsity:.2f}-seed{run.seed}.csv")
            for ranking in rankings for run in cells]
    # the first ranking's runs first, one per seed: each makes its seed's dense checkpoint (for the row's
    # dense_score), which the other rankings' runs then load instead of each fine-tuning it again at once
    first, rest = jobs[:len(cells)], jobs[len(cells):]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = [*pool.map(lambda job: train_one(*job[:3], args, job[3]), first),
                   *pool.map(lambda job: train_one(*job[:3], args, job[3]), rest)]
    print(f"GraSP's {args.task} runs at {args.sparsity:.0%} from {args.config}, the mask cut from each ranking "
          f"({what}: {floor:.3f})")
    for (ranking, run, _, _), result in zip(jobs, results):
        if "error" in result:
            print(f"  {ranking} seed {run.seed}: failed: {result['error']}")
            continue
        plateau = "on the plateau" if abs(result["last_loss"] - floor) < 0.05 else "left it"
        print(f"  {ranking} seed {run.seed}: score {result['score']:.2f}; last training loss {result['last_loss']:.3f} "
              f"({plateau})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

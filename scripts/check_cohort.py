"""Do runs trained together in one batched step (`benchmarks/cohort.py`) give the rows they give alone, here?

On the CPU `tests/test_cohort.py` answers it; on a GPU the answer also depends on the compiled, graphed step
and the device's kernels, so this script runs a few one-shot runs of one small model, task and seed alone and
then as one cohort on the device, and prints each member's score difference and the largest difference of
its logged training losses, with the step mode and the graph breaks of the compiled cohort step; with --cohorts N
it trains the cohort N times and prints each one's seconds and the graphs it compiled (a later cohort reuses the
first one's). It also prints the run-steps per second of the runs alone and of each cohort over their training
steps (capture and compiling left out), so that the batched step's own gain in the harness, in one process with
nothing else on the device, can be set beside the probe's (results/v2/probes). Exit 1 where a score differs by
more than --tolerance points.

    python scripts/check_cohort.py --device cuda --set attention=eager --set step_mode=auto-compile --cohorts 2

The model is a tiny random BERT (2 layers, hidden size 64; --shape minilm-l6 for the campaign's) with MiniLM's
tokenizer, on the embedded data; the recipe is 512 training and 256 evaluation examples and 2 recovery epochs
(DEFAULTS) unless --set changes it. The runs alone are timed too (all of them, one after the other). On
CUDA only a recipe with eager attention trains together (`benchmarks/cohort.py`): without --set attention=eager the
members train apart there, and the check compares nothing batched. The loss differences are printed, not judged:
bf16 on CUDA keeps them near 1e-3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


# the check's recipe unless --set says otherwise: a few hundred examples, so that it ends in minutes on the CPU
DEFAULTS = dict(max_train_samples=512, max_eval_samples=256, recovery_epochs=2, progress=False, bench_repeats=1)


def random_model(folder: Path, tokenizer_from: Path | None, shape: str = "tiny") -> str:
    """A random model, seeded, with the tests' tokenizer (no download) or the tokenizer of the model folder
    `tokenizer_from` (a GPU machine has the carried MiniLM, not the package the tests take it from). `shape` is
    "tiny" (the tests' BERT: 2 layers, hidden size 64) or a name of the efficiency bench's shapes
    (`efficiency/shapes.py`, e.g. minilm-l6), whose compile and step cost is the campaign's."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from prunebench.benchmarks.efficiency.shapes import SHAPES

    fields = dict(SHAPES[shape]) if shape != "tiny" else dict(
        model_type="bert", vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=160)
    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.for_model(fields.pop("model_type"), **fields)).save_pretrained(folder)
    if tokenizer_from is not None:
        AutoTokenizer.from_pretrained(tokenizer_from).save_pretrained(folder)
    else:
        from conftest import _tokenizer_into

        _tokenizer_into(folder)
    return f"local:{folder}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--task", default="rte", help="a GLUE task of the embedded data (default rte)")
    parser.add_argument("--members", default="magnitude-global:0.5,magnitude-layerwise:0.7,magnitude-global:0.9",
                        help="comma-separated METHOD:SPARSITY, one per member")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="training field, repeatable")
    parser.add_argument("--tolerance", type=float, default=0.5, help="largest score difference in points (default 0.5)")
    parser.add_argument("--tokenizer-from", type=Path, default=None, metavar="DIR",
                        help="a model folder whose tokenizer to use (default: the tests' offline MiniLM package)")
    parser.add_argument("--shape", default="tiny",
                        help="the random model: tiny (default; 2 layers, hidden size 64) or a shape of the efficiency "
                             "bench (bert-base, bert-large, minilm-l6, distilbert), e.g. minilm-l6 to measure what the "
                             "campaign's model costs to compile and step")
    parser.add_argument("--cohorts", type=int, default=1,
                        help="train the cohort this many times in one process, each timed with the graphs it compiled: "
                             "a later one should compile none (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = parser.parse_args(argv)
    from prunebench.benchmarks.errors import UsageError

    try:  # before anything is made
        train, members = checked(args)
    except UsageError as exc:
        print(f"check_cohort.py: error: {exc}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="check-cohort-"))
    try:
        return check(args, train, members, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def checked(args) -> tuple:
    """The recipe and the (method, sparsity) members the arguments ask for; raises UsageError naming the first bad
    one and what is valid."""
    from prunebench.benchmarks.cli import _check_device as check_device
    from prunebench.benchmarks.config import TrainConfig, parse_overrides
    from prunebench.benchmarks.data import EMBEDDED_DIR
    from prunebench.benchmarks.efficiency.shapes import SHAPES
    from prunebench.benchmarks.errors import UsageError
    from prunebench.methods.registry import get

    if args.cohorts < 1:
        raise UsageError(f"--cohorts {args.cohorts}: give 1 or more")
    if args.shape != "tiny" and args.shape not in SHAPES:
        raise UsageError(f"--shape {args.shape}: give tiny or one of {', '.join(SHAPES)}")
    check_device(args.device)
    tasks = sorted(p.name for p in EMBEDDED_DIR.iterdir() if p.is_dir())
    if args.task not in tasks:
        raise UsageError(f"--task {args.task}: give a task of the embedded data: {', '.join(tasks)}")
    if args.tokenizer_from is not None and not args.tokenizer_from.is_dir():
        raise UsageError(f"--tokenizer-from {args.tokenizer_from}: not a folder")
    if args.out is not None and not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: its folder {args.out.parent} does not exist")
    members = []
    for member in args.members.split(","):
        method, _, sparsity = member.partition(":")
        try:
            value = float(sparsity)
        except ValueError:
            value = -1.0
        if not 0 <= value < 1:
            raise UsageError(f"--members {member}: give METHOD:SPARSITY with a sparsity in [0, 1), e.g. magnitude-global:0.5")
        get(method)  # an unknown method names the valid ones
        members.append((method, value))
    return parse_overrides(TrainConfig(**DEFAULTS), args.set).check(), members


def sidecars(made: list[tuple]) -> list[dict]:
    """The sidecar JSON of each (row path, record) that `run` or `run_cohort` returned, read once."""
    return [json.loads(path.with_suffix(".json").read_text()) for path, _ in made]


def run_steps_per_s(sides: list[dict]) -> float | None:
    """Optimiser steps of all these runs per second of the GPU's (or CPU's) time in their training steps: each run's
    steps (the last point of its sidecar's loss curve) over its profile's "training steps" seconds, graph capture
    and compiling left out. Runs trained together share those seconds, so they count once; runs trained apart
    (alone, or a cohort that could not batch) add theirs. None where no run trained a step.

    This is the batched step's own gain, the figure the probe of results/v2 (calls 11-46) measured outside the
    harness: K runs in one step against K runs one after another, in one process with nothing else on the device.
    """
    steps, seconds, shared = 0, 0.0, set()
    for side in sides:
        if not side["train_loss"]:
            continue
        steps += side["train_loss"][-1][0]
        cohort = side.get("cohort")
        together = tuple(cohort["run_ids"]) if cohort else None
        if together is None or together not in shared:
            seconds += side["profile"]["training steps"]
        if together is not None:
            shared.add(together)
    return round(steps / seconds, 2) if seconds > 0 else None


def rate_text(rate: float | None, alone: float | None) -> str:
    if rate is None:
        return "no training step"
    return f"{rate:.1f} run-steps/s in training steps" + (f" ({rate / alone:.2f}x the runs alone)" if alone else "")


def check(args, train, members: list[tuple[str, float]], work: Path) -> int:
    """Run the members alone, then as a cohort (--cohorts times), in the scratch folder `work`; print and write the
    figures; 1 where a score differs by more than --tolerance points."""
    os.environ.setdefault("PRUNEBENCH_CACHE", str(work / "cache"))
    from torch._dynamo.utils import counters

    from prunebench.benchmarks.config import RunConfig
    from prunebench.benchmarks.runner import run, run_cohort

    model = random_model(work / "model", args.tokenizer_from, args.shape)
    cfgs = [RunConfig(model=model, task=args.task, method=m, sparsity=s, seed=0, train=train, data_source="embedded")
            for m, s in members]
    start = time.perf_counter()
    alone = [run(cfg, out=work / "alone" / f"{n}.csv", device=args.device) for n, cfg in enumerate(cfgs)]
    alone_seconds = round(time.perf_counter() - start, 2)
    sides_a = sidecars(alone)
    if not all(side["train_loss"] for side in sides_a):  # found before any cohort trains
        print("check_cohort.py: error: the recipe trains no step (max_train_samples x recovery_epochs under one batch): "
              "nothing to compare", file=sys.stderr)
        return 2
    alone_rate = run_steps_per_s(sides_a)
    print(f"{len(cfgs)} runs alone: {alone_seconds:.1f} s, {rate_text(alone_rate, None)}")
    counters.clear()
    repeats = []
    for r in range(args.cohorts):  # each into a folder of its own, so no row is skipped as already made
        graphs, start = counters["stats"]["unique_graphs"], time.perf_counter()
        together = run_cohort(cfgs, [work / f"together{r}" / f"{n}.csv" for n in range(len(cfgs))], device=args.device)
        sides_t = sidecars(together)
        repeats.append({"seconds": round(time.perf_counter() - start, 2), "graphs_compiled": counters["stats"]["unique_graphs"] - graphs,
                        "run_steps_per_s": run_steps_per_s(sides_t)})
        print(f"cohort {r + 1} of {args.cohorts}: {repeats[-1]['seconds']:.1f} s, {repeats[-1]['graphs_compiled']} graph(s) compiled, "
              f"{rate_text(repeats[-1]['run_steps_per_s'], alone_rate)}")
    breaks = sum(counters["graph_break"].values())
    figures, worst = [], 0.0
    for (_, a), (_, t), side_a, side_t in zip(alone, together, sides_a, sides_t):
        loss = max(abs(x[1] - y[1]) for x, y in zip(side_a["train_loss"], side_t["train_loss"]))
        figures.append({"method": a.method, "sparsity": a.target_sparsity, "score_alone": a.score, "score_together": t.score,
                        "max_loss_difference": loss, "step_mode": side_t["step_mode"], "cohort": side_t.get("cohort")})
        worst = max(worst, abs(a.score - t.score))
        print(f"{a.method:<22} {a.target_sparsity:.2f}  score alone {a.score:7.3f}  together {t.score:7.3f}  "
              f"largest loss difference {loss:.2e}  ({side_t['step_mode']}, {(side_t.get('cohort') or {}).get('size', 1)} "
              "in one step)")
    compiled = any("compile" in f["step_mode"] for f in figures)
    print((f"graph breaks in the cohort's compiled step: {breaks}" if compiled else "the cohort's step was not compiled")
          + f"; largest score difference {worst:.3f} points")
    if args.out is not None:
        args.out.write_text(json.dumps({"device": args.device, "shape": args.shape, "alone_seconds": alone_seconds,
                                        "alone_run_steps_per_s": alone_rate,
                                        "members": figures, "graph_breaks": breaks if compiled else None, "cohorts": repeats},
                                       indent=1) + "\n")
    return 1 if worst > args.tolerance else 0


if __name__ == "__main__":
    sys.exit(main())

"""Count the compute a workflow config asks for, without running it: runs, optimiser steps, training examples and
tokens, evaluation and efficiency-bench tokens, and one total in forward-token passes.

Why: wall-clock time on a shared machine says little, but work does not depend on the machine. The smoke grid's
time claim rests on a measurement of one grid and on this count of how much work another grid does relative to
it (`results/smoke-work.md`).

    python scripts/count_work.py config/smoke.yaml [--against OLD.yaml] [--model minilm-l6]

Units: a training step's forward + backward counts as 3 forward passes of its tokens (the backward costs about
twice the forward: Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1); evaluation, the
scoring pass of ffn-pruning's Taylor criterion (forward + backward, so 3) and the efficiency bench
(`benchmarks/efficiency/row.py`: latency at batch 1 and throughput, peak memory and FLOPs at batch 32, length 128)
count their forward tokens. Tokens are the tokenizer's, truncated to `max_len`, without padding. The dense
checkpoint of a (model, task, seed, recipe) is counted once, as the runs share it. Methods that train inside
their hooks (lottery-ticket rounds, LoRA phases) or score iteratively (head-pruning) are counted without that
inner work and listed as `not counted`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prunebench.benchmarks.efficiency.row import LATENCY_BATCH, SEQ_LEN, THROUGHPUT_BATCH  # noqa: E402

TIMING_WARMUP = 3  # benchmarks.efficiency.timing.median_seconds' default, used for the batch-1 latency
INNER_WORK = ("lottery-ticket", "lora-prune", "prune-lora", "head-pruning")


def efficiency_tokens(repeats: int) -> int:
    """Forward tokens of `benchmarks.efficiency.row.measure` at `bench_repeats` = repeats."""
    latency = (TIMING_WARMUP + repeats) * LATENCY_BATCH * SEQ_LEN
    throughput = (1 + max(1, repeats // 2)) * THROUGHPUT_BATCH * SEQ_LEN
    peak, flops = THROUGHPUT_BATCH * SEQ_LEN, SEQ_LEN
    return latency + throughput + peak + flops


def count(config_path: Path, model: str | None = None) -> Counter:
    """The work of every run of the config (dense checkpoints once), as a Counter of named totals."""
    from prunebench.benchmarks.config import RunConfig, TrainConfig, parse_overrides
    from prunebench.benchmarks.grid import registry_name, runs
    from prunebench.benchmarks.models import load_tokenizer
    from prunebench.benchmarks.runner import prepare
    from prunebench.benchmarks.train import steps_per_epoch
    from prunebench.benchmarks.workflow_config import check_config, load_yaml

    config = check_config(load_yaml(config_path))
    total: Counter = Counter()
    tokens: dict[tuple, tuple[int, int]] = {}
    dense_done: set[str] = set()
    for run in runs(config):
        if model and run.model != model:
            continue
        cfg = RunConfig(run.model, run.task, registry_name(run.method), run.sparsity, run.seed, dict(run.params),
                        parse_overrides(TrainConfig(), run.train), config.get("data_source", "auto"))
        prep = prepare(cfg)
        recipe = prep.cfg.train
        key = (run.model, run.task, len(prep.splits.train), tuple(len(df) for df in prep.splits.evals.values()), recipe.max_len)
        if key not in tokens:
            tok = load_tokenizer(prep.spec)

            def n_tokens(df):
                texts = [df[c].tolist() for c in prep.task.fields]
                enc = tok(*texts, truncation=True, max_length=recipe.max_len)
                return sum(len(ids) for ids in enc["input_ids"])

            tokens[key] = (n_tokens(prep.splits.train), sum(n_tokens(df) for df in prep.splits.evals.values()))
        train_tokens, eval_tokens = tokens[key]
        n, per_epoch = len(prep.splits.train), steps_per_epoch(len(prep.splits.train), recipe.batch_size)
        eval_examples = sum(len(df) for df in prep.splits.evals.values())

        def train(epochs: float, what: str) -> None:
            steps = round(epochs * per_epoch)
            total[f"{what} steps"] += steps
            total["training examples"] += min(steps * recipe.batch_size, round(epochs * n))
            total["forward-token passes"] += 3 * round(train_tokens * steps / per_epoch)

        dense_key = prep.dense_key()
        if dense_key not in dense_done:  # made once, by the first run that needs it
            dense_done.add(dense_key)
            train(recipe.epochs, "dense fine-tuning")
            total["evaluation examples"] += eval_examples
            total["forward-token passes"] += eval_tokens
        total["runs"] += 1
        method = prep.method_cls(prep.params)
        if method.trains:
            epochs, _ = method.training_phase(recipe)
            train(epochs, "method training")
            total["evaluation examples"] += eval_examples
            total["forward-token passes"] += eval_tokens
        if prep.cfg.method == "ffn-pruning" and prep.params.criterion == "taylor":
            batches = prep.params.importance_batches or per_epoch
            share = min(batches, per_epoch) / per_epoch
            total["scoring examples"] += prep.params.rounds * min(batches * recipe.batch_size, n)
            total["forward-token passes"] += 3 * prep.params.rounds * round(train_tokens * share)
        if prep.cfg.method in INNER_WORK:
            total[f"not counted: {prep.cfg.method}'s inner work"] += 1
        total["forward-token passes"] += efficiency_tokens(recipe.bench_repeats)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--against", type=Path, default=None, help="another config: print its counts and the ratio")
    parser.add_argument("--model", default=None, help="count only this model's runs")
    args = parser.parse_args(argv)
    new = count(args.config, args.model)
    if args.against is None:
        for name, value in sorted(new.items()):
            print(f"{name}: {value}")
        return 0
    old = count(args.against, args.model)
    print(f"| quantity | {args.against} | {args.config} | ratio |\n|:--|--:|--:|--:|")
    for name in sorted(set(old) | set(new)):
        ratio = f"{old[name] / new[name]:.2f}x" if new[name] else "-"
        print(f"| {name} | {old[name]:,} | {new[name]:,} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

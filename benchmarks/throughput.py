"""Training examples/s of the PruneBench loop next to Hugging Face `Trainer`, same model, task, batch,
recipe and device, in one process; both models are then scored by the same evaluation code.

    prunebench throughput --model minilm-l6 --task sst2 --device cuda --epochs 1

Two rates are reported for each: end to end (every step, compilation and data loading included) and
steady state (after the first tenth of the steps, at most 100). Results go to stdout and, with
``--out``, to a CSV with the device named.
"""

from __future__ import annotations

import argparse
import time

COLUMNS = ("loop", "model", "task", "device", "batch_size", "epochs", "steps", "examples", "seconds",
           "examples_per_s", "steady_examples_per_s", "score", "metric", "torch_version", "transformers_version", "git_commit",
           "step_mode")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="minilm-l6")
    p.add_argument("--task", default="sst2")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-train-samples", type=int, default=0, help="0 = the full training split")
    p.add_argument("--max-eval-samples", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-trainer", action="store_true", help="time only the PruneBench loop")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="training config field for both loops")
    p.add_argument("--out", default=None, help="CSV to write the two rows to")


def _trainer_run(prep, run, cfg, epochs: float, device):
    """Fine-tune with `transformers.Trainer` on the same tokenised data and recipe."""
    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    from .train import warmup_steps

    data = run.train.data
    use_types = run.train.use_token_types

    class Split(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            ids = data.ids[data.offsets[i] : data.offsets[i + 1]].astype(np.int64)
            item = {"input_ids": ids.tolist(), "labels": data.labels[i].item()}
            if use_types:
                item["token_type_ids"] = [0] * int(data.first_len[i]) + [1] * (len(ids) - int(data.first_len[i]))
            return item

    class Steady(TrainerCallback):
        def __init__(self):
            self.t = None
            self.step = None

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == warmup_steps(state.max_steps):
                torch.cuda.synchronize() if device.type == "cuda" else None
                self.t, self.step = time.perf_counter(), state.global_step

    seed = prep.cfg.seed
    from .train import seed_everything

    seed_everything(seed)
    model = run.load()
    args = TrainingArguments(
        output_dir=str(run_tmp()),
        per_device_train_batch_size=cfg.batch_size,
        num_train_epochs=epochs,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=int(cfg.warmup_ratio * max(1, len(data) // cfg.batch_size) * epochs),
        lr_scheduler_type=cfg.schedule if cfg.schedule != "constant" else "constant_with_warmup",
        max_grad_norm=cfg.max_grad_norm,
        bf16=cfg.bf16 and device.type == "cuda",
        use_cpu=device.type == "cpu",
        seed=seed,
        save_strategy="no",
        logging_steps=50,
        report_to=[],
        disable_tqdm=not cfg.progress,
        dataloader_drop_last=True,
    )
    steady = Steady()
    trainer = Trainer(model=model, args=args, train_dataset=Split(), data_collator=DataCollatorWithPadding(run.tokenizer),
                      callbacks=[steady])
    start = time.perf_counter()
    out = trainer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    end = time.perf_counter()
    steps = out.global_step
    rate = (steps - steady.step) * cfg.batch_size / (end - steady.t) if steady.t else None
    return trainer.model.to(device), steps, end - start, rate


def run_tmp():
    import tempfile

    return tempfile.mkdtemp(prefix="prunebench-trainer-")


def main(args) -> int:
    from . import provenance
    from .cli import _check_device, _kv
    from .config import RunConfig, TrainConfig, parse_overrides
    from .records import write_atomic
    from .runner import Run, prepare
    from .train import evaluate, finetune, seed_everything

    overrides = {**_kv(args.set, "--set"), "batch_size": str(args.batch_size),
                 "max_train_samples": str(args.max_train_samples), "max_eval_samples": str(args.max_eval_samples)}
    cfg = parse_overrides(TrainConfig(), overrides)
    prep = prepare(RunConfig(args.model, args.task, "dense", 0.0, args.seed, {}, cfg))
    device = provenance.pick_device(_check_device(args.device))
    run = Run(prep, device)
    rows = []
    common = {"model": args.model, "task": args.task, "device": provenance.device_name(device), "batch_size": cfg.batch_size,
              "epochs": args.epochs, "metric": "+".join(prep.task.primary), **provenance.versions(), "git_commit": provenance.git_commit()}

    from prunebench.methods.dense import Dense

    seed_everything(prep.cfg.seed)
    model = run.load()
    model, stats = finetune(model, Dense(), run.context(0.0), run.train, cfg, args.epochs, cfg.lr, prep.cfg.seed, desc="prunebench loop")
    _, score = evaluate(model, prep.task, run.evals, cfg, device)
    rows.append({**common, "loop": "prunebench", "steps": stats.steps, "examples": stats.examples, "seconds": stats.seconds,
                 "examples_per_s": stats.examples / stats.seconds, "steady_examples_per_s": stats.steady_examples_per_s, "score": score,
                 "step_mode": stats.step_mode})
    del model
    if not args.skip_trainer:
        model, steps, seconds, steady = _trainer_run(prep, run, cfg, args.epochs, device)
        _, score = evaluate(model, prep.task, run.evals, cfg, device)
        rows.append({**common, "loop": "hf-trainer", "steps": steps, "examples": steps * cfg.batch_size, "seconds": seconds,
                     "examples_per_s": steps * cfg.batch_size / seconds, "steady_examples_per_s": steady, "score": score})
    for row in rows:
        steady = f"{row['steady_examples_per_s']:.0f}" if row["steady_examples_per_s"] else "n/a"
        print(f"{row['loop']:<11} {row['examples_per_s']:8.0f} ex/s end-to-end, {steady:>6} ex/s steady, "
              f"{row['steps']} steps in {row['seconds']:.1f} s, dev {row['metric']} {row['score']:.2f}  [{row['device']}]")
    if len(rows) == 2:
        a, b = rows
        print(f"speed-up over Trainer: {a['examples_per_s'] / b['examples_per_s']:.2f}x end-to-end"
              + (f", {a['steady_examples_per_s'] / b['steady_examples_per_s']:.2f}x steady" if a["steady_examples_per_s"] and b["steady_examples_per_s"] else ""))
    if args.out:
        import pandas as pd

        write_atomic(args.out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))
    return 0

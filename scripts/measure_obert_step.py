"""Time and memory of one oBERT pruning step on a real model, through the method's own code.

One step = `--num-grads` loss gradients (mini-batches of `grad_batch_size` examples at sequence length
`--length`), their block outer products accumulated into the block-diagonal Fisher (B = 50), the blocks
inverted, saliencies ranked globally and the OBS update applied (`OBert._prune`). The token ids are random:
the cost depends on shapes, not on the text. Prints one JSON object: the step's wall time and its Fisher part
(gradients + accumulation), the Fisher accumulation alone for 16 gradients (random, full model size), the
bytes of the Fisher blocks, and the process's peak resident memory (and peak CUDA memory on a GPU).

    OMP_NUM_THREADS=2 python scripts/measure_obert_step.py --model minilm-l6 --num-grads 32 --threads 2
    python scripts/measure_obert_step.py --model local:.carry/minilm-l6 --device cuda --num-grads 1024
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prunebench.benchmarks import provenance  # noqa: E402
from prunebench.benchmarks.models import load_model, resolve  # noqa: E402
from prunebench.benchmarks.tasks import get_task  # noqa: E402
from prunebench.benchmarks.train import model_inputs, task_loss  # noqa: E402
from prunebench.methods.base import PruneContext  # noqa: E402
from prunebench.methods.obert import GRADS_PER_ADD, BlockFisher, OBert  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--num-grads", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    task = get_task("sst2")
    torch.manual_seed(0)
    model = load_model(resolve(args.model), task).to(device)
    method = OBert(OBert.parse_params({"num_grads": str(args.num_grads)}))
    batch_size = 2 * method.params.grad_batch_size
    generator = torch.Generator().manual_seed(0)

    def batches():
        for _ in range(args.num_grads // 2 + 1):
            ids = torch.randint(1000, 30000, (batch_size, args.length), generator=generator)
            yield {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device),
                   "labels": torch.randint(0, 2, (batch_size,), generator=generator).to(device)}

    def loss_fn(m, batch):
        return task_loss(task, m(**model_inputs(batch)).logits, batch["labels"])

    ctx = PruneContext(0.5, task, device, 0, loss_fn, batches)  # total_steps 0: one step, straight to the target
    weights = ctx.prunable(model)
    numel = sum(w.numel() for w in weights.values())
    fishers = {n: BlockFisher(w.numel(), method.params.block_size, device) for n, w in weights.items()}
    fisher_bytes = sum(f.gram.numel() * f.gram.element_size() for f in fishers.values())
    start = time.perf_counter()
    for name, w in weights.items():
        fishers[name].add(torch.randn(GRADS_PER_ADD, *w.shape, device=device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    accumulate_seconds = time.perf_counter() - start
    del fishers
    method.before_training(model, ctx)
    (step,) = ctx.info["pruning"]
    print(json.dumps({
        "model": args.model, "prunable_weights": numel, "block_size": method.params.block_size,
        "fisher_blocks_bytes": fisher_bytes, "gradients": step["gradients"], "grad_batch_size": method.params.grad_batch_size,
        "sequence_length": args.length, "step_seconds": step["seconds"], "fisher_seconds": step["fisher_seconds"],
        "accumulate_16_gradients_seconds": round(accumulate_seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_cuda_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
        "device": provenance.device_name(device), "torch_version": torch.__version__, "git_commit": provenance.git_commit(),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

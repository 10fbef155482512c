"""Which attention kernel a MiniLM forward runs, eagerly and replayed as a CUDA graph, and what each costs.

Written when the H200 efficiency bench timed dense MiniLM at batch 128 at 5.79 ms as a CUDA graph but 2.31 ms
eagerly (`results/v1/efficiency.csv`): it times both under each SDPA backend PyTorch offers, then lists the
top CUDA kernels of each under `torch.profiler`. On that machine the eager forward ran cuDNN's fused
attention and the captured graph the fp32 math path (results/v1/README.md, "efficiency.csv").

    GLUE_DIR=... PRUNEBENCH_MINILM_DIR=$PWD/.carry/minilm-l6 python scripts/profile_sdpa.py --batches 32,128
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--batches", default="32,128")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--attention", choices=("default", "unpadded"), default="default",
                        help="transformers' default SDPA, or the bench's unmasked SDPA (benchmarks/efficiency/attention.py)")
    args = parser.parse_args()

    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.profiler import ProfilerActivity, profile

    from prunebench.benchmarks.efficiency.inputs import synthetic_batch
    from prunebench.benchmarks.efficiency.timing import cuda_graph, median_seconds
    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task

    if not torch.cuda.is_available():
        print("profile_sdpa: needs a CUDA device", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    model = load_model(resolve(args.model), get_task("sst2")).eval().to(device, torch.float16)
    if args.attention == "unpadded":
        from prunebench.benchmarks.efficiency.attention import use_unpadded_sdpa

        use_unpadded_sdpa(model)
    print(f"attention implementation {model.config._attn_implementation}; cuDNN SDPA enabled "
          f"{torch.backends.cuda.cudnn_sdp_enabled()}")
    backends = {"default": None, "flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}
    for batch in [int(b) for b in args.batches.split(",")]:
        inputs = synthetic_batch(model, batch, args.seq_len, device, mask=False)
        for name, backend in backends.items():
            try:
                with torch.inference_mode(), (sdpa_kernel([backend]) if backend else contextlib.nullcontext()):
                    def forward():
                        return model(**inputs)
                    eager = median_seconds(forward, device, args.repeats, 5)
                    graph = median_seconds(cuda_graph(forward, 3), device, args.repeats, 5)
                print(f"batch {batch:4d} {name:10s} eager {eager * 1e3:7.3f} ms   graph {graph * 1e3:7.3f} ms", flush=True)
            except RuntimeError as exc:  # a backend that cannot run these inputs says why
                print(f"batch {batch:4d} {name:10s} {str(exc).splitlines()[0][:150]}", flush=True)
        with torch.inference_mode():
            def forward():
                return model(**inputs)
            replay = cuda_graph(forward, 3)
            for label, call in (("eager", forward), ("cuda-graph", replay)):
                for _ in range(3):
                    call()
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(5):
                        call()
                    torch.cuda.synchronize()
                print(f"batch {batch}, {label}: top CUDA kernels of 5 calls")
                print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=70))
    return 0


if __name__ == "__main__":
    sys.exit(main())

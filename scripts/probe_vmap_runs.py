"""Issue 18's open question, measured before building on it: do K runs trained as one vmapped step beat K runs apart?

The grid's runs of one method and task differ only in seed, sparsity (their masks) and data order, and a
22M-parameter model at batch 32 leaves most of an H200 idle. `torch.func.vmap` over K copies of the model's
parameters (stacked, `torch.func.stack_module_state`) computes K runs' forward and backward passes in the same
kernels; one AdamW over the stacked tensors updates them all (AdamW is elementwise, so slice k of the update is
run k's own update). This probe times one training step (forward, loss, backward, AdamW) of MiniLM-L6's shape
(6 layers, hidden 384, 12 heads, FFN 1,536; random weights: speed does not depend on their values) alone and
vmapped over K runs, each with its own batch, and prints run-steps per second (K x steps per second) for each K.

    python scripts/probe_vmap_runs.py --device cuda --ks 1,4,8,16 --out $OUT/vmap.json

Ways (`--ways`): `separate` (one run's eager step; at K = 1 only, K runs apart being K times one run), `graph`
(the same step captured as one CUDA graph and replayed, as the harness trains: also K = 1 only), `vmap` (K runs
in one eager vmapped step) and `vmap-graph` (that step captured as one CUDA graph); `compile`, `compile-graph`,
`vmap-compile` and `vmap-compile-graph` are the same four with the model (apart) or the whole vmapped forward and
backward (together) compiled by Inductor, dropout drawn by the eager ops as the harness compiles. Calls 11-14 found
the vmapped step's time in unfused elementwise kernels (copies, casts, additions over the stacked parameters);
the compiled ways ask whether fusing them makes K runs in one step beat K runs apart, the lever issue 18's 3x
still needs (results/v2/README.md, "The saturated mix on one H200"). Each compiled row records its graphs and
graph breaks (Dynamo's counters). On one H200 (call 11,
`results/v2/probes/vmap-call11.json`) the eager vmapped step took the same 41-51 ms at K = 1 and K = 16, so it was
bound by launching kernels, not by computing: the graph ways remove the launches.

Attention goes through transformers' eager path under vmap: its mask builder branches on tensor values, which
vmap cannot trace, so each run's padding mask is given as the additive 4-D mask the layers use. Issue 18's
earlier probe (one H200, batch 32, 64 tokens, each run's step a CUDA graph) is the bar: 258 steps/s alone,
462 run-steps/s for 8 runs on 8 CUDA streams; 3x the v1 way needs about 3 x 277 = 830.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch._dynamo
import torch._inductor.config
import torch.nn.functional as F
from torch._dynamo.utils import counters

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MINILM_SHAPE = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                    intermediate_size=1536, max_position_embeddings=512)
TINY_SHAPE = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  max_position_embeddings=64)


def make_models(k: int, shape: dict, dropout: float, device: str, seed: int = 0) -> list[torch.nn.Module]:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(**shape, num_labels=2, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                        attn_implementation="eager")
    torch.manual_seed(seed)
    with torch.device(device):  # initialised where they train: 64 copies made on a CPU would take longer than the probe
        return [BertForSequenceClassification(config).train() for _ in range(k)]


def additive_mask(mask: torch.Tensor) -> torch.Tensor:
    """[batch, tokens] 1/0 padding mask -> the [batch, 1, 1, tokens] additive mask BERT's layers add to scores."""
    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def batches(k: int, batch: int, tokens: int, vocab: int, device: str, seed: int = 1) -> tuple[torch.Tensor, ...]:
    """K runs' batches: ids [K, batch, tokens], mask [K, batch, tokens] (a tenth of each row padding), labels [K, batch]."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (k, batch, tokens), generator=g)
    mask = torch.ones_like(ids)
    mask[..., tokens - max(1, tokens // 10):] = 0
    labels = torch.randint(0, 2, (k, batch), generator=g)
    return ids.to(device), mask.to(device), labels.to(device)


class SeparateSteps:
    """K runs stepped one after the other, each its own model and AdamW: what K runs apart compute."""

    def __init__(self, models, lr: float, bf16: bool, compiled: bool = False):
        # compiled: the model compiled inside the step, as `step_mode=auto-compile` trains (Inductor's default mode)
        self.models, self.bf16 = [torch.compile(m) for m in models] if compiled else models, bf16
        fused = next(models[0].parameters()).is_cuda
        self.optimizers = [torch.optim.AdamW(m.parameters(), lr=lr, fused=fused, capturable=fused) for m in models]

    def __call__(self, ids, mask, labels) -> torch.Tensor:
        losses = []
        for k, (model, opt) in enumerate(zip(self.models, self.optimizers)):
            opt.zero_grad(set_to_none=False)
            with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits = model(input_ids=ids[k], attention_mask=additive_mask(mask[k])).logits
            loss = F.cross_entropy(logits.float(), labels[k])
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses)


class VmappedSteps:
    """K runs in one step: their parameters stacked ([K, ...] leaves), forward and backward under `vmap`, one AdamW."""

    def __init__(self, models, lr: float, bf16: bool, compiled: bool = False):
        from torch.func import functional_call, grad_and_value, stack_module_state, vmap

        params, self.buffers = stack_module_state(models)
        self.params = {n: p.detach().requires_grad_(False) for n, p in params.items()}
        self.leaves = list(self.params.values())
        for p in self.leaves:
            p.grad = torch.zeros_like(p)
        fused = self.leaves[0].is_cuda
        self.optimizer = torch.optim.AdamW(self.leaves, lr=lr, fused=fused, capturable=fused)
        base, self.bf16 = models[0], bf16

        def loss_of(p, b, ids, mask, labels):
            with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = functional_call(base, (p, b), (), {"input_ids": ids, "attention_mask": additive_mask(mask)}).logits
            return F.cross_entropy(logits.float(), labels)

        # each run draws its own dropout masks
        self.grads = vmap(grad_and_value(loss_of), randomness="different")
        if compiled:  # the question calls 11-14 left: does Inductor fuse the stacked elementwise work vmap leaves apart?
            self.grads = torch.compile(self.grads)

    def __call__(self, ids, mask, labels) -> torch.Tensor:
        grads, losses = self.grads(self.params, self.buffers, ids, mask, labels)
        for name, p in self.params.items():
            p.grad.copy_(grads[name])
        self.optimizer.step()
        return losses.detach()


class GraphedSteps:
    """A step captured once as a CUDA graph and replayed on the same input tensors, as `benchmarks/train.py`'s
    `GraphedTrainStep` does per padded length: three eager steps on a side stream first (capture needs the
    optimizer state and cuBLAS workspaces to exist), then one capture."""

    WARMUP = 3

    def __init__(self, step):
        self.step, self.graph, self.out = step, None, None

    def __call__(self, ids, mask, labels) -> torch.Tensor:
        if self.graph is None:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(self.WARMUP):
                    self.step(ids, mask, labels)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = self.step(ids, mask, labels)
        self.graph.replay()
        return self.out


def profile_step(step, data, steps: int, device: str, top: int = 15) -> list[dict]:
    """Where one step's time goes: the `top` kernels (on CPU, operators) by time over `steps` steps, each as
    {"name", "ms_per_step", "calls_per_step"}. On CUDA the time is the kernels' own device time, so the sum is how
    long the GPU is busy per step whether or not launches hide it (read with torch.profiler, one warm step first)."""
    from torch.profiler import ProfilerActivity, profile

    step(*data)
    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step(*data)
        if cuda:
            torch.cuda.synchronize()
    events = prof.key_averages()
    if cuda:  # kernels only: an operator's device time would count its kernels a second time
        events = [e for e in events if str(e.device_type).endswith("CUDA")]
        seconds = [getattr(e, "self_device_time_total", 0) for e in events]
    else:
        seconds = [e.self_cpu_time_total for e in events]
    ranked = sorted(((t, e) for t, e in zip(seconds, events) if not is_range(e.key)), key=lambda pair: -pair[0])
    return [{"name": e.key[:120], "ms_per_step": t / 1000 / steps, "calls_per_step": e.count / steps}
            for t, e in ranked[:top] if t > 0]


def is_range(name: str) -> bool:
    """A labelled range the profiler also puts on the device timeline (the optimizer's step, a profiler step):
    it spans kernels that are listed on their own, so counting it would count them twice."""
    return name.startswith(("Optimizer.", "ProfilerStep"))


def is_matmul(name: str) -> bool:
    """cuBLAS's matrix-product kernels (nvjet on Hopper, gemm/cutlass elsewhere)."""
    return name.startswith("nvjet") or "gemm" in name.lower() or "cutlass" in name.lower()


# way -> (step class, captured as a CUDA graph, model or vmapped step compiled)
WAYS = {"separate": (SeparateSteps, False, False), "graph": (SeparateSteps, True, False), "vmap": (VmappedSteps, False, False),
        "vmap-graph": (VmappedSteps, True, False), "compile": (SeparateSteps, False, True),
        "compile-graph": (SeparateSteps, True, True), "vmap-compile": (VmappedSteps, False, True),
        "vmap-compile-graph": (VmappedSteps, True, True)}


def time_steps(step, data, steps: int, warmup: int, device: str) -> float:
    """Seconds per step, after `warmup` untimed steps."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        step(*data)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step(*data)
    sync()
    return (time.perf_counter() - start) / steps


def markdown_table(files: list[Path]) -> str:
    """The figures of several probe JSONs as one markdown table; each row's speed-up is against one graphed run
    alone (`graph` at K = 1, how the harness trains a run) of the same file, blank where that file lacks it."""
    lines = ["| file | device | way | K | ms per step | run-steps per s | vs one graphed run |",
             "|---|---|---|--:|--:|--:|--:|"]
    probes = [(path, json.loads(path.read_text())) for path in files]
    for path, figures in probes:
        graph_alone = next((r["run_steps_per_s"] for r in figures["rows"] if r["way"] == "graph" and r["k"] == 1), None)
        for r in figures["rows"]:
            if "error" in r:
                lines.append(f"| `{path.name}` | {figures['device']} | {r['way']} | {r['k']} | failed: {r['error']} | | |")
                continue
            ratio = f"{r['run_steps_per_s'] / graph_alone:.2f}" if graph_alone else ""
            lines.append(f"| `{path.name}` | {figures['device']} | {r['way']} | {r['k']} | "
                         f"{1000 * r['seconds_per_step']:.1f} | {r['run_steps_per_s']:.1f} | {ratio} |")
    first = probes[0][1]
    return (f"One training step (forward, loss, backward, AdamW) of MiniLM-L6's shape at batch {first['batch']}, "
            f"{first['tokens']} tokens, dropout {first['dropout']}, bf16 autocast, PyTorch {first['torch']}; "
            "run-steps per s = K x steps per s.\n\n" + "\n".join(lines) + "\n" + profile_tables(probes))


def profile_tables(probes: list[tuple[Path, dict]]) -> str:
    """The `--profile` listings of the probes that have one: per step profiled (eager, or compiled with
    `--profile-compiled`), its top kernels by GPU time
    and how much of that the matrix products are (labelled ranges left out: `is_range`)."""
    out = []
    for path, figures in probes:
        for p in figures.get("profile", []):
            top = [t for t in p["top"] if not is_range(t["name"])]
            listed = sum(t["ms_per_step"] for t in top)
            matmul = sum(t["ms_per_step"] for t in top if is_matmul(t["name"]))
            out += [f"\n### `{path.name}`: where the GPU time of one step goes, {p['way']} at K = {p['k']}\n",
                    f"The {len(top)} kernels with the most GPU time: {listed:.2f} ms per step, of which matrix products "
                    f"{matmul:.2f} ms.\n", "| kernel | ms per step | calls per step |", "|---|--:|--:|"]
            out += [f"| `{t['name'][:90]}` | {t['ms_per_step']:.3f} | {t['calls_per_step']:.0f} |" for t in top]
    return "\n".join(out) + ("\n" if out else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--ks", default="1,4,8,16", help="runs per vmapped step, comma-separated")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--ways", default="separate,graph,vmap,vmap-graph",
                        help=f"comma-separated, of {', '.join(WAYS)}; the graph ways need CUDA")
    parser.add_argument("--profile", default="", metavar="KS",
                        help="also profile the eager steps (separate at K=1, vmap at these comma-separated K): top kernels")
    parser.add_argument("--profile-compiled", action="store_true",
                        help="profile the compiled steps instead (compile at K=1, vmap-compile at --profile's K)")
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT instead of MiniLM-L6's shape (CPU checks)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file for the figures (default: print only); with --table, the markdown file")
    parser.add_argument("--table", type=Path, nargs="+", default=None, metavar="JSON",
                        help="measure nothing: write earlier probes' JSON files as one markdown table")
    args = parser.parse_args(argv)
    if args.table is not None:
        missing = [str(p) for p in args.table if not p.is_file()]
        if missing:
            parser.error(f"--table: no such file {', '.join(missing)}")
        from prunebench.analysis.tables import write_script_markdown

        argv_used = ["--table", *map(str, args.table)] + (["--out", str(args.out)] if args.out else [])
        write_script_markdown("scripts/probe_vmap_runs.py", argv_used, ", ".join(map(str, args.table)),
                              "Runs per training step: apart, graphed, vmapped", markdown_table(args.table), args.out)
        return 0
    try:
        ks = [int(k) for k in args.ks.split(",")]
    except ValueError:
        parser.error(f"--ks {args.ks}: give whole numbers, e.g. 1,4,8")
    if any(k < 1 for k in ks):
        parser.error(f"--ks {args.ks}: every K must be >= 1")
    ways = args.ways.split(",")
    unknown = [w for w in ways if w not in WAYS]
    if unknown:
        parser.error(f"--ways {args.ways}: unknown {', '.join(unknown)}; choose from {', '.join(WAYS)}")
    if not args.device.startswith("cuda") and any(WAYS[w][1] for w in ways):
        parser.error(f"--ways {args.ways}: the graph ways need --device cuda")
    try:
        profile_ks = [int(k) for k in args.profile.split(",")] if args.profile else []
    except ValueError:
        parser.error(f"--profile {args.profile}: give whole numbers, e.g. 32")
    shape = TINY_SHAPE if args.tiny else MINILM_SHAPE
    bf16 = args.device.startswith("cuda")
    # dropout drawn by the eager ops, as the harness compiles (benchmarks/train.py): Inductor's own random numbers
    # read the generator in ways a CUDA graph capture refuses
    torch._inductor.config.fallback_random = True
    figures = {"device": torch.cuda.get_device_name(0) if bf16 else "cpu", "torch": torch.__version__,
               "batch": args.batch, "tokens": args.tokens, "dropout": args.dropout, "shape": shape, "rows": []}
    alone = None  # the first figure measured: one eager run unless --ways leaves it out
    for k in ks:
        models = make_models(k, shape, args.dropout, args.device)
        data = batches(k, args.batch, args.tokens, shape["vocab_size"], args.device)
        for way in ways:
            cls, graphed, compiled = WAYS[way]
            if cls is SeparateSteps and k > 1:
                continue  # K runs apart in one process are K times one run: timed once, at K = 1
            step = None
            torch._dynamo.reset()  # each compiled way compiles from nothing, its graph breaks its own
            counters.clear()
            try:
                step = cls(models, lr=1e-4, bf16=bf16, compiled=compiled)
                seconds = time_steps(GraphedSteps(step) if graphed else step, data, args.steps, args.warmup, args.device)
            except RuntimeError as error:  # e.g. an op capture refuses: a finding for the JSON, not the probe's end
                figures["rows"].append({"way": way, "k": k, "error": str(error).splitlines()[0]})
                print(f"{way:<18} K={k:<3} failed: {str(error).splitlines()[0]}", flush=True)
                del step
                continue
            run_steps = k / seconds
            alone = alone or run_steps
            row = {"way": way, "k": k, "seconds_per_step": seconds, "run_steps_per_s": run_steps,
                   "vs_one_run": run_steps / alone}
            if compiled:  # a compiled step that breaks into pieces runs the pieces between them eagerly
                row.update(graphs=counters["stats"]["unique_graphs"], graph_breaks=sum(counters["graph_break"].values()))
            figures["rows"].append(row)
            breaks = f", {row['graphs']} graph(s), {row['graph_breaks']} break(s)" if compiled else ""
            print(f"{way:<18} K={k:<3} {run_steps:8.1f} run-steps/s  ({run_steps / alone:.2f}x the first way at K=1{breaks})",
                  flush=True)
            del step
            if bf16:
                torch.cuda.empty_cache()
        del models, data
    alone_way, vmapped_way = ("compile", "vmap-compile") if args.profile_compiled else ("separate", "vmap")
    for way, k in ([(alone_way, 1)] if profile_ks else []) + [(vmapped_way, k) for k in profile_ks]:
        cls, _, compiled = WAYS[way]
        models = make_models(k, shape, args.dropout, args.device)
        torch._dynamo.reset()
        kernels = profile_step(cls(models, lr=1e-4, bf16=bf16, compiled=compiled), batches(k, args.batch, args.tokens,
                               shape["vocab_size"], args.device), min(args.steps, 10), args.device)
        figures.setdefault("profile", []).append({"way": way, "k": k, "top": kernels})
        print(f"profile {way} K={k}: " + "; ".join(f"{t['name'][:40]} {t['ms_per_step']:.2f} ms" for t in kernels[:5]),
              flush=True)
        del models
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

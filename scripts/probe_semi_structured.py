"""Time one linear layer with a 2:4 weight against the same layer dense, per backend and shape, on one GPU.

The efficiency bench found 2:4 MiniLM and BERT-base slower than dense (results/v1/efficiency.csv). This
separates the kernels from the model: for each (out, in) weight shape and number of input rows it times
`F.linear` with the dense fp16 weight and with `to_sparse_semi_structured` on each backend PyTorch offers
(cuSPARSELt, CUTLASS), eagerly and replayed as a CUDA graph, so per-call host overhead and kernel speed
show apart. ``cusparselt-searched`` is cuSPARSELt with the matmul algorithm that `torch._cslt_sparse_mm_search`
finds fastest for that shape and row count (`to_sparse_semi_structured` otherwise uses algorithm 0): whether
tuning, not the format, is what loses; ``cusparselt-fused`` adds cuSPARSELt writing its result already
transposed (the subclass's ``fuse_transpose_cusparselt``), which saves a copy of the output. Prints CSV to
stdout; a combination that fails prints a `#` line.

    python scripts/probe_semi_structured.py --rows 4096,16384 > /tmp/probe.csv
    python scripts/probe_semi_structured.py --shapes minilm --rows 4096,16384,65536 --backends cusparselt,cusparselt-searched
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHAPES = {  # (out, in) of the encoder linears: attention projections, FFN up, FFN down
    "minilm": ((384, 384), (1536, 384), (384, 1536)),
    "bert-base": ((768, 768), (3072, 768), (768, 3072)),
    "bert-large": ((1024, 1024), (4096, 1024), (1024, 4096)),
}
BACKENDS = ("cutlass", "cusparselt", "cusparselt-searched", "cusparselt-fused")


def median_ms(call, repeats: int, graph: bool) -> float:
    """The efficiency bench's own timing (`benchmarks.efficiency.timing`), so probe and bench agree."""
    from prunebench.benchmarks.efficiency.timing import cuda_graph, median_seconds

    device = torch.device("cuda")
    return 1e3 * median_seconds(cuda_graph(call) if graph else call, device, repeats)


def two_four(weight: torch.Tensor) -> torch.Tensor:
    """Keep the two largest of every four input weights (the `magnitude-2of4` method's pattern)."""
    from prunebench.methods._masking import nm_masks

    return weight * nm_masks({"w": weight.abs()})["w"]


def best_alg_id(weight: torch.Tensor, x: torch.Tensor) -> int:
    """cuSPARSELt's fastest algorithm for W @ x^T, the product `F.linear(x, W)` runs on a 2:4 weight (x^T
    as the transposed view it passes). Searching with ``transpose_result=True`` failed inside cuSPARSELt on
    an H100 (PyTorch 2.11: "internal error when calling cusparseLtMatmulSearch") and poisoned the CUDA
    context, so the fused backend reuses this search's choice."""
    return int(torch._cslt_sparse_mm_search(torch._cslt_compress(weight), x.t()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="4096,16384", help="input rows (batch x sequence length)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--shapes", default="minilm,bert-base,bert-large", help=f"weight shape sets: {', '.join(SHAPES)}")
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated: {', '.join(BACKENDS)}")
    args = parser.parse_args()
    sets = [s.strip() for s in args.shapes.split(",") if s.strip()]
    asked = [b.strip() for b in args.backends.split(",") if b.strip()]
    for name, valid in [*((s, SHAPES) for s in sets), *((b, BACKENDS) for b in asked)]:
        if name not in valid:
            print(f"probe_semi_structured.py: unknown {name!r}; valid: {', '.join(valid)}", file=sys.stderr)
            return 2
    if not torch.cuda.is_available():
        print("probe_semi_structured.py: 2:4 kernels need a CUDA GPU; none is visible here", file=sys.stderr)
        return 2
    from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured

    device = torch.device("cuda")
    out = csv.writer(sys.stdout)
    out.writerow(["device", "torch", "out", "in", "rows", "backend", "execution", "dense_ms", "sparse_ms", "speedup"])
    backends = [b for b in asked if b == "cutlass" or torch.backends.cusparselt.is_available()]
    torch.manual_seed(0)
    for n_out, n_in in dict.fromkeys(shape for s in sets for shape in SHAPES[s]):
        weight = two_four(torch.randn(n_out, n_in, device=device, dtype=torch.float16))
        for rows in (int(r) for r in args.rows.split(",")):
            x = torch.randn(rows, n_in, device=device, dtype=torch.float16)
            for backend in backends:
                SparseSemiStructuredTensor._FORCE_CUTLASS = backend == "cutlass"
                try:
                    sparse = to_sparse_semi_structured(weight)
                    if backend in ("cusparselt-searched", "cusparselt-fused"):  # attributes: older PyTorch has no alg_id argument
                        sparse.alg_id_cusparselt = best_alg_id(weight, x)
                    sparse.fuse_transpose_cusparselt = backend == "cusparselt-fused"
                except Exception as exc:
                    print(f"# {n_out}x{n_in} rows {rows} {backend}: {str(exc).splitlines()[0]}", flush=True)
                    continue
                for execution in ("eager", "cuda-graph"):
                    with torch.inference_mode():
                        try:
                            dense_ms = median_ms(lambda: F.linear(x, weight), args.repeats, execution == "cuda-graph")
                            sparse_ms = median_ms(lambda: F.linear(x, sparse), args.repeats, execution == "cuda-graph")
                        except Exception as exc:  # a prototype API: say what failed and go on
                            print(f"# {n_out}x{n_in} rows {rows} {backend} {execution}: {str(exc).splitlines()[0]}", flush=True)
                            continue
                    out.writerow([torch.cuda.get_device_name(device), torch.__version__, n_out, n_in, rows, backend,
                                  execution, f"{dense_ms:.4f}", f"{sparse_ms:.4f}", f"{dense_ms / sparse_ms:.3f}"])
                    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

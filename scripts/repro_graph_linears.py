"""Does replaying a CUDA graph of plain `F.linear` calls crash at these shapes and row counts?

The efficiency bench's `linears` scope (every encoder linear on its own fixed input, captured as one graph)
died with "illegal memory access" for FFN-pruned MiniLM from about 20,000 rows on an H100, while dense
MiniLM, head-pruned MiniLM and every whole-model graph at the same batch ran. This takes the bench out of
the question: fp16 weights of the given (out, in) shapes, `--count` linears in sequence, one input per
linear, captured on a side stream the way `benchmarks.efficiency.timing.cuda_graph` does, replayed and
synchronised. Prints one line; a crash takes the process down (run one configuration per process).

    python scripts/repro_graph_linears.py --shapes 768x384,384x768 --rows 32768 --count 6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _shapes(text: str) -> list[tuple[int, int]]:
    shapes = [tuple(int(v) for v in s.split("x")) for s in text.split(",") if s.strip()]
    if any(len(s) != 2 or min(s) < 1 for s in shapes):
        raise ValueError(text)
    return shapes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="768x384,384x768", help="comma-separated OUTxIN weight shapes, called in turn")
    parser.add_argument("--rows", type=int, default=32768)
    parser.add_argument("--count", type=int, default=1, help="how many times the list of shapes repeats in the graph")
    parser.add_argument("--eager", action="store_true", help="call eagerly instead of capturing a graph")
    parser.add_argument("--then", default="", help="OUTxIN shapes of a second graph, captured after the first; both replay in turn (the bench's dense reference and a variant)")
    args = parser.parse_args()
    try:
        shapes, then = _shapes(args.shapes), (_shapes(args.then) if args.then else [])
        if not shapes:
            raise ValueError
    except ValueError:
        print(f"repro_graph_linears.py: --shapes and --then want OUTxIN pairs such as 768x384, got {args.shapes!r} {args.then!r}",
              file=sys.stderr)
        return 2
    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        print("repro_graph_linears.py: needs a CUDA GPU; none is visible here", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    device, dtype = torch.device("cuda"), torch.float16

    def linears(of):
        layers = [(torch.randn(o, i, device=device, dtype=dtype), torch.randn(o, device=device, dtype=dtype),
                   torch.randn(args.rows, i, device=device, dtype=dtype)) for _ in range(args.count) for o, i in of]
        return lambda: [F.linear(x, w, b) for w, b, x in layers]

    calls = [linears(shapes), *([linears(then)] if then else [])]
    with torch.inference_mode():
        if not args.eager:
            from prunebench.benchmarks.efficiency.timing import cuda_graph

            calls = [cuda_graph(c) for c in calls]
        for _ in range(3):
            for c in calls:
                c()
        torch.cuda.synchronize()
    print(f"ok: {'eager' if args.eager else 'graph'} {args.shapes} then {args.then or '-'} x{args.count} at {args.rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

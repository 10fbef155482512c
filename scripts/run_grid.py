"""Run a workflow config's grid without Snakemake: dense rows first, then every pruned row, several at a time.

For machines where Snakemake is not installed (the GPU machine). Rows land at the same paths the
workflow uses (results/v1/runs/<tag>/...), so `snakemake` later treats them as done and merges them.
A GPU running a 22M-parameter model is mostly idle, so ``--workers`` runs go side by side on it.

    python scripts/run_grid.py config/gpu-methods-sst2.yaml --workers 8 --root "$OUT"
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.paths import format_sparsity, model_slug, run_file  # noqa: E402
from benchmarks.workflow_config import check_config, load_yaml  # noqa: E402


def commands(config: dict, root: Path, device: str, threads: int) -> tuple[list[list[str]], list[list[str]]]:
    """(dense commands, pruned commands), each with its output path last-but-one."""
    dense, pruned = [], []
    for model in config["models"]:
        for task in config["tasks"]:
            train = {**config["train"], **config.get("task_train", {}).get(task, {})}
            sets = [x for k, v in sorted(train.items()) for x in ("--set", f"{k}={v}")]
            for seed in config["seeds"]:
                for method, spec in config["methods"].items():
                    params = [x for k, v in sorted(spec.get("params", {}).items()) for x in ("--param", f"{k}={v}")]
                    for s in spec["sparsities"]:
                        out = root / run_file(config["tag"], model_slug(model), task, method, format_sparsity(s), seed)
                        cmd = [sys.executable, "-m", "benchmarks.cli", "run", "--model", model, "--task", task,
                               "--method", method, "--sparsity", format_sparsity(s), "--seed", str(seed),
                               "--data-source", config.get("data_source", "auto"), "--device", device,
                               "--threads", str(threads), *sets, *params, "--set", "progress=false", "--out", str(out)]
                        (dense if method == "dense" else pruned).append(cmd)
    return dense, pruned


def run_all(cmds: list[list[str]], workers: int, logs: Path) -> list[tuple[str, int, float]]:
    def one(cmd):
        out = Path(cmd[-1])
        log = logs / out.relative_to(out.parents[4]).with_suffix(".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        start = time.time()
        with open(log, "w") as f:
            code = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
        line = f"{'ok ' if code == 0 else 'FAIL'} {time.time() - start:6.0f}s {out}"
        print(line, flush=True)
        return str(out), code, time.time() - start

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, cmds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--workers", type=int, default=4, help="runs side by side")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder that receives results/v1/runs/... and logs/")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    parser.add_argument("--only", default=None,
                        help="comma-separated methods to run, longest first: they start in this order (dense always runs)")
    args = parser.parse_args()
    config = check_config(load_yaml(args.config))
    if args.only:
        keep = set(args.only.split(",")) | {"dense"}
        config["methods"] = {k: v for k, v in config["methods"].items() if k in keep}
    dense, pruned = commands(config, args.root, args.device, args.threads)
    if args.only:
        order = args.only.split(",")
        pruned.sort(key=lambda cmd: order.index(cmd[cmd.index("--method") + 1]))
    logs = args.root / "logs" / config["tag"]
    results = run_all(dense, args.workers, logs)
    results += run_all(pruned, args.workers, logs)
    failed = [r for r in results if r[1] != 0]
    print(f"{len(results) - len(failed)} runs ok, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

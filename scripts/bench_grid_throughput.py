"""Rows per GPU-minute of the grid runner, the v1 way against the new ways, on one fixed mix (issue 18).

On the GPU machine, in one call:

    python scripts/bench_grid_throughput.py --gpus 2 --root /tmp/tp --out $OUT/tp

1. warm-up (not timed): tokenise and fine-tune the mix's dense checkpoints into the shared cache, so every way
   starts from the same checkpoints (GPU training is not bitwise reproducible: two fine-tunings of one
   checkpoint would differ by more than the rows being compared);
2. each way runs the whole pruned mix of config/bench-throughput.yaml into its own scratch root through
   scripts/run_grid.py: `v1` (one process per run, 8 per GPU, as the v1 campaign), then the new ways
   (`--pool`, `--mps`, their worker counts, the compiled step), each compiling into an empty cache of its own
   (a `-warmcache` way starts from the cache of the way named before it);
3. writes `throughput.csv` (rows, seconds, rows per GPU-minute and the ratio to v1, per way), `agreement.csv`
   (each row of each way against the v1 row of the same config: score, metrics and achieved sparsity
   differences), `profile.csv` (median seconds per phase of one run, per cost class, from the sidecars of
   the v1 way, where every run is a process of its own) and `profile-WAY.csv` for each new way.

Where one call cannot hold the v1 way and a new way (the saturated mix on one GPU), two calls on one warm machine
with the same --root and --out (a folder on the machine, copied to the call's $OUT after each): the first
`--ways v1`, the second the new ways with `--after-v1`, which rates them against the first call's v1 way and adds
their lines to its files:

    python scripts/bench_grid_throughput.py --gpus 1 --seeds 0,1 --root /tmp/tp --out /tmp/tp-out --ways v1
    python scripts/bench_grid_throughput.py --gpus 1 --seeds 0,1 --root /tmp/tp --out /tmp/tp-out \
        --ways pool8-mps-lf-compile --after-v1

`--add` puts each call's ways into the same files in any order, v1 included: a call that may fail (a new way) can
go first, and the v1 way's several minutes are spent only once it has run. The calls must run on one warm machine
(a fresh one would fine-tune the dense checkpoints anew, and `/tmp` is gone) with the same --root, --out, --gpus,
--seeds and --train:

    python scripts/bench_grid_throughput.py --gpus 1 --seeds 0,1 --root /tmp/tp --out /tmp/tp-out \
        --ways pool8-mps-lf-compile-cohort8 --add --train attention=eager
    python scripts/bench_grid_throughput.py --gpus 1 --seeds 0,1 --root /tmp/tp --out /tmp/tp-out \
        --ways v1 --add --train attention=eager

Every line's ratio and the agreement of every way's rows are to the v1 way, whichever call measured it; until v1
is measured they are left empty.

`--train KEY=VALUE` changes the mix's recipe for every way of the call alike (the `--cohort` ways need
`--train attention=eager` on CUDA; `--train pad_to_multiple=64` leaves a compiled cohort two padded lengths to
compile), and goes into the flags that `--after-v1` and `--add` match.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.benchmarks.leaderboard_check import ROUNDING, tolerance  # noqa: E402
from prunebench.benchmarks.run_profile import PHASES  # noqa: E402

CONFIG = ROOT / "config" / "bench-throughput.yaml"
RUN_GRID = ROOT / "scripts" / "run_grid.py"
# name -> run_grid.py flags; the ratio of every way is to `v1`
WAYS = {
    "v1": ["--workers", "8"],
    "v1-repeat": ["--workers", "8"],  # v1 again on the same checkpoints: how far two runs of one config differ on a GPU
    "pool8-mps": ["--workers", "8", "--pool", "--mps"],
    "pool4-mps": ["--workers", "4", "--pool", "--mps"],
    "pool8": ["--workers", "8", "--pool"],
    "mps8": ["--workers", "8", "--mps"],
    "pool16-mps": ["--workers", "16", "--pool", "--mps"],
    # longest first (as the v2 calls run): call 15's pool + MPS queue started its last SST-2 runs at 94 s of 157
    "pool8-mps-lf": ["--workers", "8", "--pool", "--mps", "--longest-first"],
    "pool16-mps-lf": ["--workers", "16", "--pool", "--mps", "--longest-first"],
    "v1-lf": ["--workers", "8", "--longest-first"],  # the control: the v1 way with the same order
    # call 19: with twelve SST-2 runs at once the GPU is the limit, and 80% of one step's kernel time is elementwise
    # work (probes/vmap.md): the model compiled inside the graphed step fuses it (step_mode=auto-compile)
    "pool8-mps-lf-compile": ["--workers", "8", "--pool", "--mps", "--longest-first", "--set", "step_mode=auto-compile"],
    # with longest first the eight places of one GPU all take SST-2 runs before any MRPC run of the saturated mix:
    # sixteen let the short runs' CPU-bound work go on beside the GPU-bound ones
    "pool16-mps-lf-compile": ["--workers", "16", "--pool", "--mps", "--longest-first", "--set", "step_mode=auto-compile"],
    # the one-shot runs of one task and seed (SST-2's four sparsities; MRPC's two magnitude methods at four) trained
    # in one vmapped step each (`run_grid.py --cohort`, benchmarks/cohort.py): K = 8 such runs compiled and graphed
    # made 2.5x one run's steps per second at 32 tokens (probes, call 46), eight runs under MPS 1.6x. On CUDA they
    # train together only with `--train attention=eager` (SDPA draws attention dropout in a fused kernel), for
    # every way of the call, v1 included, so that the ways run the same configs
    "pool8-mps-lf-compile-cohort8": ["--workers", "8", "--pool", "--mps", "--longest-first", "--set", "step_mode=auto-compile",
                                     "--cohort", "8"],
}
# a way that starts from the compile cache another way of the same call left (named before it in --ways), with that
# way's flags: what a later grid call on a warm machine pays, since Inductor's default cache folder outlives a call there
CACHE_FROM = {"pool8-mps-lf-compile-warmcache": "pool8-mps-lf-compile",
              "pool8-mps-lf-compile-cohort8-warmcache": "pool8-mps-lf-compile-cohort8"}
# vmap's batching rules fix the padded length in a compiled cohort graph, so a cohort compiles once per length. Call 67
# ran the cohort ways with `--set pad_to_multiple=64` (two lengths: ways `...-cohort8-pad64`, commit f574e92); padding
# turned out to change the dropout draws, so it is a recipe field now: `--train pad_to_multiple=64` pads every way alike
WAYS.update({way: WAYS[source] for way, source in CACHE_FROM.items()})


def mix_config(root: Path, train: list[str]) -> Path:
    """The mix, its recipe changed by `train` (KEY=VALUE training fields, `--train`): written under `root` for every
    way of the call alike. Raises UsageError for an unknown key or a bad value."""
    if not train:
        return CONFIG
    import yaml

    from prunebench.benchmarks.config import TrainConfig, parse_overrides, split_pair

    parse_overrides(TrainConfig(), train, what="--train").check()
    config = yaml.safe_load(CONFIG.read_text())
    config["train"] = {**config.get("train", {}), **dict(split_pair(pair, "--train") for pair in train)}
    root.mkdir(parents=True, exist_ok=True)
    path = root / CONFIG.name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def grid(root: Path, gpus: int, flags: list[str], extra: list[str] = (), config: Path = CONFIG) -> tuple[float, str, bool]:
    """Run the mix through scripts/run_grid.py into `root`; returns (wall seconds, its output, whether it was cut).

    Every way compiles into a cache of its own under `root` (Inductor's FX-graph and AOTAutograd caches, Triton's
    kernels), empty at its start as on a fresh machine: a compiled way measured after another would otherwise
    load that one's kernels from the shared default folder and pay a fraction of its compile. The output goes to
    `root`/run_grid.log as it comes, so a way cut by the call's time limit (SIGINT, `timeout -s INT`) keeps its log
    (call 64 lost one that was written only at the end)."""
    cache = compile_cache(root)
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache), "TRITON_CACHE_DIR": str(cache / "triton")}
    root.mkdir(parents=True, exist_ok=True)
    log = root / "run_grid.log"
    start, cut = time.time(), False
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(RUN_GRID), str(config), "--gpus", str(gpus), "--root", str(root),
                                 *flags, *extra], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            proc.wait()
        except KeyboardInterrupt:
            cut = True
            proc.send_signal(signal.SIGINT)  # run_grid stops its queue; its rows so far stay
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return time.time() - start, log.read_text(), cut


def compile_cache(root: Path) -> Path:
    return root / "compile-cache"


def rows_of(root: Path) -> dict[str, dict]:
    found = {}
    for path in sorted((root / "results").rglob("*.csv")):
        if "/dense/" in str(path):
            continue
        with open(path, newline="") as f:
            (row,) = list(csv.DictReader(f))
        found[str(path.relative_to(root))] = row
    return found


def agreement(way: str, rows: dict[str, dict], reference: dict[str, dict]) -> list[dict]:
    out = []
    for key, row in rows.items():
        ref = reference.get(key)
        if ref is None:
            continue
        metrics, ref_metrics = json.loads(row["metrics"]), json.loads(ref["metrics"])
        diffs = {
            "score": abs(float(row["score"]) - float(ref["score"])),
            "metrics": max(abs(float(metrics[k]) - float(ref_metrics[k])) for k in ref_metrics),
            "achieved_sparsity": abs(float(row["achieved_sparsity"]) - float(ref["achieved_sparsity"])),
        }
        out.append({"way": way, "row": key, "method": row["method"], "task": row["task"], "seed": row["seed"],
                    "target_sparsity": row["target_sparsity"], "score": row["score"], "v1_score": ref["score"],
                    **{f"diff_{k}": f"{v:.6f}" for k, v in diffs.items()},
                    # the README's GPU tolerance for the same run made twice (section "Determinism on GPU")
                    "within_tolerance": all(diffs[k] <= tolerance(row["task"])[k] + ROUNDING for k in diffs)})
    return out


def profile(root: Path) -> list[dict]:
    """Median seconds per phase of one run, per cost class (task and method), from the v1 way's sidecars."""
    classes: dict[tuple[str, str], list[dict]] = {}
    for path in (root / "results").rglob("*.json"):
        if "/dense/" in str(path):
            continue
        side = json.loads(path.read_text())
        config = side["config"]
        classes.setdefault((config["task"], config["method"]), []).append(side)
    table = []
    for (task, method), sides in sorted(classes.items()):
        profiles = [side.get("profile", {}) for side in sides]
        # runs trained in one batched step (`--cohort`) each report the step's whole wall as theirs
        row = {"task": task, "method": method, "runs": len(profiles),
               "most runs in one step": max(side.get("cohort", {}).get("size", 1) for side in sides)}
        for phase in PHASES:
            row[phase] = f"{statistics.median(p.get(phase, 0.0) for p in profiles):.2f}"
        row["sum of phases"] = f"{statistics.median(sum(p.values()) for p in profiles):.2f}"
        table.append(row)
    return table


def read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def earlier_v1(root: Path, out: Path, flags: str, gpus: int) -> tuple[dict[str, dict], float, list[dict]]:
    """The v1 way of an earlier call on this machine (`--after-v1`): its rows, its rate and the lines so far.

    One GPU cannot fit the saturated mix's v1 way and a new way in one 600 s call; a later call on the same warm
    machine (same --root and --out, same seeds) measures the new ways against it. Raises ValueError when that
    v1 way is not there, or ran with other seeds or GPUs (the ratio would compare other mixes).
    """
    lines = read_csv(out / "throughput.csv")
    v1 = finished_v1(lines, flags, gpus)
    rows = rows_of(root / "v1")
    if not v1 or not rows:
        raise ValueError(f"--after-v1 needs the v1 way of an earlier call with flags {flags!r} on {gpus} GPU(s): "
                         f"{out / 'throughput.csv'} has {len(v1)} such line(s), {root / 'v1'} {len(rows)} rows")
    return rows, float(v1[-1]["rows_per_gpu_minute"]), lines


def finished_v1(lines: list[dict], flags: str, gpus: int) -> list[dict]:
    """The lines of throughput.csv of a v1 way that ran to its end with these flags on `gpus` GPUs."""
    return [line for line in lines if line["way"] == "v1" and line["flags"] == flags and int(line["gpus"]) == gpus
            and line.get("finished", "True") == "True"]


def same_mix(line: dict, mix: list[str], gpus: int) -> bool:
    """Whether a line of throughput.csv measured the mix with these seeds and --train pairs on `gpus` GPUs."""
    return line["flags"] == " ".join(WAYS.get(line["way"], ["?"]) + mix) and int(line["gpus"]) == gpus


def earlier_lines(root: Path, out: Path, mix: list[str], gpus: int,
                  measures_v1: bool) -> tuple[list[dict], dict[str, dict] | None, float | None]:
    """The lines earlier calls of the same mix left (`--add`; none before the first), with the v1 way's rows and
    rate where one of them ran it.

    Raises ValueError where a line is of another mix (seeds, --train or GPUs: a ratio across mixes means nothing),
    or where this call would measure v1 a second time."""
    lines = read_csv(out / "throughput.csv")
    other = [line["way"] for line in lines if not same_mix(line, mix, gpus)]
    if other:
        raise ValueError(f"--add: {out / 'throughput.csv'} holds way(s) {', '.join(other)} of another mix than this "
                         f"call's ({' '.join(mix) or 'the whole mix'} on {gpus} GPU(s)); give another --out")
    v1 = finished_v1(lines, " ".join(WAYS["v1"] + mix), gpus)
    if v1 and measures_v1:
        raise ValueError(f"--add: {out / 'throughput.csv'} has the v1 way of this mix already; leave v1 out of --ways")
    if not v1:
        return lines, None, None
    return lines, rows_of(root / "v1"), float(v1[-1]["rows_per_gpu_minute"])


def write_csv(path: Path, rows: list[dict]) -> None:
    """`rows` as CSV, with every key any row has (an earlier call's lines may lack a later column: left empty)."""
    if rows:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)), restval="")
            writer.writeheader()
            writer.writerows(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=1, help="GPUs the mix runs on (default 1); rates are per GPU-minute")
    parser.add_argument("--root", type=Path, required=True, help="scratch folder (one subfolder per way)")
    parser.add_argument("--out", type=Path, required=True, help="folder for throughput.csv, agreement.csv, profile.csv")
    parser.add_argument("--ways", default="v1,pool8-mps",
                        help=f"comma-separated, v1 first (or left to another call with --after-v1 or --add); known: {', '.join(WAYS)}")
    parser.add_argument("--seeds", default=None, help="run only these seeds of the mix (comma-separated), e.g. to halve it")
    parser.add_argument("--train", action="append", default=[], metavar="KEY=VALUE",
                        help="a training field of the mix's recipe, for every way alike (repeatable), e.g. attention=eager, "
                             "which --cohort ways need on CUDA")
    earlier = parser.add_mutually_exclusive_group()
    earlier.add_argument("--after-v1", action="store_true",
                        help="measure the new ways against the v1 way an earlier call left in --root and --out "
                             "(same machine, seeds and GPUs); their lines are added to that call's files")
    earlier.add_argument("--add", action="store_true",
                        help="add this call's ways, v1 among them or not, to the files earlier calls of the same mix "
                             "left in --root and --out (if any): the new ways may go first and v1 after them; ratios "
                             "and agreement are to the v1 way whichever call ran it")
    args = parser.parse_args()
    ways = args.ways.split(",")
    unknown = [w for w in ways if w not in WAYS]
    first_ok = "v1" not in ways if args.after_v1 else (args.add or ways[0] == "v1")
    cache_ok = all(CACHE_FROM[w] in ways[:i] for i, w in enumerate(ways) if w in CACHE_FROM)
    if unknown or not first_ok or not cache_ok:
        if not first_ok:
            rule = "must not name v1 with --after-v1" if args.after_v1 else "must start with v1 (or give --add)"
        elif not cache_ok:
            sources = ", ".join(f"{w}: {CACHE_FROM[w]}" for i, w in enumerate(ways)
                                if w in CACHE_FROM and CACHE_FROM[w] not in ways[:i])
            rule = f"must name the way a -warmcache way starts from ({sources}) before it"
        else:
            rule = "names unknown way(s) " + ", ".join(unknown)
        print(f"bench_grid_throughput: --ways {rule}; known ways: {', '.join(WAYS)}; got {args.ways}",
              file=sys.stderr)
        return 2
    seeds = ["--seeds", args.seeds] if args.seeds else []
    recipe = [x for pair in args.train for x in ("--train", pair)]  # in the flags column: --after-v1 matches on it
    mix = seeds + recipe
    summary, agree, reference, v1_rate = [], [], None, None
    if args.after_v1 or args.add:  # lines of earlier calls on this machine
        try:
            if args.after_v1:
                reference, v1_rate, summary = earlier_v1(args.root, args.out, " ".join(WAYS["v1"] + mix), args.gpus)
            else:
                summary, reference, v1_rate = earlier_lines(args.root, args.out, mix, args.gpus, "v1" in ways)
        except ValueError as err:
            print(f"bench_grid_throughput: {err}", file=sys.stderr)
            return 2
        agree = read_csv(args.out / "agreement.csv")
    try:  # checked before it is written
        config = mix_config(args.root, args.train)
    except UsageError as err:
        print(f"bench_grid_throughput: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    # untimed; in an --after-v1 call every dense row is already there, so it only reloads the token cache
    warm_seconds, _, cut = grid(args.root / "warm", args.gpus, ["--workers", "8", "--only", "dense"], seeds, config)
    if cut:
        print(f"warm-up cut after {warm_seconds:.0f} s: no way measured", file=sys.stderr)
        return 1
    print(f"warm-up (tokenise, dense checkpoints and rows): {warm_seconds:.0f} s", flush=True)
    for way in ways:
        root = args.root / way
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(args.root / "warm" / "results", root / "results")  # the dense rows: present, not rerun
        if way in CACHE_FROM:
            shutil.copytree(compile_cache(args.root / CACHE_FROM[way]), compile_cache(root))
        seconds, output, cut = grid(root, args.gpus, WAYS[way], seeds, config)
        rows = rows_of(root)
        per_gpu_minute = len(rows) * 60 / (seconds * args.gpus)
        if way == "v1" and not cut:
            # every way measured before it, in this call or an earlier one (--add), is compared with it now
            reference, v1_rate = rows, per_gpu_minute
            earlier = dict.fromkeys(line["way"] for line in summary if line["way"] != "v1" and same_mix(line, mix, args.gpus))
            agree += [a for w in earlier for a in agreement(w, rows_of(args.root / w), reference)]
        elif reference is not None:
            agree += agreement(way, rows, reference)
        # a cut way made part of the mix: its rows and seconds are reported, never a rate or ratio of the mix
        summary.append({"way": way, "flags": " ".join(WAYS[way] + mix), "gpus": args.gpus, "device": device, "rows": len(rows),
                        "seconds": f"{seconds:.1f}", "rows_per_gpu_minute": "" if cut else f"{per_gpu_minute:.2f}",
                        "ratio_to_v1": "", "finished": not cut,
                        "mps": "mps: started" in output, "git_commit": os.environ.get("PRUNEBENCH_GIT_COMMIT", "")})
        for line in summary:  # v1 may come after the others (--add)
            if v1_rate and line["rows_per_gpu_minute"] and same_mix(line, mix, args.gpus):
                line["ratio_to_v1"] = f"{float(line['rows_per_gpu_minute']) / v1_rate:.2f}"
        if cut:
            print(f"{way}: cut by the time limit after {seconds:.0f} s with {len(rows)} rows: not a rate of the mix",
                  file=sys.stderr)
        else:
            ratio = f"{per_gpu_minute / v1_rate:.2f}x v1" if v1_rate else "v1 not measured yet"
            print(f"{way}: {len(rows)} rows in {seconds:.0f} s on {args.gpus} GPU(s): {per_gpu_minute:.2f} rows per "
                  f"GPU-minute ({ratio})", flush=True)
        # written after every way, so a call cut short keeps what it measured
        write_csv(args.out / "throughput.csv", summary)
        write_csv(args.out / "agreement.csv", agree)
        # the v1 way's profile is the phase table; the others show where each new way's seconds went
        write_csv(args.out / ("profile.csv" if way == "v1" else f"profile-{way}.csv"), profile(root))
        if cut:
            return 1
    bad = [a for a in agree if str(a["within_tolerance"]) != "True"]  # a bool here, a string read back
    print(f"agreement: {len(agree) - len(bad)} of {len(agree)} rows within the GPU tolerance (README, Determinism on GPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

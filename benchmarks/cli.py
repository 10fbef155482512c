"""The `prunebench` command. Handlers return an exit code; bad input is one stderr line and exit code 2.

Heavy imports (torch, transformers) happen inside the handlers, so `prunebench --help` imports neither.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import os
import sys
from pathlib import Path

from .errors import UsageError

EXIT_USAGE = 2


def _kv(pairs: list[str] | None, what: str) -> dict[str, str]:
    from .config import split_pair

    return dict(split_pair(pair, what) for pair in pairs or [])


def _check_device(name: str) -> str:
    import torch

    if name == "auto" or name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA device is available here; valid devices: auto, cpu")
        return name
    raise UsageError(f"unknown device {name!r}; valid devices: auto, cpu, cuda, cuda:<index>")


def _run_config(args, method: str, sparsity: float):
    from .config import RunConfig, TrainConfig, parse_overrides

    overrides = _kv(args.set, "--set")
    if args.max_train_samples is not None:
        overrides["max_train_samples"] = str(args.max_train_samples)
    if args.max_eval_samples is not None:
        overrides["max_eval_samples"] = str(args.max_eval_samples)
    return RunConfig(
        model=args.model,
        task=args.task,
        method=method,
        sparsity=sparsity,
        seed=args.seed,
        method_params=_kv(getattr(args, "param", None), "--param"),
        train=parse_overrides(TrainConfig(), overrides),
        data_source=args.data_source,
    )


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        if threads < 1:
            raise UsageError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)


def cmd_run(args) -> int:
    from .atomic import check_target
    from .runner import run

    if args.out is not None:
        check_target(args.out, "--out")
    if args.save_model is not None:
        from .runner import check_model_folder

        check_model_folder(args.save_model)
    cfg = _run_config(args, args.method, args.sparsity)
    device = _check_device(args.device)
    _set_threads(args.threads)
    print(_made_line(*run(cfg, out=args.out, force=args.force, device=device, save_model_to=args.save_model)))
    return 0


def _made_line(path, record) -> str:
    """What `run` and `run-cohort` print for a row: made, with its score and data source, or already there."""
    if record is None:
        return f"exists: {path}"
    return (f"{path}: {record.task} {record.method} sparsity {record.achieved_sparsity:.4f} "
            f"score {record.score:.2f} (dense {record.dense_score:.2f}) [{record.data_source}]")


def cmd_run_cohort(args) -> int:
    """Several `run` commands in one process, those that may share a batched step trained together."""
    import json

    from .atomic import check_target
    from .runner import run_cohort

    try:
        members = json.loads(Path(args.runs).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--runs {args.runs}: not a readable JSON file ({exc})") from None
    if not isinstance(members, list) or not members or not all(isinstance(m, list) for m in members):
        raise UsageError(f"--runs {args.runs}: give a JSON list of `prunebench run` argument lists, e.g. "
                         '[["--model", "minilm-l6", "--task", "mrpc", "--method", "magnitude-global", "--sparsity", "0.5"]]')
    import contextlib
    import io

    parser = build_parser()
    parsed = []
    for n, member in enumerate(members):
        said = io.StringIO()
        try:
            with contextlib.redirect_stderr(said):
                parsed.append(parser.parse_args(["run", *map(str, member)]))
        except SystemExit:  # the member's own error line, folded into ours: bad input gets one line
            why = said.getvalue().strip().splitlines()[-1:] or ["unreadable arguments"]
            raise UsageError(f"--runs {args.runs}: run {n + 1} of {len(members)} is not a valid `prunebench run` command: "
                             f"{why[0]}") from None
    for field in ("device", "threads"):
        if len({str(getattr(a, field)) for a in parsed}) > 1:
            raise UsageError(f"--runs {args.runs}: every run of a cohort needs the same --{field}")
    if any(a.save_model is not None for a in parsed):
        raise UsageError(f"--runs {args.runs}: --save-model is not available in run-cohort; use `prunebench run` for a "
                         "run whose model you keep")
    for a in parsed:
        if a.out is not None:
            check_target(a.out, "--out")
    cfgs = []
    for n, a in enumerate(parsed):  # a bad --set names its run
        try:
            cfgs.append(_run_config(a, a.method, a.sparsity))
            cfgs[-1].train.check()
        except UsageError as exc:
            raise UsageError(f"--runs {args.runs}: run {n + 1} of {len(parsed)}: {exc}") from None
    device = _check_device(parsed[0].device)
    _set_threads(parsed[0].threads)
    made = run_cohort(cfgs, [a.out for a in parsed], force=any(a.force for a in parsed), device=device,
                      cohort_size=args.cohort_size)
    for path, record in made:
        print(_made_line(path, record))
    return 0


def cmd_prepare(args) -> int:
    """Tokenise a (model, task) once into the shared cache, so parallel runs do not race to do it."""
    import json

    from .atomic import check_target
    from .records import write_atomic
    from .runner import Run, prepare

    if args.out:
        check_target(args.out, "--out")
    prep = prepare(_run_config(args, "dense", 0.0))
    run = Run(prep, __import__("torch").device("cpu"))
    summary = {"model": args.model, "task": prep.task.name, "data_source": prep.splits.source,
               "data_fingerprint": prep.splits.fingerprint, "max_len": prep.cfg.train.max_len,
               "train_examples": len(run.train), "eval_examples": {k: len(v) for k, v in run.evals.items()},
               "train_tokens": int(run.train.data.lengths.sum())}
    if args.out:
        write_atomic(args.out, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(json.dumps(summary, sort_keys=True))
    return 0


def cmd_merge(args) -> int:
    from .atomic import check_target
    from .merge import check_grids_under, merge, run_files_under

    check_target(args.out, "--out")
    files = [f for folder in args.runs for f in (run_files_under(Path(folder)) if Path(folder).is_dir() else [Path(folder)])]
    missing = [f for f in files if not f.exists()]
    if missing:
        raise UsageError(f"no such row file: {missing[0]}")
    left_out: list[tuple[Path, str]] = []
    n = merge(files, args.out, keep_samples=args.keep_samples, left_out=left_out)
    print(f"{args.out}: {n} rows from {len(files)} files")
    check_grids = [f"{g.name}/" for folder in args.runs if Path(folder).is_dir() for g in check_grids_under(Path(folder))]
    if check_grids:  # skipped by folder, before any row is read: said, so a user merging them knows how
        print(f"prunebench: skipped the check grids {', '.join(check_grids)} (merge such a folder by its own path to "
              "read it)", file=sys.stderr)
    if left_out:
        path, reason = left_out[0]
        print(f"prunebench: left out {len(left_out)} row(s) that are not GLUE results (first: {path}: {reason}); "
              "--keep-samples merges them", file=sys.stderr)
    return 0


def cmd_methods(args) -> int:
    """Every registered method; a plugin that does not load is listed as such (on stderr, exit 1) without
    hiding the others: one broken package must not make the registry look empty."""
    from prunebench.methods.base import KINDS
    from prunebench.methods.registry import available, get, source

    if args.kind is not None and args.kind not in KINDS:
        raise UsageError(f"unknown kind {args.kind!r}; valid kinds: {', '.join(KINDS)}")
    classes, broken = {}, []
    for name in [n for n in available() if fnmatch.fnmatch(n, args.pattern)]:
        try:
            classes[name] = get(name)
        except UsageError as exc:  # only plugins can fail to load; a built-in that does is a bug and raises
            broken.append(str(exc))
    classes = {n: c for n, c in classes.items() if args.kind is None or c.kind == args.kind}
    if not classes and not broken:
        raise UsageError(f"no method matches {args.pattern!r}" + (f" with kind {args.kind!r}" if args.kind else "")
                         + f"; registered: {', '.join(available())}")
    if classes:
        width, kind_width = max(map(len, classes)), max(len(cls.kind) for cls in classes.values())
    for name, cls in classes.items():  # columns as wide as the longest name and kind: a plugin's name may be long
        origin = source(name)  # plugins (entry point group prunebench.methods) say which package they come from
        print(f"{name:<{width}}  {cls.kind:<{kind_width}}  {cls.describe()}" + ("" if origin == "built-in" else f" [{origin}]"))
    for problem in broken:
        print(f"prunebench: error: {one_line(problem)}", file=sys.stderr)
    return 1 if broken else 0


def cmd_validate(args) -> int:
    """A `.csv` is a results file (schema v1, every cell checked); anything else a workflow config."""
    from .workflow_config import validate_file

    failed = False
    for path in map(Path, args.paths):
        if path.suffix.lower() == ".csv":
            from .validate_results import MAX_REPORTED, validate_results

            report = validate_results(path)
            if report.problems:
                for problem in report.problems[:MAX_REPORTED]:
                    print(f"prunebench: error: {one_line(str(problem))}", file=sys.stderr)
                more = len(report.problems) - MAX_REPORTED
                print(f"prunebench: error: {path}: {report.summary()}" + (f" ({more} more not shown)" if more > 0 else ""),
                      file=sys.stderr)
                failed = True
                continue
            for warning in report.warnings:
                print(f"prunebench: warning: {one_line(warning)}", file=sys.stderr)
            print(f"{path}: {report.summary()}")
        else:
            try:
                print(f"{path}: ok ({validate_file(path)})")
            except UsageError as exc:  # name the file (once: some messages start with it), and go on to the next one
                message = one_line(str(exc))
                named = message if message.startswith(f"{path}:") else f"{path}: {message}"
                print(f"prunebench: error: {named}", file=sys.stderr)
                failed = True
    return EXIT_USAGE if failed else 0


def cmd_leaderboard_check(args) -> int:
    """A method's leaderboard rows: complete and made by the grid's recipe; with --rerun, reproduced in tolerance."""
    from .leaderboard_check import LEADERBOARD_CONFIG, check_rows, recheck

    args.config = args.config or LEADERBOARD_CONFIG
    for flag, folder in (("--root", args.root), ("--rerun", args.rerun)):
        if folder is not None and not folder.is_dir():  # one line, not a missing row per cell
            raise UsageError(f"{flag} {folder}: no such folder (it should hold results/<version>/runs/...)")

    if args.rerun is not None:
        n, problems = recheck(args.config, args.method, args.root, args.rerun)
        what = f"{n} re-run row(s) of {args.method} within the GPU tolerance of {args.root}'s"
    else:
        n, problems = check_rows(args.config, args.method, args.root)
        what = f"{n} grid row(s) of {args.method} present and consistent with {args.config}"
    for problem in problems[:10]:
        print(f"prunebench: error: {one_line(str(problem))}", file=sys.stderr)
    if problems:
        more = f" ({len(problems) - 10} more not shown)" if len(problems) > 10 else ""
        print(f"prunebench: error: {len(problems)} problem(s){more}; wanted: {what}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ok: {what}")
    return 0


def cmd_bench_efficiency(args) -> int:
    from .efficiency.bench import main as bench_main

    return bench_main(args)


def cmd_throughput(args) -> int:
    from .throughput import main as throughput_main

    return throughput_main(args)


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we print the error alone, on one line, with where to look."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """Line breaks and other control characters escaped, so an error stays one line whatever the input held."""
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in str(text)) or "(no message)"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="prunebench", description="Benchmark pruning methods for transformer encoders on GLUE.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "run",
        help="one run: fine-tune, prune, evaluate, measure, write one CSV row",
        epilog="example: prunebench run --model minilm-l6 --task sst2 --method magnitude-global "
        "--sparsity 0.5 --seed 0 --max-train-samples 1000 --set lr=1e-4 --set recovery_lr=1e-4 (a sample this small "
        "needs the larger rates to learn)",
    )
    p.add_argument("--model", required=True, help="alias (minilm-l6, distilbert, bert-base), hf:<hub id> or local:<dir>")
    p.add_argument("--task", required=True, help="GLUE task: cola sst2 mrpc stsb qqp mnli qnli rte wnli")
    p.add_argument("--method", required=True, help="a registered method (see `prunebench methods`)")
    p.add_argument("--sparsity", required=True, type=_float, help="target share of zero encoder linear weights, in [0, 1)")
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--max-train-samples", type=_int, default=None,
                   help="fixed-seed sample of the training split (0: the whole split, like leaving it out)")
    p.add_argument("--max-eval-samples", type=_int, default=None, help="fixed-seed sample of each evaluation split")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="method parameter (repeatable)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="training config field, e.g. lr=3e-5 (repeatable)")
    p.add_argument("--data-source", default="auto", help="auto (Hub, then GLUE_DIR, then embedded), hub, glue_dir, embedded")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--out", type=Path, default=None, help="row file (default results/v1/runs/.../<run_id>.csv)")
    p.add_argument("--force", action="store_true", help="recompute even if the row file exists")
    p.add_argument("--threads", type=_int, default=None, help="CPU threads for torch (default: all cores)")
    p.add_argument("--save-model", type=Path, default=None, metavar="DIR",
                   help="also save the final model (masks applied, task head, tokenizer; safetensors) to this new folder")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "run-cohort",
        help="several runs in one process; runs differing only in method and sparsity train in one batched step",
        epilog="example: prunebench run-cohort --runs runs.json, where runs.json is a JSON list of `prunebench run` "
        "argument lists (same --device and --threads in each)",
    )
    p.add_argument("--runs", required=True, type=Path, help="JSON file: a list of `prunebench run` argument lists")
    p.add_argument("--cohort-size", type=_int, default=8, help="at most this many runs in one batched step (default 8)")
    p.set_defaults(func=cmd_run_cohort)

    p = sub.add_parser("prepare", help="tokenise a model's view of a task into the shared cache",
                       epilog="example: prunebench prepare --model minilm-l6 --task sst2 --set max_train_samples=1000")
    p.add_argument("--model", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--max-train-samples", type=_int, default=None)
    p.add_argument("--max-eval-samples", type=_int, default=None)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="training config field (max_len, samples)")
    p.add_argument("--data-source", default="auto")
    p.add_argument("--out", type=Path, default=None, help="write the summary JSON here")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("merge", help="merge per-run row files into one results CSV",
                       epilog="example: prunebench merge results/v1/runs --out results/v1/results.csv")
    p.add_argument("runs", nargs="+", help="row files or folders of row files")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--keep-samples", action="store_true",
                   help="also merge rows of sample-size (max_train/eval_samples) and embedded-data runs, "
                   "left out by default: they check the pipeline and are not GLUE results")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("methods", help="list registered methods", epilog="example: prunebench methods 'magnitude-*'")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter on the name")
    p.add_argument("--kind", default=None, help="baseline, unstructured, structured, distillation, ...")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("validate", help="check a workflow config or a results CSV",
                       epilog="examples: prunebench validate config/smoke.yaml; prunebench validate results/v1/results.csv")
    p.add_argument("paths", nargs="+", help="YAML workflow config(s) and/or result CSV file(s)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "leaderboard-check",
        help="check a method's leaderboard rows: every grid cell present, publishable, made by the grid's recipe",
        epilog="examples: prunebench leaderboard-check my-method --root /tmp/grid; "
        "prunebench leaderboard-check my-method --rerun /tmp/recheck (a maintainer's re-run of sampled cells)",
    )
    p.add_argument("method", help="a registered method (built-in or plugin), as named in the grid")
    p.add_argument("--config", type=Path, default=None, help="the leaderboard grid (default config/leaderboard.yaml)")
    p.add_argument("--root", type=Path, default=Path("."), help="folder holding results/<version>/runs/... (default .)")
    p.add_argument("--rerun", type=Path, default=None,
                   help="folder of re-run rows (same layout): compare each with --root's row within the GPU tolerance")
    p.set_defaults(func=cmd_leaderboard_check)

    p = sub.add_parser(
        "throughput",
        help="training examples/s of the PruneBench loop next to Hugging Face Trainer",
        epilog="example: prunebench throughput --model minilm-l6 --task sst2 --device cuda",
    )
    from .throughput import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_throughput)

    p = sub.add_parser(
        "bench-efficiency",
        help="latency, throughput, FLOPs, memory and size of dense vs pruned variants through every speed path",
        epilog="examples: prunebench bench-efficiency --model minilm-l6 --batches 1,32 --repeats 5; "
        "prunebench bench-efficiency --merge-from /tmp/eff/efficiency.csv",
    )
    from .efficiency.bench import add_arguments as bench_arguments

    bench_arguments(p)
    p.set_defaults(func=cmd_bench_efficiency)
    return parser


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value:
        raise argparse.ArgumentTypeError("NaN is not a valid value")
    return value


def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None



def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line + the error
        return int(exc.code or 0)
    if not args.verbose:  # the load reports of transformers are noise in a benchmark log
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="prunebench: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"prunebench: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("prunebench: interrupted; nothing was written for the unfinished run", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

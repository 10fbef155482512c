"""Run a workflow config's grid without Snakemake: one queue of runs, each started once what it starts from exists.

For machines where Snakemake is not installed (the GPU machine), and for recipe sweeps (configs with a
``sweep`` key, which Snakemake refuses). Rows land at the same paths the workflow uses
(results/<version>/runs/<tag>/..., sweeps under results/<version>/sweeps/<tag>/<recipe>/...), so `snakemake`
later treats them as done and merges them; rows already present (under --root or committed in this checkout)
are skipped. Each (model, task) is tokenised once, each dense checkpoint is made once, and a pruned run starts
as soon as its own checkpoint exists (`run_jobs`). A GPU running a 22M-parameter model is mostly idle, so
``--workers`` runs go side by side on it, longest first.

    python scripts/run_grid.py config/v1-minilm.yaml --workers 8 --gpus 4 --deadline 300 --root /tmp/grid
    python scripts/run_grid.py config/sweep-dense.yaml --workers 8 --root /tmp/grid
    python scripts/run_grid.py config/sweep-methods.yaml config/sweep-dense-v2.yaml --pool --mps --gpus 2   # one queue
    python scripts/run_grid.py config/leaderboard.yaml --only my-method --workers 8 --gpus 4 --check   # a submission
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.benchmarks.grid import GridRun, dense_key, recipe_label, registry_name, results_version, runs  # noqa: E402
from prunebench.benchmarks.paths import format_sparsity, frozen_warning, model_slug  # noqa: E402
from prunebench.benchmarks.config import NOT_HASHED, TrainConfig, parse_overrides, split_pair  # noqa: E402
from prunebench.benchmarks.errors import UsageError  # noqa: E402
from prunebench.benchmarks.workflow_config import check_config, load_yaml  # noqa: E402

# eager steps (per-step Python in the method) are several times slower than CUDA-graph replays
EAGER_METHODS = {"movement", "soft-movement", "distillation", "head-pruning", "lottery-ticket"}


def prepare_commands(grid: list[tuple[GridRun, dict]], root: Path) -> list[list[str]]:
    """One `prunebench prepare` per (config, model, task): runs side by side would otherwise all tokenise the same data."""
    seen, cmds = set(), []
    for run, config in grid:
        if (config["tag"], run.model, run.task) in seen:
            continue
        seen.add((config["tag"], run.model, run.task))
        out = root / "prepared" / config["tag"] / f"{run.task}-{model_slug(run.model)}.json"
        # the fields that decide what is tokenised
        data_fields = [x for k, v in run.train.items() if k in ("max_len", "max_train_samples", "max_eval_samples")
                       for x in ("--set", f"{k}={v}")]
        cmds.append([sys.executable, "-m", "prunebench.benchmarks.cli", "prepare", "--model", run.model, "--task", run.task,
                     "--data-source", config.get("data_source", "auto"), *data_fields, "--out", str(out)])
    return cmds


def run_command(run: GridRun, config: dict, root: Path, device: str, threads: int, out: Path | None = None,
                settings: tuple[str, ...] = ()) -> list[str]:
    """`settings`: KEY=VALUE of training fields that change speed, not results (`speed_settings`), for every run."""
    extra = [x for pair in ("progress=false", *settings) for x in ("--set", pair)]
    return [sys.executable, "-m", "prunebench.benchmarks.cli", "run", *run.argv(), "--data-source", config.get("data_source", "auto"),
            "--device", device, "--threads", str(threads), *extra, "--out", str(out or root / run.path)]


# cuda-graphs would fail every run whose step is not static, and every CPU run
GRID_STEP_MODES = ("auto", "auto-compile", "eager", "compile")


def speed_settings(pairs: list[str]) -> tuple[str, ...]:
    """Check `--set` pairs: only the training fields left out of `config_hash` (how fast a run goes, not what it
    computes), so that a call with them still makes the grid's rows. Raises UsageError naming the valid keys."""
    allowed = sorted(NOT_HASHED - {"progress"})
    for pair in pairs:
        key, value = split_pair(pair, "--set")
        if key not in allowed:
            raise UsageError(f"--set {pair}: only settings that leave the rows' config unchanged: {', '.join(allowed)} "
                             "(a field that changes the rows goes under `train:` in a config with a tag of its own)")
        if key == "step_mode" and value not in GRID_STEP_MODES:
            raise UsageError(f"--set {pair}: a grid's step_mode must suit every run and device; choose from "
                             f"{', '.join(GRID_STEP_MODES)}")
    parse_overrides(TrainConfig(), pairs).check()  # ill-typed or out-of-range values, before anything runs
    return tuple(pairs)


def _same(recorded, wanted) -> bool:
    """A recorded config value and the grid's: numbers by value (YAML 1e-4, JSON 0.0001, a --param string), the
    rest by their text."""
    try:
        return float(recorded) == float(wanted)
    except (TypeError, ValueError):
        return str(recorded) == str(wanted)


def stale(run: GridRun, row: Path) -> list[str]:
    """How a present row's recipe and parameters (its sidecar's) differ from what the grid asks of that cell; an
    edited config under the same tag would otherwise count the old rows as done. Empty when they agree, or when
    the row has no readable sidecar (`prunebench validate` and the leaderboard check judge that)."""
    try:
        recorded = json.loads(row.with_suffix(".json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    train, params = recorded.get("train", {}), recorded.get("method_params", {})
    # speed settings (step_mode, ...) change how a row is made, not the row: a config may add them to a campaign
    out = [f"{k}={train.get(k)!r}, the config says {v!r}" for k, v in sorted(run.train.items())
           if k in train and k not in NOT_HASHED and not _same(train[k], v)]
    out += [f"--param {k}={params.get(k)!r}, the config says {v!r}" for k, v in sorted(run.params.items())
            if not _same(params.get(k), v)]
    return out


def checkpoint_runs(todo: list[GridRun]) -> list[GridRun]:
    """A dense run for every checkpoint that pruned runs of `todo` start from and no dense run of `todo` makes.

    A committed dense row travels to the GPU machine with the checkout; its checkpoint (in the cache) does not.
    Without this, every pruned run starting at once fine-tunes the same checkpoint itself: one dense training
    per run instead of one per key, and, where GPU training is not reproducible, rows whose dense scores differ
    (results/v1/README.md, "Dense baseline")."""
    made = {dense_key(r) for r in todo if r.method == "dense"}
    needed: dict[tuple, GridRun] = {}
    for r in todo:
        key = dense_key(r)
        if r.method != "dense" and key not in made and key not in needed:
            train = {k: v for k, v in r.train.items() if not k.startswith("recovery_")}
            needed[key] = dataclasses.replace(r, method="dense", sparsity=0.0, params={}, train=train)
    return list(needed.values())


def checkpoint_command(run: GridRun, n: int, config: dict, root: Path, device: str, threads: int,
                       settings: tuple[str, ...] = ()) -> list[str]:
    """Its row goes to a scratch file (the published dense row exists already), removed first so that the
    command always runs: it loads the checkpoint if the cache has it, and makes it otherwise."""
    out = root / "checkpoints" / config["tag"] / f"{run.task}-{model_slug(run.model)}-seed{run.seed}-{n}.csv"
    out.unlink(missing_ok=True)
    return run_command(run, config, root, device, threads, out=out, settings=settings)


def starts_from(run: GridRun) -> str:
    """Where a run's training starts ("finetuned" or "pretrained"), which decides whose recipe it trains for.
    The method itself says (distillation: where its base method does); a dense run's time is the fine-tuning
    that makes its checkpoint."""
    return _starts_from(registry_name(run.method), json.dumps(run.params, sort_keys=True))


@functools.lru_cache(maxsize=None)
def _starts_from(name: str, params: str) -> str:
    # one registry lookup per method and parameters: the scheduler costs every run of a queue (thousands), and a
    # lookup reads the plugin entry points (milliseconds), which made the first ranking of v2's grid take 17 s
    from prunebench.methods.registry import get

    if name == "dense":
        return "pretrained"
    cls = get(name)
    return cls(cls.parse_params(json.loads(params))).starts_from


def cost(run: GridRun, examples: dict[str, int]) -> float:
    """A rough duration, to start the longest runs first (the grid finishes when its slowest run does)."""
    phase = "epochs" if starts_from(run) == "pretrained" else "recovery_epochs"
    epochs = float(run.train.get(phase, 3))
    name = registry_name(run.method)
    trainings = int(run.params.get("rounds", 1)) if name == "lottery-ticket" else 1  # one training per round
    return examples.get(run.task, 1) * max(epochs, 1.0) * trainings * (3.0 if name in EAGER_METHODS else 1.0)


class Worker:
    """A persistent `prunebench.benchmarks.pool` process bound to one GPU: it runs one command at a time,
    in-process, so Python, the imports and the CUDA context are paid once per worker, not once per run."""

    def __init__(self, env: dict[str, str]):
        self.env, self.proc = env, None

    def start(self) -> None:
        """Start the process; it imports and creates its CUDA context while it waits for its first command."""
        self.proc = subprocess.Popen([sys.executable, "-m", "prunebench.benchmarks.pool"], cwd=ROOT, env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def execute(self, cmd: list[str], log: Path) -> int:
        if self.proc is None or self.proc.poll() is not None:  # not started, or the last run killed the process
            self.start()
        # cmd is [python, -m, prunebench.benchmarks.cli, ARGS...]: the worker takes the ARGS
        self.proc.stdin.write(json.dumps({"argv": cmd[3:], "log": str(log)}) + "\n")
        answer = self.proc.stdout.readline()
        return json.loads(answer)["code"] if answer else -9  # no answer: the worker died mid-run (e.g. killed)

    def close(self) -> None:
        """End of input: the worker returns from its loop and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()

    def reap(self, timeout: float) -> bool:
        """Wait for a closed worker to exit; kill it after `timeout` seconds (it has answered every run, so its
        rows are written: a worker that hangs in CUDA/MPS teardown must not hold the call until its hard end, as
        one did in results/v2/calls/call7-phase.log). Returns whether it had to be killed."""
        if self.proc is None:
            return False
        try:
            self.proc.wait(timeout=max(timeout, 0.1))
            return False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return True


def place_gpus(gpus: int) -> list[str]:
    """The CUDA_VISIBLE_DEVICES of each of `gpus` GPU places: the GPUs the caller left visible, in order
    (CUDA_VISIBLE_DEVICES=2,3 with --gpus 2: GPUs 2 and 3, never 0 and 1, which may be another job's), or GPU i.
    Raises UsageError where fewer GPUs are visible than asked for."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else [str(g) for g in range(gpus)]
    if len(ids) < gpus:
        raise UsageError(f"--gpus {gpus}, but CUDA_VISIBLE_DEVICES={visible} leaves {len(ids)} visible")
    return ids[:gpus]


class Slots:
    """Where a command runs: `workers` places per GPU, one CUDA_VISIBLE_DEVICES each, and a deadline after
    which no new command starts (so a time-limited session ends with finished rows, not killed runs).
    With `pool`, each place is a persistent worker process instead of a new process per command."""

    def __init__(self, workers: int, gpus: int, deadline: float | None, pool: bool = False, started: float | None = None):
        self.free: queue.Queue = queue.Queue()
        self.workers: list[Worker] = []
        ids = place_gpus(gpus) if gpus > 1 else []
        for _ in range(workers):
            for gpu in range(gpus):
                env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": ids[gpu]} if gpus > 1 else {})}
                if pool:
                    self.workers.append(Worker(env))
                    self.workers[-1].start()  # with the queue: its imports overlap the first jobs (pool.warm)
                self.free.put(self.workers[-1] if pool else env)
        self.size = workers * gpus
        # counted from `started` (a Unix time; default now): the moment a `timeout` around the whole queue began
        self.deadline = hard_end(time.time() if started is None else started, deadline)

    def expired(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline

    def close(self, grace: float = 30.0) -> None:
        for worker in self.workers:
            worker.close()
        until = time.time() + grace
        killed = sum(worker.reap(until - time.time()) for worker in self.workers)
        if killed:
            print(f"pool: {killed} worker(s) did not exit {grace:g} s after their last run; killed", flush=True)


def log_name(out: Path) -> str:
    """One log per row: the row's path below its runs/ or sweeps/ folder (recipe folder included), flattened."""
    parts = out.parts
    anchors = [n for n, part in enumerate(parts) if part in ("runs", "sweeps")]
    parts = parts[anchors[-1] + 1:] if anchors else parts[-4:]
    return "-".join((*parts[:-1], Path(parts[-1]).stem)) + ".log"


@dataclass
class Job:
    """One command of a call: what it makes for later jobs (`provides`), what it waits for (`needs`), and how
    urgent it is (`rank`: 0 tokenising a task, 1 a dense checkpoint, 2 another dense row, 3 a pruned row)."""

    cmd: list[str]
    rank: int
    provides: tuple | None = None
    needs: tuple | None = None
    run: GridRun | None = None
    config_order: int = 0
    outs: tuple[Path, ...] = ()  # a cohort job's row files (`cohort_jobs`); else the one row is the command's last word

    @property
    def rows(self) -> tuple[Path, ...]:
        return self.outs or (Path(self.cmd[-1]),)


NOT_STARTED = {-1: "deadline", -2: "what it starts from failed"}
_SAY = threading.Lock()


def say(line: str) -> None:
    """One queue-log line, written whole: `print` writes the text and its newline apart, so two threads' lines
    could join (call 16's log has an `ok` line glued behind a `skip` line, which call_rates.py then missed)."""
    with _SAY:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def run_jobs(jobs: list[Job], slots: Slots, logs: Path, urgency, on_done=None, fits=None,
             reserve: bool = False) -> list[tuple[str, int, float]]:
    """Run every job as soon as a place is free and what it needs is made, the most urgent ready job first
    (`urgency(job)`, smallest first; `on_done(job, code, seconds)` is called as each ends): a pruned run starts
    when its own dense checkpoint exists, never waiting for the slowest dense run of another task. A job whose
    need failed is not started (code -2); one that `fits(job)` says would not end in time (False), or past the
    deadline unless `fits(job)` says it will end in time (True, not None: unknown), or whose need was not started,
    is not started either (code -1). With `reserve`, a ready job leaves a free place to
    each more urgent job still waiting for what it needs: runs from the pre-trained model need no checkpoint, so
    they took every place while the checkpoints were made, and the longest runs, which wait for one, started late
    and were killed at the call's end (results/v2/calls/call9-phase.log); waiting instead for every checkpoint to
    end (call 10) idled the places behind the slowest task's. Each job that ran prints one line,
    ``ok|FAIL <seconds>s <output>  (from <seconds after the queue began> s)``. Returns (output, code, seconds) per
    job, in the order they ended."""
    begin = time.time()
    provided = {j.provides for j in jobs if j.provides is not None}
    pending = [dataclasses.replace(j, needs=j.needs if j.needs in provided else None) for j in jobs]
    made: dict[tuple, int] = {}  # provided key -> exit code of the job that made it
    results: list[tuple[str, int, float]] = []
    cond = threading.Condition()
    free = 0  # places free: threads in take() (there is one thread per place)

    def waiting_ahead(job: Job) -> int:
        """Pending jobs more urgent than `job` that wait for something not yet made: each will want a place."""
        first = urgency(job)
        return sum(1 for k in pending if k.needs is not None and k.needs not in made and urgency(k) < first)

    def take() -> Job | None:
        nonlocal free
        with cond:
            free += 1
            try:
                while pending:
                    ready = [j for j in pending if j.needs is None or j.needs in made]
                    if ready:
                        job = min(ready, key=urgency)
                        # a job's providers rank before it (prepare, checkpoint, run), so the most urgent waiting
                        # job's chain ends in a ready job that nothing outranks: holding never stalls the queue
                        if not reserve or free > waiting_ahead(job):
                            pending.remove(job)
                            return job
                    cond.wait()
                return None
            finally:
                free -= 1

    def finish(job: Job, code: int, seconds: float) -> None:
        with cond:
            results.extend((str(out), code, seconds) for out in job.rows)
            if job.provides is not None:
                made[job.provides] = code
            if on_done is not None:
                on_done(job, code, seconds)
            cond.notify_all()

    def execute(job: Job) -> tuple[int, float]:
        out = job.rows[0]
        log = logs / log_name(out)
        log.parent.mkdir(parents=True, exist_ok=True)
        place = slots.free.get()
        start = time.time()
        try:
            if isinstance(place, Worker):
                code = place.execute(job.cmd, log)
            else:
                with open(log, "w") as f:
                    code = subprocess.run(job.cmd, cwd=ROOT, env=place, stdout=f, stderr=subprocess.STDOUT).returncode
        finally:
            slots.free.put(place)
        if code < 0:  # killed by signal -code (the OOM killer: -9): 128 + signal, as a shell says, never -1 or -2 below
            code = 128 - code
        # when it started, counted from the queue's start: the order a call really ran in, which the scheduler's
        # fixes of calls 8-10 had to be inferred without
        more = f" and {len(job.rows) - 1} more in one batched step" if len(job.rows) > 1 else ""
        line = f"{'ok ' if code == 0 else 'FAIL'} {time.time() - start:6.0f}s {out}{more}  (from {start - begin:.0f} s)"
        say(line + ("" if code == 0 else f"  (log: {log})"))
        return code, time.time() - start

    def worker() -> None:
        while (job := take()) is not None:
            out, code = job.rows[0], made.get(job.needs, 0) if job.needs is not None else 0
            verdict = None if fits is None or code != 0 else fits(job)
            # the deadline is for runs nothing times: one predicted to end before the limit still starts after it
            # (calls 17-18 left ~90 s of 16 places idle with 474 timed runs not started: results/v2/calls)
            expired = slots.expired() and verdict is not True
            if code != 0 or expired:
                code = -1 if code == -1 or expired else -2
                say(f"skip        {out} ({NOT_STARTED[code]})")
                finish(job, code, 0.0)
                continue
            if verdict is False:  # it would be killed at the call's end: leave its place to one that fits
                say(f"skip        {out} (would not end before --limit)")
                finish(job, -1, 0.0)
                continue
            try:
                code, seconds = execute(job)
            except Exception as exc:  # noqa: BLE001 - a command that cannot start fails; its thread must go on
                say(f"FAIL      0s {out}  ({type(exc).__name__}: {exc})")
                code, seconds = 1, 0.0
            finish(job, code, seconds)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(slots.size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def start_mps(root: Path) -> bool:
    """Start NVIDIA's Multi-Process Service so that the kernels of the runs sharing a GPU execute
    concurrently instead of being time-sliced (issue 18's probe: 8 processes on one H200 made 1.07x one
    process's steps/s without it). Every process started afterwards inherits the pipe directory and
    becomes an MPS client. Returns False (and leaves nothing running) where MPS is missing or refuses."""
    exe = shutil.which("nvidia-cuda-mps-control")
    if exe is None:
        print("mps: nvidia-cuda-mps-control is not installed here; runs sharing a GPU are time-sliced", flush=True)
        return False
    folder = root / "mps"
    for sub in ("pipe", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.environ.update(CUDA_MPS_PIPE_DIRECTORY=str(folder / "pipe"), CUDA_MPS_LOG_DIRECTORY=str(folder / "log"))
    started = subprocess.run([exe, "-d"], capture_output=True, text=True)
    probe = started.returncode == 0 and subprocess.run(
        [sys.executable, "-c", "import torch; torch.ones(1, device='cuda').sum().item()"], capture_output=True).returncode == 0
    if not probe:
        stop_mps()
        print(f"mps: could not start a client ({started.stderr.strip() or 'probe failed'}); runs are time-sliced", flush=True)
        return False
    print("mps: started; the runs sharing each GPU execute concurrently", flush=True)
    return True


def stop_mps() -> None:
    exe = shutil.which("nvidia-cuda-mps-control")
    if exe is not None and "CUDA_MPS_PIPE_DIRECTORY" in os.environ:
        subprocess.run([exe], input="quit\n", text=True, capture_output=True)
    for name in ("CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY"):
        os.environ.pop(name, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, nargs="+",
                        help="workflow config(s); several share one queue, each config's runs started before the next one's "
                             "(within each phase: dense checkpoints, dense rows, pruned rows)")
    parser.add_argument("--workers", type=int, default=4, help="runs side by side (per GPU with --gpus)")
    parser.add_argument("--gpus", type=int, default=1,
                        help="GPUs to spread the runs over (CUDA_VISIBLE_DEVICES per place); with 1 on a host of several "
                             "visible GPUs each run claims the least-used one itself (benchmarks/gpu_slots.py)")
    parser.add_argument("--deadline", type=float, default=None,
                        help="start no run after this many seconds, counted from --started-at (default: from run_grid's start), "
                             "except one that --limit predicts will end in time")
    parser.add_argument("--limit", type=float, default=None,
                        help="the call is killed this many seconds after --started-at (default: run_grid's start): a run "
                             "starts only if it is predicted to end before then, by the longer of what this call's ended runs "
                             "of its method and task and --history's logs say")
    parser.add_argument("--started-at", type=float, default=None, metavar="UNIX_SECONDS",
                        help="count --deadline and --limit from this moment, a Unix time within the last day (default: when "
                             "run_grid starts), e.g. when a `timeout` around it started: run_grid's own start-up then no "
                             "longer pushes a run past the kill (22 s in call 14: results/v2/calls/call14-phase.log)")
    parser.add_argument("--history", type=Path, nargs="+", default=[],
                        help="queue logs of earlier calls (files, or folders of *-phase.log): how long a run took there "
                             "predicts it for --longest-first's order (until one has ended in this call) and for --limit "
                             "(always: the longer of the two) "
                             "(grid rows' times; a sweep's only where no grid row of that method and task was timed)")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder that receives results/<version>/... and logs/")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    parser.add_argument("--only", default=None, help="comma-separated methods to run (dense always runs)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds to run now (default: the config's)")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks to run now (default: the config's)")
    parser.add_argument("--sparsities", default=None,
                        help="comma-separated sparsities to run now, as in the row paths (0.8, 0.75; dense always runs)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the rows to run (per method, task and recipe count) and start nothing")
    parser.add_argument("--pool", action="store_true",
                        help="run each place's commands in one persistent worker process (prunebench.benchmarks.pool) instead of "
                             "one process per run: Python, imports and the CUDA context are paid once per worker")
    parser.add_argument("--mps", action="store_true",
                        help="start NVIDIA MPS for the call, so the runs sharing a GPU execute concurrently (falls back, with a "
                             "message, where MPS is unavailable)")
    parser.add_argument("--longest-first", action="store_true",
                        help="start pruned runs longest first across seeds (default: seed by seed, so a deadline cuts the last "
                             "seed). Longest by the seconds this call's finished runs or --history measured for the "
                             "method and task, else by training examples x epochs; the tokenising and checkpoint a long "
                             "run waits for go first, and shorter runs leave it a free place meanwhile")
    parser.add_argument("--cohort", type=int, default=1, metavar="K",
                        help="train up to K pruned runs that differ only in method and sparsity (one-shot methods of one "
                             "model, task, seed and recipe) in one batched step (`prunebench run-cohort`); 1: each apart")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a speed setting for every run, one of the training fields config_hash leaves out (e.g. "
                             "step_mode=auto-compile); repeatable")
    parser.add_argument("--check", action="store_true",
                        help="then check the --only methods' rows under --root against the grid (prunebench leaderboard-check)")
    args = parser.parse_args()
    if args.workers < 1 or args.gpus < 1:
        parser.error(f"--workers and --gpus must be >= 1, got {args.workers} and {args.gpus}")
    if args.cohort < 1:
        parser.error(f"--cohort must be >= 1, got {args.cohort}")
    if args.limit is not None and args.limit <= 0:
        parser.error(f"--limit must be > 0 seconds, got {args.limit:g}")
    if args.check and (not args.only or len(args.config) > 1):
        parser.error("--check needs --only (the methods whose rows to check) and one config")
    now = time.time()
    if args.started_at is not None and not now - 86400 <= args.started_at <= now + 1:
        parser.error(f"--started-at must be a Unix time in the last day, not later than now ({now:.0f}), got {args.started_at:.0f}")
    args.started_at = now if args.started_at is None else args.started_at
    if args.history and args.limit is None and not args.dry_run:
        parser.error("--history predicts runs for --limit; give --limit too (gpu_call.sh passes both)")
    try:
        logs_of_history = history_logs(args.history)
    except UsageError as exc:
        parser.error(str(exc))
    try:
        args.settings = speed_settings(args.set)
    except UsageError as exc:  # one line and exit 2, before anything runs
        print(f"run_grid: {exc}", file=sys.stderr)
        return 2
    # a compiled run's Inductor otherwise starts a compile worker per core, in each of the runs side by side
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    try:
        configs = [check_config(load_yaml(path)) for path in args.config]
    except UsageError as exc:  # one line and exit 2 before anything runs, as `prunebench validate` says it
        print(f"run_grid: config error: {exc}", file=sys.stderr)
        return 2
    if args.gpus > 1:
        try:
            place_gpus(args.gpus)
        except UsageError as exc:
            parser.error(str(exc))
    tags = [c["tag"] for c in configs]
    for config in configs:  # rows of another grid would join a published version's results.csv
        if (warning := frozen_warning(config, results_version(config))) is not None:
            print(f"run_grid: warning: {warning}", file=sys.stderr)
    if len(set(tags)) < len(tags):
        parser.error(f"two configs share a tag ({', '.join(tags)}): their rows and checkpoints would collide")
    grid = [(r, config) for config in configs for r in runs(config)]
    if args.seeds and not all(seed.strip().isdigit() for seed in args.seeds.split(",")):
        parser.error(f"--seeds {args.seeds}: give whole numbers, e.g. 0,1,2")
    if args.sparsities:  # 0.8 and 0.80 name the same cell
        try:
            values = [float(s) for s in args.sparsities.split(",")]
        except ValueError:
            parser.error(f"--sparsities {args.sparsities}: give fractions between 0 and 1, e.g. 0.5,0.8")
        if any(not 0 <= v < 1 for v in values):
            parser.error(f"--sparsities {','.join(map(format_sparsity, values))}: give fractions between 0 and 1 (0.8 for 80%)")
        args.sparsities = ",".join(map(format_sparsity, values))
    for flag, given, known in (("--only", args.only, {r.method for r, _ in grid}),
                               ("--tasks", args.tasks, {r.task for r, _ in grid}),
                               ("--seeds", args.seeds, {str(r.seed) for r, _ in grid}),
                               ("--sparsities", args.sparsities,
                                {format_sparsity(r.sparsity) for r, _ in grid if r.method != "dense"})):
        unknown = sorted(set(given.split(",")) - known) if given else []
        if unknown:  # a filter that matches nothing would run only dense rows, or nothing, and say ok
            parser.error(f"{flag} {','.join(unknown)}: not in the config's grid; it has {', '.join(sorted(known))}")
    if args.only:
        keep = set(args.only.split(",")) | {"dense"}
        grid = [(r, c) for r, c in grid if r.method in keep]
    if args.seeds:
        grid = [(r, c) for r, c in grid if str(r.seed) in args.seeds.split(",")]
    if args.tasks:
        grid = [(r, c) for r, c in grid if r.task in args.tasks.split(",")]
    if args.sparsities:
        grid = [(r, c) for r, c in grid if r.method == "dense" or format_sparsity(r.sparsity) in args.sparsities.split(",")]
    # a row committed in this checkout (it travels to the GPU machine with the tree) or already under --root is done,
    # if it was made by this cell's recipe and parameters: an edited config under the same tag must not reuse it
    found = {id(r): next((base / r.path for base in (args.root, ROOT) if (base / r.path).exists()), None) for r, _ in grid}
    present = {key: path for key, path in found.items() if path is not None}
    mismatched = [(r, problems) for r, _ in grid if id(r) in present and (problems := stale(r, present[id(r)]))]
    if mismatched:
        for r, problems in mismatched[:10]:
            print(f"run_grid: error: {present[id(r)]}: made with {'; '.join(problems)}", file=sys.stderr)
        print(f"run_grid: error: {len(mismatched)} present row(s) were made by another recipe than the config's; give the "
              "config a new tag (rows of other recipes never share a folder) or move those rows away", file=sys.stderr)
        return 2
    todo = [(r, c) for r, c in grid if id(r) not in present]
    print(f"{len(grid)} rows in the grid, {len(grid) - len(todo)} present, {len(todo)} to run", flush=True)
    args.history_seconds = Durations.read_history(logs_of_history, [r for r, _ in todo])
    if args.dry_run:
        group = lambda pair: (pair[1]["tag"], pair[0].method, pair[0].task)  # noqa: E731
        known = args.history_seconds
        width = max([28, *(len(r.method) for r, _ in todo)])  # a method label may be longer than the column
        for (tag, method, task), rows in itertools.groupby(sorted(todo, key=group), key=group):
            rows = [r for r, _ in rows]
            where = f"{tag:<16} " if len(configs) > 1 else ""
            each = f", ~{known[(method, task)]:.0f} s each" if (method, task) in known else ""
            print(f"  {where}{method:<{width}} {task:<6} {len(rows):>4} rows, {len({r.recipe for r in rows})} recipe(s){each}")
        if args.history:
            print(planned_time(todo, known, args.workers * args.gpus))
        return 0
    logs = args.root / "logs" / "+".join(tags)
    begin = time.time()
    mps = args.mps and start_mps(args.root)
    # no queue, no workers: each would start, import and be closed for nothing
    slots = Slots(args.workers, args.gpus, args.deadline, pool=args.pool and bool(todo), started=args.started_at)
    try:
        results = run_phases(todo, args, slots, logs)
        seconds = time.time() - begin  # the queue's time, not the workers' exit
    finally:
        slots.close()
        if mps:
            stop_mps()
    failed = [r for r in results if r[1] > 0]
    skipped = sum(r[1] == -1 for r in results)
    orphaned = sum(r[1] == -2 for r in results)
    rows = sum(code == 0 and ("/runs/" in out or "/sweeps/" in out) for out, code, _ in results)
    print(f"{len(results) - len(failed) - skipped - orphaned} commands ok, {len(failed)} failed, {skipped} not started (deadline)"
          + (f", {orphaned} not started (what they start from failed)" if orphaned else ""))
    way = 'pool' if args.pool else 'one process per run'
    if args.device == "cpu":  # no GPU to count: the rate is per minute of the machine
        print(f"{rows} rows in {seconds:.0f} s on CPU: {rows * 60 / seconds:.2f} rows per minute ({way}, {args.workers} "
              "at once)", flush=True)
    else:
        print(f"{rows} rows in {seconds:.0f} s on {args.gpus} GPU(s): {rows * 60 / (seconds * args.gpus):.2f} rows per "
              f"GPU-minute ({way}, {args.workers} per GPU{', MPS' if mps else ''})", flush=True)
    if args.check:
        from prunebench.benchmarks.cli import main as prunebench

        codes = [prunebench(["leaderboard-check", m, "--config", str(args.config[0]), "--root", str(args.root)])
                 for m in args.only.split(",") if m != "dense"]
        return 1 if failed else max(codes, default=0)
    return 1 if failed else 0


LOG_LINE = re.compile(r"^(ok|FAIL)\s+(\d+)s\s+(\S+/(?:runs|sweeps)/\S+\.csv)")


class Durations:
    """Seconds per unit of `cost`, per (method label, task), from the runs of this call that ended well: what a run
    not yet started will take, so that near a call's hard end only runs that can finish start (a run killed at the
    end is a place wasted for its whole length). The key is the config's label (``distillation@obert``, not
    ``distillation``) and the task: `cost` scales with training examples, which misjudges across tasks the methods
    whose time goes into pruning steps (oBERT's MRPC runs predicted its SST-2 runs at 2-3x their length; they were
    held back and the call ended with half its time unused, results/v2/calls/call5-phase.log).

    Before any run of a key has ended here, earlier calls' queue logs (`history`) say how long it took there: the
    median of its finished runs, or, if longer, the longest it ran before being killed (it needs at least that);
    grid rows' times, or a sweep's where no grid row of the key was timed (`read_history`).
    With neither, nothing is predicted and the run starts."""

    def __init__(self, history: dict[tuple[str, str], float] | None = None) -> None:
        self.rates: dict[tuple[str, str], list[float]] = {}
        self.history = history or {}

    @staticmethod
    def read_history(logs: list[Path], runs: list[GridRun] = ()) -> dict[tuple[str, str], float]:
        """(method label, task) -> expected seconds from queue logs (`ok`/`FAIL` lines of result rows).

        Grid rows' times first. A sweep's stand in only for a (method, task) no grid row has timed: the setting
        of `runs`' recipe for it (a sweep folder named by its parameters, `grid.recipe_label`) where that setting
        was timed, else the median of the sweep runs that ended, whatever their setting (a killed one only if
        none ended). A sweep tries settings the grid does not use: head pruning's slowest SST-2 setting was
        killed at 415 s, the chosen one ended in 308 s, the others in about a minute."""
        ended: dict[tuple, list[float]] = {}
        killed: dict[tuple, float] = {}
        for log in logs:
            for line in log.read_text(errors="replace").splitlines():
                if (m := LOG_LINE.match(line)) is None:
                    continue
                parts = Path(m.group(3)).parts
                # a grid row: (label, task); a sweep row: (label, task, setting), its setting folder sits above
                # the model's: sweeps/<tag>/<setting>/<model>/<task>/<method>/<file>
                key = (parts[-2], parts[-3], parts[-5]) if "sweeps" in parts else (parts[-2], parts[-3])
                if m.group(1) == "ok":
                    ended.setdefault(key, []).append(float(m.group(2)))
                else:
                    killed[key] = max(killed.get(key, 0.0), float(m.group(2)))
        def expected(key: tuple) -> float:  # the median that ended, or the longest killed if that is longer
            return max(statistics.median(ended.get(key, [0.0])), killed.get(key, 0.0))

        grid = {k: expected(k) for k in {*ended, *killed} if len(k) == 2}
        wanted = {(r.method, r.task): recipe_label(r.params) for r in runs}
        sweeps: dict[tuple[str, str], float] = {}
        for pair in sorted({k[:2] for k in {*ended, *killed} if len(k) == 3} - set(grid)):
            settings = [k for k in {*ended, *killed} if k[:2] == pair]
            own = [k for k in settings if pair in wanted and wanted[pair] and (k[2] == wanted[pair] or k[2].endswith("-" + wanted[pair]))]
            if own:
                sweeps[pair] = expected(own[0])
            elif finished := [t for k in settings for t in ended.get(k, [])]:
                sweeps[pair] = statistics.median(finished)
            else:
                sweeps[pair] = max(killed[k] for k in settings)
        return sweeps | grid

    def observe(self, kind: tuple[str, str], size: float, seconds: float) -> None:
        if size > 0 and seconds > 0:
            self.rates.setdefault(kind, []).append(seconds / size)

    def predict(self, kind: tuple[str, str], size: float) -> float | None:
        rates = self.rates.get(kind)
        if rates:
            return statistics.median(rates) * size
        return self.history.get(kind)

    def longest(self, kind: tuple[str, str], size: float) -> float | None:
        """The longer of this call's prediction and the earlier calls': what `--limit` trusts. A precaution: one run
        that ended early in a quiet moment is not the length of the next under a full GPU (call 14's SST-2 gradual
        layer-wise runs took 59 s and 107 s side by side, results/v2/calls/call14-phase.log), and a run killed at
        the call's end costs its place for its whole length, while one held back leaves the place to a shorter."""
        known = [t for t in (self.predict(kind, size), self.history.get(kind)) if t is not None]
        return max(known, default=None)


def hard_end(started_at: float, limit: float | None) -> float | None:
    """The Unix time `limit` seconds after `started_at` (None without a limit): when the call is killed (`--limit`)
    or stops starting runs (`--deadline`), counted from `--started-at`, not from run_grid's own start, which comes
    later by its start-up (22 s in call 14, whose four SST-2 runs predicted to end in time were killed)."""
    return None if limit is None else started_at + limit


def history_logs(paths: list[Path]) -> list[Path]:
    """The queue logs (`*-phase.log`) named by `paths`: files as given, folders searched (not recursively)."""
    logs = []
    for path in paths:
        if path.is_dir():
            logs += sorted(path.glob("*-phase.log"))
        elif path.is_file() and path.name.endswith("-phase.log"):
            logs.append(path)
        elif path.is_file():
            raise UsageError(f"--history {path}: not a queue log (call<N>-phase.log, as scripts/gpu_call.sh writes)")
        else:
            raise UsageError(f"--history {path}: no such file or folder")
    return logs


def planned_time(todo: list[tuple[GridRun, dict]], known: dict[tuple[str, str], float], places: int) -> str:
    """What `--history` says of a queue before it runs: its run-seconds where earlier calls timed the (method, task),
    and the least wall time `places` concurrent places need for them (their sum over the places, or the longest run,
    whichever is more; dense checkpoints, made first in every call, not counted)."""
    pruned = [r for r, _ in todo if r.method != "dense"]
    timed = [known[(r.method, r.task)] for r in pruned if (r.method, r.task) in known]
    untimed = sorted({f"{r.method} on {r.task}" for r in pruned if (r.method, r.task) not in known})
    floor = max(sum(timed) / places, max(timed, default=0.0))
    text = (f"history: {len(timed)} of {len(pruned)} pruned runs timed by earlier calls, {sum(timed):,.0f} run-seconds; "
            f"at least {floor:,.0f} s on {places} places (checkpoints not counted)" if timed else
            f"history: none of {len(pruned)} pruned runs timed by earlier calls")
    return text + (f"; no earlier run of {', '.join(untimed[:6])}{' ...' if len(untimed) > 6 else ''}" if untimed else "")


def run_phases(todo: list[tuple[GridRun, dict]], args, slots: Slots, logs: Path) -> list[tuple[str, int, float]]:
    """Tokenise each (config, model, task) once, make each dense checkpoint once, run the dense rows and every
    pruned row: all as one queue of jobs (`run_jobs`), each started once what it starts from exists, of every
    config together, each config's runs before the next one's."""
    order = {id(c): n for n, c in enumerate({id(c): c for _, c in todo}.values())}
    prepared = lambda run, config: ("prepare", config["tag"], run.model, run.task)  # noqa: E731
    dense = lambda run, config: ("dense", config["tag"], *dense_key(run))  # noqa: E731
    jobs, seen = [], set()
    for run, config in todo:
        if prepared(run, config) not in seen:
            seen.add(prepared(run, config))
            (cmd,) = prepare_commands([(run, config)], args.root)
            jobs.append(Job(cmd, 0, provides=prepared(run, config), config_order=order[id(config)]))
    # runs that share a checkpoint would all fine-tune it at once: one job per key makes it (a dense row to
    # run, or a scratch dense run where the row is committed), every other run of that key waits for it
    makers: dict[tuple, GridRun] = {}
    for run, config in todo:
        if run.method == "dense":
            makers.setdefault(dense(run, config), run)
    n = 0
    for config in {id(c): c for _, c in todo}.values():
        for run in checkpoint_runs([r for r, c in todo if c is config]):
            jobs.append(Job(checkpoint_command(run, n, config, args.root, args.device, args.threads, args.settings), 1,
                            provides=dense(run, config), needs=prepared(run, config), run=run, config_order=order[id(config)]))
            n += 1
    for run, config in todo:
        cmd = run_command(run, config, args.root, args.device, args.threads, settings=args.settings)
        if run.method == "dense" and makers[dense(run, config)] is run:
            jobs.append(Job(cmd, 1, provides=dense(run, config), needs=prepared(run, config), run=run, config_order=order[id(config)]))
        else:
            jobs.append(Job(cmd, 2 if run.method == "dense" else 3, needs=dense(run, config), run=run,
                            config_order=order[id(config)]))
    if args.cohort > 1:
        jobs = cohort_jobs(jobs, args.cohort, args.root)
    examples: dict[str, int] = {}  # task -> training examples, read from each prepare job's output

    durations = Durations(args.history_seconds)
    end = hard_end(args.started_at, args.limit)

    def on_done(job: Job, code: int, seconds: float) -> None:
        if job.rank == 0 and code == 0:
            info = json.loads(Path(job.cmd[-1]).read_text())
            examples[info["task"]] = info["train_examples"]
        elif job.run is not None and code == 0 and not job.outs:  # a cohort's seconds are not one run's
            durations.observe((job.run.method, job.run.task), cost(job.run, examples), seconds)

    def fits(job: Job) -> bool | None:
        """Whether the run ends before --limit by its predicted length; None where there is no limit or no
        prediction (then --deadline decides)."""
        if end is None or job.run is None:
            return None
        expected = durations.longest((job.run.method, job.run.task), cost(job.run, examples))
        return None if expected is None else time.time() + expected <= end

    return run_jobs(jobs, slots, logs, urgency_of(args.longest_first, examples, durations, jobs), on_done, fits,
                    reserve=args.longest_first)


def cohort_jobs(jobs: list[Job], size: int, root: Path) -> list[Job]:
    """Replace the pruned-run jobs that may share a batched step (`prunebench.benchmarks.cohort.batchable` methods
    of one config, checkpoint, recipe and start) by `prunebench run-cohort` jobs of up to `size` runs each. The
    members' commands go to a JSON file under `root`/cohorts/. `run-cohort` checks each member's full identity
    again and trains apart any run this grouping put with runs it cannot share a step with. `EAGER_METHODS` stay
    apart: their long part is their own work before training (lottery ticket's rounds: 46 s of an 81 s run on
    MRPC, results/v2 call 2), which a cohort runs member after member."""
    from prunebench.benchmarks.cohort import batchable
    from prunebench.methods.registry import get

    groups: dict[tuple, list[Job]] = {}
    kept = []
    for job in jobs:
        run = job.run
        if job.rank != 3 or run is None or registry_name(run.method) in EAGER_METHODS \
                or not batchable(get(registry_name(run.method))):
            kept.append(job)
            continue
        key = (job.config_order, job.needs, run.tag, run.version, run.recipe, tuple(sorted(run.train.items())), starts_from(run))
        groups.setdefault(key, []).append(job)
    for members in groups.values():
        for at in range(0, len(members), size):
            chunk = members[at:at + size]
            if len(chunk) == 1:
                kept.append(chunk[0])
                continue
            first = chunk[0].run
            spec = (root / "cohorts" / first.tag / f"{first.task}-{model_slug(first.model)}-seed{first.seed}"
                    f"-{Path(chunk[0].cmd[-1]).stem}-{len(chunk)}.json")
            spec.parent.mkdir(parents=True, exist_ok=True)
            spec.write_text(json.dumps([job.cmd[4:] for job in chunk], indent=1) + "\n")
            cmd = [*chunk[0].cmd[:3], "run-cohort", "--cohort-size", str(size), "--runs", str(spec)]
            kept.append(Job(cmd, 3, needs=chunk[0].needs, run=first, config_order=chunk[0].config_order,
                            outs=tuple(Path(job.cmd[-1]) for job in chunk)))
    return kept


def urgency_of(longest_first: bool, examples: dict[str, int], durations: Durations | None = None,
               jobs: list[Job] = ()):
    """The scheduler's key (smallest first): prerequisites first; then each config's runs before the next one's;
    then by default seed by seed (a deadline cuts the last seed, not every seed) or, with --longest-first, across
    seeds; longest first. Each pick ranks every ready job, thousands in a campaign, and `cost` reads the method
    registry (plugin entry points, milliseconds a call), so a job's cost is computed once per size of its task's
    training set (`examples`, filled in as the tokenising jobs end), not on every pick under the queue's lock.

    "Longest" is measured where it can be: a (method, task) that `durations` times (this call's finished runs, or
    earlier calls' logs) ranks by those seconds. `cost` alone ranked oBERT (~200 s on SST-2) level with
    distillation on oBERT (~440 s), so the long runs started last and were killed at the call's end
    (results/v2/calls/call8-phase.log). A run nothing times is put at its `cost` times the median seconds per
    unit of cost of the timed runs among `jobs`. A job others wait for (tokenising, a checkpoint) ranks as the
    most urgent of them, within its own rank."""
    costs: dict[tuple, float] = {}
    rates: dict[tuple, float | None] = {}
    reached: dict[tuple, tuple | None] = {}  # (provided key, state) -> `downstream` of the job that provides it

    def cost_of(job: Job) -> float:
        key = (tuple(job.cmd), examples.get(job.run.task))
        if key not in costs:
            costs[key] = cost(job.run, examples)
        return costs[key]

    def timed(job: Job) -> float | None:
        return durations.predict((job.run.method, job.run.task), cost_of(job))

    def state() -> tuple:
        """What a job's length depends on besides the job: the task sizes known, and the runs this call timed."""
        return (tuple(sorted(examples.items())), sum(map(len, durations.rates.values())) if durations is not None else 0)

    def rate() -> float | None:  # once per state of what is known, not once per job
        if (now := state()) not in rates:
            ratios = [s / c for j in jobs if j.run is not None and j.rank > 0
                      and (c := cost_of(j)) > 0 and (s := timed(j)) is not None]
            rates[now] = statistics.median(ratios) if ratios else None
        return rates[now]

    def own(job: Job) -> tuple | None:
        if job.run is None:  # tokenising a task: only what waits for it makes it urgent
            return None
        seconds = None
        if durations is not None:
            seconds = timed(job)
            if seconds is None and (per := rate()) is not None:
                seconds = per * cost_of(job)
        length = -cost_of(job) if seconds is None else -seconds
        return (job.config_order, 0 if longest_first else job.run.seed, length)

    dependents: dict[tuple, list[Job]] = {}
    for j in jobs:
        if j.needs is not None:
            dependents.setdefault(j.needs, []).append(j)

    def downstream(job: Job) -> tuple | None:
        """The most urgent of the job and of everything that waits for it, directly or not: the checkpoint that
        distillation on oBERT waits for outranks one that only short runs wait for, and so does its task's
        tokenising (call 10 made SST-2's checkpoints last, behind four small tasks'). A provider's is computed once
        per state (every pick ranks the pending jobs, and a checkpoint has hundreds of dependents)."""
        if job.provides is None:
            return own(job)
        key = (job.provides, state())
        if key not in reached:
            keys = [own(job), *(downstream(d) for d in dependents.get(job.provides, ()))]
            reached[key] = min((k for k in keys if k is not None), default=None)
        return reached[key]

    def urgency(job: Job) -> tuple:
        return (job.rank, *(downstream(job) or ()))

    return urgency


if __name__ == "__main__":
    sys.exit(main())

"""One run: validate everything, fine-tune (or reuse) the dense model, apply the method, evaluate,
measure, and write one schema-v1 row.

All input checks happen in `prepare`, before any model is loaded, so bad input costs nothing and writes
nothing. The dense fine-tuned checkpoint of a (model, task, seed, recipe, data) is computed once and
reused by every method and sparsity that starts from it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from . import data as data_mod
from . import efficiency, provenance
from .atomic import atomic_dir, check_target, temp_path
from .config import RunConfig, TrainConfig, canonical_hash, hashed_train_fields
from .errors import UsageError
from .models import ModelSpec, load_model, load_tokenizer, resolve, uses_token_types
from .paths import run_path
from .run_profile import PhaseTimes, process_age_seconds
from .records import SCHEMA_VERSION, ResultRecord, dumps_json, read_rows, write_atomic, write_record
from .tasks import GlueTask, get_task
from .tokens import Batches, cache_dir, cached_encode
from .train import evaluate, finetune, seed_everything

log = logging.getLogger("prunebench")
DENSE_FORMAT = 1
_first_run_of_process = True  # the process start and imports are charged to the first run a process makes
# seconds of process start and imports, where a pool worker paid them before it had a run (`pool.warm`): its
# first run may come much later, so the process's age at that run would count the idle wait too
process_start_seconds: float | None = None


@dataclass
class Prepared:
    """A validated run: every name resolved, data located and checked, nothing computed."""

    cfg: RunConfig
    task: GlueTask
    spec: ModelSpec
    method_cls: type
    params: object
    splits: data_mod.Splits

    def identity(self) -> dict:
        """Everything that can move the score (device, speed knobs and paths are not in it).

        A method that does not train (the dense baseline) is not moved by the recovery recipe, so its
        identity leaves the recovery fields out: one dense row serves every recovery recipe of a config.
        """
        train = hashed_train_fields(self.cfg.train)
        if not self.method_cls.trains:
            train = {k: v for k, v in train.items() if not k.startswith("recovery_")}
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.spec.fingerprint,
            "task": [self.task.name, self.task.version],
            "method": [self.cfg.method, self.method_cls.version, dataclasses.asdict(self.params)],
            "target_sparsity": self.cfg.sparsity,
            "seed": self.cfg.seed,
            "train": train,
            "data": [self.splits.source, self.splits.fingerprint],
        }

    @property
    def config_hash(self) -> str:
        return canonical_hash(self.identity())

    @property
    def run_id(self) -> str:
        return self.config_hash[:16]

    def dense_key(self) -> str:
        ident = self.identity()
        ident["train"] = {k: v for k, v in ident["train"].items() if not k.startswith("recovery_")}
        for k in ("method", "target_sparsity", "schema_version"):
            ident.pop(k)
        return canonical_hash([DENSE_FORMAT, ident])[:20]


def prepare(cfg: RunConfig) -> Prepared:
    """Check every input of a run; raises UsageError naming the problem and the valid choices."""
    from prunebench.methods.base import check_method
    from prunebench.methods.registry import get

    from .metrics import check_eval_labels
    from .models import check_model_fits, model_fit

    task = get_task(cfg.task)
    method_cls = get(cfg.method)
    if not 0.0 <= cfg.sparsity < 1.0:
        raise UsageError(f"sparsity must be in [0, 1), got {cfg.sparsity}")
    if cfg.seed < 0:
        raise UsageError(f"seed must be >= 0, got {cfg.seed}")
    try:  # the target and parameters, of the method and of every method it runs inside itself
        params = check_method(method_cls, cfg.sparsity, cfg.method_params)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cfg.train.check()
    spec = resolve(cfg.model)
    splits = data_mod.load_splits(task, cfg.data_source)
    train_n, eval_n = cfg.train.max_train_samples or None, cfg.train.max_eval_samples or None
    splits = data_mod.Splits(
        data_mod.subsample(splits.train, train_n),
        {name: data_mod.subsample(df, eval_n) for name, df in splits.evals.items()},
        splits.source,
    )
    # what only this model and this data can refuse (position limit, layers, heads, batches), from the
    # model's config alone: before the token cache or the dense checkpoint is written
    fit = model_fit(spec, cfg.train, len(splits.train))
    check_model_fits(fit, cfg.model)
    try:
        for name, df in splits.evals.items():
            check_eval_labels(task, df["label"].to_numpy(), name)
        if fit is not None:
            check_method(method_cls, cfg.sparsity, cfg.method_params, fit)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Prepared(cfg, task, spec, method_cls, params, splits)


def _pad_multiple(train: TrainConfig, device: torch.device) -> int:
    return train.pad_to_multiple or (16 if device.type == "cuda" else 8)


class Run:
    """The compute part of a prepared run, with its data on the device."""

    def __init__(self, prep: Prepared, device: torch.device, times: PhaseTimes | None = None):
        self.prep, self.device = prep, device
        self.times = times or PhaseTimes(device)
        cfg = prep.cfg.train
        with self.times.phase("data and token cache"):
            self.tokenizer = load_tokenizer(prep.spec)
            use_types = uses_token_types(prep.spec)
            pad = _pad_multiple(cfg, device)

            def batches(df, split, batch_size):
                enc = cached_encode(self.tokenizer, df, prep.task, split, cfg.max_len, prep.splits.source)
                return Batches(enc, batch_size, device, pad, use_types)

            self.train = batches(prep.splits.train, "train", cfg.batch_size)
            self.evals = {name: batches(df, name, cfg.eval_batch_size) for name, df in prep.splits.evals.items()}

    def context(self, sparsity: float, inner_curves: list[dict] | None = None):
        """The method's view of this run; each training the method runs inside its own (`ctx.train`) appends
        {"desc", "epochs", "lr", "steps", "loss"} to `inner_curves` when given (the sidecar's `inner_train_loss`)."""
        from prunebench.methods.base import PruneContext
        from .train import model_inputs, task_loss

        task, cfg, rng_seed = self.prep.task, self.prep.cfg.train, self.prep.cfg.seed

        def loss_fn(model, batch):
            return task_loss(task, model(**model_inputs(batch)).logits, batch["labels"])

        def train_batches():
            import numpy as np

            for index, length in self.train.epoch(np.random.default_rng(rng_seed + 1), cfg.group_by_length):
                yield self.train.batch(index, length)

        ctx = PruneContext(sparsity, task, self.device, rng_seed, loss_fn, train_batches, recipe=cfg)
        # the loss curves of the trainings a method runs inside its own (LoRA's phase, lottery ticket's rounds): the
        # sidecar keeps them, since a row whose recovery starts from a collapsed model cannot say which phase did it
        curves = inner_curves if inner_curves is not None else []

        def inner_train(model, epochs, lr, hooks=None, desc="inner"):
            from prunebench.methods.base import Method

            child = dataclasses.replace(ctx, info={}, steps_per_epoch=0, total_steps=0)
            model, stats = finetune(model, hooks or Method(), child, self.train, cfg, epochs, lr, rng_seed, desc=desc)
            curves.append({"desc": desc, "epochs": epochs, "lr": lr, "steps": stats.steps, "loss": stats.loss_curve})
            ctx.masks = child.masks
            ctx.info.update(child.info)
            model.train()
            return model

        ctx.train = inner_train
        ctx.teacher = self.teacher
        ctx.pretrained = self.pretrained
        ctx.evaluate = lambda model: evaluate(model, task, self.evals, cfg, self.device)
        return ctx

    def teacher(self):
        folder, _ = self.dense_checkpoint()
        model = self.load(folder).eval()
        model.requires_grad_(False)
        return model

    def pretrained(self):
        seed_everything(self.prep.cfg.seed)
        return self.load()

    def load(self, folder: Path | None = None):
        """The pre-trained start (fresh head) or a checkpoint `folder` of this run, on the run's device, with the
        recipe's attention implementation."""
        location = None if folder is None else str(folder)
        return load_model(self.prep.spec, self.prep.task, location=location, attention=self.prep.cfg.train.attention).to(self.device)

    def dense_checkpoint(self) -> tuple[Path, dict]:
        """The fine-tuned dense model of this (model, task, seed, recipe, data): loaded or made once."""
        prep = self.prep
        folder = cache_dir() / "dense" / f"{prep.task.name}-seed{prep.cfg.seed}-{prep.dense_key()}"
        info_path = folder / "dense.json"
        with self.times.phase("dense checkpoint (fine-tune or load)"):
            return self._dense_checkpoint(folder, info_path)

    def _dense_checkpoint(self, folder: Path, info_path: Path) -> tuple[Path, dict]:
        from prunebench.methods.dense import Dense

        prep, cfg = self.prep, self.prep.cfg.train
        if info_path.is_file():
            log.info("dense checkpoint: reusing %s", folder)
            return folder, json.loads(info_path.read_text())
        if folder.exists():  # not made by atomic_dir (an older version, or edited by hand): never trusted
            log.warning("dense checkpoint: %s has no dense.json; replacing it", folder)
            aside = temp_path(folder)
            folder.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        log.info("dense checkpoint: fine-tuning %s on %s (%s epochs)", prep.cfg.model, prep.task.name, cfg.epochs)
        seed_everything(prep.cfg.seed)
        model = self.load()
        model, stats = finetune(model, Dense(), self.context(0.0), self.train, cfg, cfg.epochs, cfg.lr, prep.cfg.seed, desc="dense fine-tune")
        metrics, score = evaluate(model, prep.task, self.evals, cfg, self.device)
        info = {"score": score, "metrics": metrics, "train_seconds": stats.seconds, "steps": stats.steps,
                "train_loss": stats.loss_curve, "device": provenance.device_name(self.device), "identity": prep.identity()}
        # the folder appears complete or not at all; if another process finished the same checkpoint
        # first, ours is dropped and theirs kept. Same key and recipe, but not always the same weights (GPU
        # training is not bitwise reproducible), so the row must report the checkpoint that was kept, the one
        # every pruned run loads, not the model this process trained
        with atomic_dir(folder) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            (tmp / "dense.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
        return folder, json.loads(info_path.read_text())

    def execute(self) -> tuple[ResultRecord, dict]:
        begun = self.begin()
        if begun.method.trains:
            model, stats = finetune(begun.model, begun.method, begun.ctx, self.train, self.prep.cfg.train, begun.epochs,
                                    begun.lr, self.prep.cfg.seed, desc=self.prep.cfg.method)
            return self.finish(begun, model, stats)
        return self.finish(begun, begun.model, None)

    def begin(self) -> "Begun":
        """Everything of `execute` before the method's hooks: the dense checkpoint, the seeded model load and
        the method's context. A cohort (`benchmarks.cohort`) begins each of its runs so, then trains them together."""
        from prunebench.methods._structure import prunable_weights

        prep, cfg, seed = self.prep, self.prep.cfg.train, self.prep.cfg.seed
        folder, dense = self.dense_checkpoint()
        method = prep.method_cls(prep.params)
        seed_everything(seed)
        with self.times.phase("model load"):
            if method.starts_from == "finetuned":
                model = self.load(folder)
            else:
                model = self.pretrained()
        epochs, lr = method.training_phase(cfg)
        inner_curves: list[dict] = []
        ctx = self.context(prep.cfg.sparsity, inner_curves)
        prunable_before = sum(w.numel() for w in prunable_weights(model).values())
        return Begun(folder, dense, method, model, epochs, lr, ctx, inner_curves, prunable_before)

    def finish(self, begun: "Begun", model: torch.nn.Module, stats, cohort: dict | None = None) -> tuple[ResultRecord, dict]:
        """Everything of `execute` after training (`stats`, None for a method that does not train): evaluation,
        efficiency, the row and its sidecar. `cohort`: how the run was trained together with others, for the sidecar."""
        from prunebench.methods._masking import measured_sparsity
        from prunebench.methods._structure import prunable_weights

        prep, cfg, seed = self.prep, self.prep.cfg.train, self.prep.cfg.seed
        folder, dense, method, ctx = begun.folder, begun.dense, begun.method, begun.ctx
        train_seconds, loss_curve, mode = 0.0, [], ""
        if stats is not None:
            train_seconds, loss_curve, mode = stats.seconds, stats.loss_curve, stats.step_mode
            self.times.add("method before training", stats.before_seconds)
            self.times.add("graph capture", stats.capture_seconds)
            self.times.add("training steps", stats.seconds - stats.before_seconds - stats.capture_seconds)
            with self.times.phase("evaluation"):
                metrics, score = evaluate(model, prep.task, self.evals, cfg, self.device)
        else:
            metrics, score = dense["metrics"], dense["score"]
        achieved = measured_sparsity(prunable_weights(model), original_total=begun.prunable_before)
        with self.times.phase("efficiency measurement"):
            eff = efficiency.measure(model, self.device, repeats=cfg.bench_repeats, bf16=cfg.bf16)
        params = {**method.params_dict(), **({"_info": ctx.info} if ctx.info else {})}
        record = ResultRecord(
            schema_version=SCHEMA_VERSION,
            run_id=prep.run_id,
            method=prep.cfg.method,
            method_params=dumps_json(params),
            model=prep.cfg.model,
            task=prep.task.name,
            seed=seed,
            target_sparsity=prep.cfg.sparsity,
            achieved_sparsity=achieved,
            metric="+".join(prep.task.primary),
            score=score,
            metrics=dumps_json(metrics),
            dense_score=dense["score"],
            data_source=prep.splits.source,
            train_examples=len(prep.splits.train),
            **eff.columns(),
            train_seconds=train_seconds,
            device=provenance.device_name(self.device),
            **provenance.versions(),
            git_commit=provenance.git_commit(),
            config_hash=prep.config_hash,
            created_at=provenance.utc_now(),
        )
        self.final_model = model  # what `run(save_model=...)` saves: the weights the row was measured on
        from prunebench.methods.registry import source

        # "built-in", or "plugin <distribution> <version>": which release of an outside method made the row
        sidecar = {"config": dataclasses.asdict(prep.cfg), "identity": prep.identity(), "method_source": source(prep.cfg.method),
                   "dense_checkpoint": str(folder),
                   "dense_train_seconds": dense.get("train_seconds"), "efficiency": eff.extras(),
                   "train_loss": loss_curve, "inner_train_loss": begun.inner_curves,
                   # how the row's training steps ran (the config's step_mode resolved for this method and device)
                   "step_mode": mode,
                   "dense_train_loss": dense.get("train_loss")}
        if cohort is not None:  # trained in one batched step with other runs: which, and how many
            sidecar["cohort"] = cohort
        return record, sidecar


@dataclass
class Begun:
    """A run after `Run.begin`: what its training and its row need."""

    folder: Path
    dense: dict
    method: object
    model: torch.nn.Module
    epochs: float
    lr: float
    ctx: object
    inner_curves: list
    prunable_before: int


def existing_run_id(path: Path) -> str | None:
    try:
        rows = read_rows(path)
    except (OSError, ValueError):
        return None
    return rows[0]["run_id"] if len(rows) == 1 else None


def check_model_folder(folder: Path, what: str = "--save-model") -> None:
    """Refuse, before any compute, a model folder that is already there with something in it (a saved model
    is never overwritten or mixed with another's files) or that cannot be created. Raises UsageError."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{what} {folder}: exists and is not an empty folder; give a new or empty folder")
    check_target(folder / "config.json", what)


def save_model(model: torch.nn.Module, prep: Prepared, record: ResultRecord, folder: Path) -> Path:
    """Save a run's final model where `from_pretrained` (and `models.load_model` with `location`) reloads it:
    the weights with the method's masks already applied (pruned weights are stored zeros; a structured
    method's smaller shapes are recorded in config.json, `_shrink.save_shrunk`), the trained task head, the
    tokenizer, and `prunebench-run.json` (the row it was measured for: run_id, achieved_sparsity, score, ...).
    Safetensors only. The folder appears complete or not at all (`atomic.atomic_dir`: a temporary folder
    beside it, renamed into place); an empty folder there is replaced."""
    from dataclasses import asdict

    from prunebench.methods._shrink import STRUCTURE_KEY, save_shrunk

    folder = Path(folder)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()  # an empty folder stands for "here": the rename below needs the name free
    with atomic_dir(folder) as tmp:
        model = model.float().eval()
        if getattr(model.config, STRUCTURE_KEY, None):
            save_shrunk(model, tmp)
        else:
            model.save_pretrained(tmp, safe_serialization=True)
        load_tokenizer(prep.spec).save_pretrained(tmp)
        info = {"row": asdict(record), "config": asdict(prep.cfg)}
        (tmp / "prunebench-run.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str) + "\n")
    return folder


def run(cfg: RunConfig, out: Path | None = None, force: bool = False, device: str = "auto",
        save_model_to: Path | None = None) -> tuple[Path, ResultRecord | None]:
    """Prepare, then compute unless the row already exists; returns (row path, record or None if skipped).

    `save_model_to`: a new (or empty) folder for the final model (`save_model`), written before the row. A row
    already there is then an error unless `force`: its model was not kept and would not be recomputed."""
    if save_model_to is not None:
        check_model_folder(save_model_to)
    times = _new_times()
    with times.phase("prepare (checks, data files)"):
        prep = prepare(cfg)
    path = row_path(prep, out)
    if row_done(path, prep, force, save_model_to is not None):
        return path, None
    dev = times.device = provenance.pick_device(device)
    runner = Run(prep, dev, times)
    record, sidecar = runner.execute()
    if save_model_to is not None:  # not a phase of the profile: a run without it must compare with one with it
        save_model(runner.final_model, prep, record, save_model_to)
    write_row(path, record, sidecar, times)
    return path, record


def run_cohort(cfgs: list[RunConfig], outs: list[Path | None], force: bool = False, device: str = "auto",
               cohort_size: int = 8) -> list[tuple[Path, ResultRecord | None]]:
    """`run` for several runs in one call, those that may share a batched step (`cohort.key`) trained together,
    at most `cohort_size` at a time; the others one after another. Every run is prepared and its row file checked
    before any compute (UsageError); rows already there are not recomputed. Returns (row path, record or None if
    skipped) per run, in the given order."""
    from . import cohort

    if cohort_size < 1:
        raise UsageError(f"cohort size must be >= 1, got {cohort_size}")
    times = [_new_times() if n == 0 else PhaseTimes() for n in range(len(cfgs))]
    preps, paths = [], []
    for cfg, out, t in zip(cfgs, outs, times):
        with t.phase("prepare (checks, data files)"):
            preps.append(prepare(cfg))
        paths.append(row_path(preps[-1], out))
    if len(set(paths)) < len(paths):
        raise UsageError("two runs of the cohort write the same row file; give each its own --out")
    results: list[tuple[Path, ResultRecord | None]] = [(path, None) for path in paths]
    todo = [n for n, (prep, path) in enumerate(zip(preps, paths)) if not row_done(path, prep, force)]
    if not todo:
        return results
    dev = provenance.pick_device(device)
    groups: dict[str, list[int]] = {}
    for n in todo:
        groups.setdefault(cohort.key(preps[n]) or f"alone-{n}", []).append(n)
    for members in groups.values():
        for at in range(0, len(members), cohort_size):
            chunk = members[at:at + cohort_size]
            runs = []
            for n in chunk:
                times[n].device = dev
                runs.append(Run(preps[n], dev, times[n]))
            made = cohort.execute(runs) if len(runs) > 1 else [runs[0].execute()]
            for n, (record, sidecar) in zip(chunk, made):
                write_row(paths[n], record, sidecar, times[n])
                results[n] = (paths[n], record)
    return results


def _new_times() -> PhaseTimes:
    """A run's phase clock; the process start and imports are charged to the first run a process makes."""
    global _first_run_of_process
    times = PhaseTimes()
    if _first_run_of_process:
        _first_run_of_process = False
        age = process_start_seconds if process_start_seconds is not None else process_age_seconds()
        if age is not None:
            times.add("process start and imports", age)
    return times


def row_path(prep: Prepared, out: Path | None) -> Path:
    """`out`, or the run's place under results/v1/runs/; raises UsageError where no file can be written there."""
    cfg = prep.cfg
    path = Path(out) if out else run_path(cfg.model, cfg.task, cfg.method, cfg.sparsity, cfg.seed, prep.run_id)
    check_target(path, "row file")
    return path


def row_done(path: Path, prep: Prepared, force: bool, saving_model: bool = False) -> bool:
    """Whether `path` already holds this very run (then it is not recomputed). Raises UsageError for a file that
    holds another run or no valid row (unless `force`), or when `saving_model` asks for a model that row did not keep."""
    if path.exists() and not force:
        found = existing_run_id(path)
        if found == prep.run_id:
            if saving_model:
                raise UsageError(f"{path} already holds run {found}: its model is not recomputed, so there is nothing to "
                                 "save to --save-model; use --force to recompute it")
            log.info("%s already holds run %s: not recomputed (use --force to redo)", path, found)
            return True
        raise UsageError(f"{path} exists and holds {'run ' + found if found else 'no valid row'}, not run {prep.run_id}; "
                         "use --force to replace it or choose another --out")
    return False


def write_row(path: Path, record: ResultRecord, sidecar: dict, times: PhaseTimes) -> None:
    """The sidecar (with the run's profile), then the row: the row's presence means the run is complete."""
    with times.phase("sidecar writing"):
        sidecar["profile"] = times.as_dict()  # seconds per phase (benchmarks/run_profile.py); the row is written after
        # one line: a device call carries the whole tree in 64 MiB and a campaign's sidecars grow it by megabytes
        # (indented, a row's sidecar was 7.2 KB, one line 5.0; results/v2/README.md); `python -m json.tool` reads it
        write_atomic(path.with_suffix(".json"), json.dumps(sidecar, sort_keys=True, separators=(",", ":"), default=str) + "\n")
    write_record(path, record)

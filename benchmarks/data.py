"""GLUE splits from the Hub, a local ``GLUE_DIR`` copy, or the small sample embedded in the package.

Order of sources for ``source="auto"``: the Hugging Face Hub (only when ``datasets`` is installed and the
Hub is not switched off with ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``), then ``GLUE_DIR`` (default
``../shared/data/glue`` when present), then the embedded sample. A run takes every split it needs from
one source and records which one in its ``data_source`` column, so a sample-data row can never pass for
a full-data row.

Local files are checked against ``MANIFEST.tsv`` (sha256) when one is present, and every table is
checked for its columns and label values, so a truncated or edited file fails with its path named.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .offline import HUB_DATA, switched_off
from .tasks import GlueTask

log = logging.getLogger(__name__)

SOURCES = ("auto", "hub", "glue_dir", "embedded")
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded_glue"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Tasks whose training split is not offline, and what a run trains and scores on instead. Each substitute is
# its own regime: the `data_source` column gets the suffix (e.g. "glue_dir:qqp-train-subset"), and the analysis
# (analysis/regimes.py) never puts such rows next to full-data rows of the task.
# - QQP: GLUE_DIR holds the official dev set and a 23,497-row sample of the training set
#   (qqp/train_subset.parquet; see the data README). Runs train on the whole sample and are scored on the
#   official dev set.
# - MNLI: only the two dev sets exist offline. The low-resource regime trains on validation_mismatched
#   (9,832 pairs) and scores on validation_matched (9,815): a three-class NLI task, never full-MNLI numbers.
@dataclass(frozen=True)
class Substitute:
    train_file: str  # the split file trained on
    eval_splits: tuple[str, ...]  # the task's eval splits kept for scoring (never the training file)
    suffix: str  # appended to the data source


SUBSTITUTES: dict[str, Substitute] = {
    "qqp": Substitute("train_subset", ("validation",), ":qqp-train-subset"),
    "mnli": Substitute("validation_mismatched", ("validation_matched",), ":mnli-train-mismatched"),
}

# v1 (archived): a GLUE_DIR without QQP's dev set held out a fixed 10% of the training sample as the
# evaluation split ("glue_dir:qqp-subset"). Made only when no qqp/validation.parquet exists, so v1's rows stay
# reproducible from v1's data, and never mixed with the regime above.
QQP_SUBSET_FILE = "train_subset"
QQP_SUBSET_HELDOUT = 0.1
QQP_SUBSET_SEED = 0
QQP_SUBSET_SUFFIX = ":qqp-subset"
# every suffix a row's data_source may carry after hub, glue_dir or embedded
SOURCE_SUFFIXES = (QQP_SUBSET_SUFFIX, *(sub.suffix for sub in SUBSTITUTES.values()))


@dataclass(frozen=True)
class Splits:
    """The splits one run uses, all from one source."""

    train: pd.DataFrame
    evals: dict[str, pd.DataFrame]  # eval split name -> table, in the task's eval_splits order
    source: str  # "hub", "glue_dir", "embedded", + a SUBSTITUTES suffix (or v1's ":qqp-subset") when one was used

    @property
    def fingerprint(self) -> str:
        """Content hash of every table, so caches and config hashes move when the data moves."""
        h = hashlib.sha256(self.source.encode())
        for name, df in [("train", self.train), *self.evals.items()]:
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
        return h.hexdigest()


def default_glue_dir() -> Path | None:
    env = os.environ.get("GLUE_DIR")
    if env:
        return Path(env)
    for base in (Path.cwd(), PROJECT_ROOT):
        candidate = base.parent / "shared" / "data" / "glue"
        if candidate.is_dir():
            return candidate
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=None)
def _manifest(root: Path) -> dict[tuple[str, str], str]:
    path = root / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path, sep="\t", dtype=str)
    if not {"task", "split", "sha256"} <= set(table.columns):
        raise UsageError(f"{path}: malformed manifest, expected columns task, split, sha256")
    return {(r.task, r.split): r.sha256 for r in table.itertuples()}


@lru_cache(maxsize=None)
def _verified_file(root: Path, task: str, split: str) -> Path | None:
    """The parquet file for (task, split) under root, checksum-verified, or None if absent."""
    path = root / task / f"{split}.parquet"
    if not path.is_file():
        return None
    expected = _manifest(root).get((task, split))
    if expected is not None and _sha256(path) != expected:
        raise UsageError(
            f"{path}: sha256 does not match {root / 'MANIFEST.tsv'}; the file is truncated or altered, "
            "restore it from the original copy"
        )
    return path


def _read_checked(path: Path, task: GlueTask) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise UsageError(f"{path}: not a readable parquet file ({type(exc).__name__}: {exc})") from None
    return check_table(df, task, str(path))


def check_table(df: pd.DataFrame, task: GlueTask, where: str) -> pd.DataFrame:
    """Columns and label values of a GLUE table, checked; returns the table with the columns we use."""
    needed = [*task.fields, "label"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise UsageError(f"{where}: missing column(s) {missing}; a {task.name} table has {needed}")
    if len(df) == 0:
        raise UsageError(f"{where}: the table has no rows")
    labels = df["label"]
    if task.is_regression:
        bad = labels.isna() | (labels < 0) | (labels > 5)
        if bad.any():
            raise UsageError(f"{where}: {int(bad.sum())} STS-B label(s) outside [0, 5]")
    else:
        found = set(pd.unique(labels).tolist())
        if not found <= set(task.label_values):
            raise UsageError(
                f"{where}: label values {sorted(found - set(task.label_values))} are not {task.name} labels "
                f"{list(task.label_values)}"
            )
    for col in task.fields:
        if df[col].isna().any():
            raise UsageError(f"{where}: column {col!r} has {int(df[col].isna().sum())} missing value(s)")
    return df[needed].reset_index(drop=True)


def _local_splits(root: Path, task: GlueTask, source: str) -> Splits | None:
    """All splits of `task` under root, or None when any is missing (so the caller falls back)."""
    evals = {s: _verified_file(root, task.name, s) for s in task.eval_splits}
    train = _verified_file(root, task.name, task.train_split)
    if train is not None and all(p is not None for p in evals.values()):
        return Splits(_read_checked(train, task), {s: _read_checked(p, task) for s, p in evals.items()}, source)
    sub = SUBSTITUTES.get(task.name)
    if train is None and sub is not None:
        sub_train = _verified_file(root, task.name, sub.train_file)
        sub_evals = {s: evals[s] for s in sub.eval_splits}
        if sub_train is not None and all(p is not None for p in sub_evals.values()):
            return Splits(_read_checked(sub_train, task), {s: _read_checked(p, task) for s, p in sub_evals.items()},
                          source + sub.suffix)
    subset = _verified_file(root, task.name, QQP_SUBSET_FILE) if task.name == "qqp" else None
    if subset is not None:
        full = _read_checked(subset, task)
        rng = np.random.default_rng(QQP_SUBSET_SEED)
        heldout = np.zeros(len(full), dtype=bool)
        heldout[rng.choice(len(full), size=round(QQP_SUBSET_HELDOUT * len(full)), replace=False)] = True
        return Splits(
            full[~heldout].reset_index(drop=True),
            {task.eval_splits[0]: full[heldout].reset_index(drop=True)},
            source + QQP_SUBSET_SUFFIX,
        )
    return None


def _hub_splits(task: GlueTask) -> Splits | None:
    if switched_off(*HUB_DATA):
        return None
    try:
        from datasets import load_dataset
    except ImportError:
        return None
    try:
        ds = load_dataset("glue", task.name)
        return Splits(
            check_table(ds[task.train_split].to_pandas(), task, f"hub glue/{task.name}"),
            {s: check_table(ds[s].to_pandas(), task, f"hub glue/{task.name}/{s}") for s in task.eval_splits},
            "hub",
        )
    except Exception as exc:  # no network, no cache: fall back, but say why
        log.info("GLUE %s not available from the Hub (%s: %s); trying local copies", task.name, type(exc).__name__, exc)
        return None


def local_sources(task: GlueTask) -> dict[str, Path]:
    """The local sources (by name: glue_dir, embedded) that hold every split of `task`, with their folders."""
    found = {}
    root = default_glue_dir()
    if root is not None and _local_splits(root, task, "glue_dir") is not None:
        found["glue_dir"] = root
    if _local_splits(EMBEDDED_DIR, task, "embedded") is not None:
        found["embedded"] = EMBEDDED_DIR
    return found


def available_sources(task: GlueTask) -> list[str]:
    """Local sources that hold every split of `task`, as error messages name them ("glue_dir (<folder>)")."""
    return [f"glue_dir ({folder})" if name == "glue_dir" else name for name, folder in local_sources(task).items()]


def load_splits(task: GlueTask, source: str = "auto") -> Splits:
    """Train and evaluation tables of `task` from the first source that has them all."""
    if source not in SOURCES:
        raise UsageError(f"unknown data source {source!r}; valid data sources: {', '.join(SOURCES)}")
    attempts = {
        "hub": lambda: _hub_splits(task),
        "glue_dir": lambda: (_local_splits(root, task, "glue_dir") if (root := default_glue_dir()) else None),
        "embedded": lambda: _local_splits(EMBEDDED_DIR, task, "embedded"),
    }
    order = list(attempts) if source == "auto" else [source]
    for name in order:
        splits = attempts[name]()
        if splits is not None:
            return splits
    needed = [task.train_split, *task.eval_splits]
    # the tasks the same sources could serve: naming one that only another source has (the embedded sample's QQP
    # when glue_dir was asked for) would send the user after data that this call still cannot read
    local = [name for name in order if name != "hub"] or ["glue_dir", "embedded"]
    raise UsageError(
        f"no source has all splits {needed} of {task.name} (tried {', '.join(order)}; GLUE_DIR="
        f"{default_glue_dir()}); tasks with complete local data in {' or '.join(local)}: "
        + (", ".join(_complete_local_tasks(local)) or "none")
    )


def _complete_local_tasks(sources: list[str]) -> list[str]:
    from .tasks import TASKS

    return [name for name, t in TASKS.items() if any(found in sources for found in local_sources(t))]


def subsample(df: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """A fixed-seed sample of n rows in their original order (the whole table when n is None or larger)."""
    if n is None or n >= len(df):
        return df
    if n <= 0:
        raise UsageError(f"sample size must be positive, got {n}")
    keep = np.sort(np.random.default_rng(seed).choice(len(df), size=n, replace=False))
    return df.iloc[keep].reset_index(drop=True)

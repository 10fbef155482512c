"""Experiment regimes: which rows may share a curve, a table column or a leaderboard average.

Two rows are comparable only if the model saw the same training data and was scored on the same kind of
evaluation split. The CSV says this through ``data_source`` and ``train_examples``:

- ``full``: Hub or ``GLUE_DIR`` data with the task's whole training split (``GLUE_TRAIN_SIZES``);
  the only regime whose numbers may sit next to published GLUE results;
- ``n<N>``: Hub or ``GLUE_DIR`` data with a fixed N-example sample of the training split;
- ``embedded-n<N>``: the small sample shipped in the package (a smoke test, never a GLUE result);
- ``qqp-subset-n<N>``: QQP's 23,497-row training-set sample, with its own held-out evaluation split.
  Labelled "QQP subset" everywhere and never compared with full-QQP numbers.

Hub and ``GLUE_DIR`` are the same data (``GLUE_DIR`` is checked against its MANIFEST), so they share a
regime. ``family`` drops the per-task N where it does not change the meaning, so the leaderboard can average
one regime over tasks: every task at full data, every task at the same N-example sample, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

# Training split sizes of the Hugging Face `glue` dataset (= the GLUE distribution). A row whose
# train_examples reaches its task's size trained on the whole split.
GLUE_TRAIN_SIZES: dict[str, int] = {
    "cola": 8551,
    "sst2": 67349,
    "mrpc": 3668,
    "stsb": 5749,
    "qqp": 363846,
    "mnli": 392702,
    "qnli": 104743,
    "rte": 2490,
    "wnli": 635,
}

SOURCES = ("hub", "glue_dir", "embedded")
QQP_SUBSET_SUFFIX = ":qqp-subset"


@dataclass(frozen=True)
class Regime:
    key: str  # per (task) regime id, also used in file names: "full", "n1000", "embedded-n2000", "qqp-subset-n21147"
    family: str  # the same across tasks: "full", "n1000", "embedded", "qqp-subset"
    label: str  # what tables and figures print
    qqp_subset: bool


def classify(task: str, data_source: str, train_examples: int) -> Regime:
    """The regime of one row; an unknown data source is an error, never a guess."""
    source, subset = data_source, False
    if source.endswith(QQP_SUBSET_SUFFIX):
        source, subset = source[: -len(QQP_SUBSET_SUFFIX)], True
    if source not in SOURCES:
        raise ValueError(f"unknown data_source {data_source!r}; expected one of {SOURCES},"
                         f" optionally + {QQP_SUBSET_SUFFIX!r}")
    n = int(train_examples)
    if subset:
        return Regime(f"qqp-subset-n{n}", "qqp-subset", f"{n:,} train, held-out eval", True)
    if source == "embedded":
        return Regime(f"embedded-n{n}", "embedded", f"embedded sample, {n:,} train", False)
    full = GLUE_TRAIN_SIZES.get(task)
    if full is not None and n >= full:
        return Regime("full", "full", "full data", False)
    return Regime(f"n{n}", f"n{n}", f"{n:,}-example sample", False)


def family_label(family: str) -> str:
    """How a regime family is named above a leaderboard."""
    if family == "full":
        return "full data"
    if family == "embedded":
        return "embedded sample"
    if family == "qqp-subset":
        return "QQP subset"
    if family.startswith("n") and family[1:].isdigit():
        return f"{int(family[1:]):,}-example samples"
    return family


def from_key(key: str) -> Regime:
    """The regime a key names (the inverse of ``classify(...).key``), for cells that have no row yet."""
    if key == "full":
        return Regime("full", "full", "full data", False)
    kind, _, n = key.rpartition("-n") if "-n" in key else ("", "", key[1:])
    if not n.isdigit():
        raise ValueError(f"not a regime key: {key!r}")
    count = int(n)
    if kind == "qqp-subset":
        return Regime(key, "qqp-subset", f"{count:,} train, held-out eval", True)
    if kind == "embedded":
        return Regime(key, "embedded", f"embedded sample, {count:,} train", False)
    if kind == "" and key.startswith("n"):
        return Regime(key, key, f"{count:,}-example sample", False)
    raise ValueError(f"not a regime key: {key!r}")

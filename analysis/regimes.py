"""Experiment regimes: which rows may share a curve, a table column or a leaderboard average.

Two rows are comparable only if the model saw the same training data and was scored on the same kind of
evaluation split. The CSV says this through ``data_source`` and ``train_examples``:

- ``full``: Hub or ``GLUE_DIR`` data with the task's whole training split (``GLUE_TRAIN_SIZES``);
  the only regime whose numbers may sit next to published GLUE results;
- ``n<N>``: Hub or ``GLUE_DIR`` data with a fixed N-example sample of the training split;
- ``embedded-n<N>``: the small sample shipped in the package (a smoke test, never a GLUE result);
- ``qqp-subset-n<N>``: v1's QQP regime (archived): the 23,497-row training-set sample split 90/10, scored on
  the held-out 10%. Labelled "QQP subset" everywhere and never compared with full-QQP numbers.
- ``<variant>-n<N>``: a substitute for a training split that is not offline (``benchmarks.data.SUBSTITUTES``):
  ``qqp-train-subset`` (the whole 23,497-row sample, scored on the official dev set: "QQP (23.5k-row training
  subset)") and ``mnli-train-mismatched`` (trained on dev-mismatched, scored on dev-matched: "MNLI,
  low-resource: trained on dev-mismatched"). Each is its own family, so it never shares a table, curve or
  leaderboard average with full-data rows of its task, nor with v1's QQP subset; ``embedded-<variant>-n<N>``
  is the same substitute on the embedded sample.

Hub and ``GLUE_DIR`` are the same data (``GLUE_DIR`` is checked against its MANIFEST), so they share a
regime. ``family`` drops the per-task N where it does not change the meaning, so the leaderboard can average
one regime over tasks: every task at full data, every task at the same N-example sample, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

from prunebench.benchmarks.data import QQP_SUBSET_SUFFIX, SOURCE_SUFFIXES

from .labels import variant_task_label

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
QQP_SUBSET = QQP_SUBSET_SUFFIX.removeprefix(":")  # v1's held-out-slice variant
VARIANTS = tuple(suffix.removeprefix(":") for suffix in SOURCE_SUFFIXES)
# how the rows of each variant are described next to the task's name (the evaluation split is what differs)
VARIANT_REGIME_LABELS = {
    QQP_SUBSET: "{n:,} train, held-out eval",
    "qqp-train-subset": "{n:,} train, official dev set",
    "mnli-train-mismatched": "{n:,} train (dev-mismatched), scored on dev-matched",
}


@dataclass(frozen=True)
class Regime:
    key: str  # per (task) regime id, also used in file names: "full", "n1000", "embedded-n2000", "qqp-subset-n21147"
    family: str  # the same across tasks: "full", "n1000", "embedded", "qqp-subset", "qqp-train-subset", ...
    label: str  # what tables and figures print
    qqp_subset: bool  # v1's held-out slice of the QQP sample (its own chance level)
    variant: str = ""  # the substitute split (VARIANTS) the rows trained or scored on; "" for the task's own splits


def _regime(variant: str, embedded: bool, n: int, task: str | None) -> Regime:
    if variant == QQP_SUBSET:  # v1's keys, unchanged (embedded or not)
        return Regime(f"{QQP_SUBSET}-n{n}", QQP_SUBSET, VARIANT_REGIME_LABELS[QQP_SUBSET].format(n=n), True, variant)
    if variant:
        what = VARIANT_REGIME_LABELS[variant].format(n=n)
        if embedded:
            return Regime(f"embedded-{variant}-n{n}", "embedded", f"embedded sample, {what}", False, variant)
        return Regime(f"{variant}-n{n}", variant, what, False, variant)
    if embedded:
        return Regime(f"embedded-n{n}", "embedded", f"embedded sample, {n:,} train", False)
    full = GLUE_TRAIN_SIZES.get(task) if task is not None else None
    if full is not None and n >= full:
        return Regime("full", "full", "full data", False)
    return Regime(f"n{n}", f"n{n}", f"{n:,}-example sample", False)


def classify(task: str, data_source: str, train_examples: int) -> Regime:
    """The regime of one row; an unknown data source is an error, never a guess."""
    source, variant = data_source, ""
    for suffix in SOURCE_SUFFIXES:
        if source.endswith(suffix):
            source, variant = source[: -len(suffix)], suffix.removeprefix(":")
            break
    if source not in SOURCES:
        raise ValueError(f"unknown data_source {data_source!r}; expected one of {SOURCES},"
                         f" optionally + one of {SOURCE_SUFFIXES}")
    return _regime(variant, source == "embedded", int(train_examples), task)


def family_label(family: str) -> str:
    """How a regime family is named above a leaderboard."""
    if family == "full":
        return "full data"
    if family == "embedded":
        return "embedded sample"
    if family in VARIANTS:
        return variant_task_label(family)
    if family.startswith("n") and family[1:].isdigit():
        return f"{int(family[1:]):,}-example samples"
    return family


def from_key(key: str) -> Regime:
    """The regime a key names (the inverse of ``classify(...).key``), for cells that have no row yet."""
    if key == "full":
        return Regime("full", "full", "full data", False)
    embedded = key.startswith("embedded-")
    rest = key.removeprefix("embedded-")
    kind, _, n = rest.rpartition("-n") if "-n" in rest else ("", "", rest[1:] if rest.startswith("n") else "")
    if not n.isdigit() or (kind and kind not in VARIANTS) or (embedded and kind == QQP_SUBSET):
        raise ValueError(f"not a regime key: {key!r}")
    return _regime(kind, embedded, int(n), None)

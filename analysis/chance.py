"""Chance level: the score of a model that has collapsed to predicting one constant.

An over-pruned classifier typically ends up predicting the majority class (seed 003's QQP curve flattens at
63.2% accuracy, QQP's majority-class rate). So the chance level of a task is the best score any constant
prediction reaches under the task's primary GLUE metrics (``benchmarks.tasks``):

- accuracy: the majority-class share of the evaluation split;
- F1 (positive class 1): 2p / (1 + p) when predicting "1" for all (p = share of 1s), 0 when predicting "0";
  F1/accuracy tasks (MRPC, QQP) take the better of the two constants for the mean;
- MCC and Pearson/Spearman: 0 (a constant has no correlation; ``benchmarks.metrics`` scores it 0).

The label counts below are facts about the datasets, not results: the evaluation split of each task in the
Hugging Face ``glue`` dataset (MNLI: validation_matched; QQP-subset runs: the 23,497-row training sample
they hold their evaluation split out of). ``tests/test_analysis_results.py`` recounts them from ``GLUE_DIR``
when it is present. A subsampled evaluation split has nearly the same distribution; the over-pruning
margin of ``phases`` (5 points by default) is wider than that difference.
"""

from __future__ import annotations

import math

from prunebench.benchmarks.tasks import TASKS

# task -> examples per class index of the evaluation split
EVAL_LABEL_COUNTS: dict[str, tuple[int, ...]] = {
    "cola": (322, 721),
    "sst2": (428, 444),
    "mrpc": (129, 279),
    "qqp": (25545, 14885),
    "mnli": (3479, 3123, 3213),
    "qnli": (2702, 2761),
    "rte": (146, 131),
    "wnli": (40, 31),
}
QQP_SUBSET_LABEL_COUNTS: tuple[int, ...] = (14750, 8747)

ZERO_AT_CHANCE = ("mcc", "pearson", "spearman")


def _metric_of_constant(metric: str, constant: int, counts: tuple[int, ...]) -> float:
    n = sum(counts)
    if metric == "accuracy":
        return counts[constant] / n
    if metric == "f1":
        p = counts[1] / n
        return 2 * p / (1 + p) if constant == 1 else 0.0
    if metric in ZERO_AT_CHANCE:
        return 0.0
    raise ValueError(f"no chance level defined for metric {metric!r}")


def constant_scores(task: str, metrics: tuple[str, ...] | None = None, qqp_subset: bool = False) -> list[float]:
    """The 0-100 score of each constant prediction on `task`, one per class index (regression: one, 0); empty
    for a task we have no label counts for. A row scoring one of these exactly has collapsed to that constant.

    `metrics` defaults to the task's primary metrics (what the `score` column averages).
    """
    if metrics is None:
        if task not in TASKS:
            return []
        metrics = TASKS[task].primary
    if all(m in ZERO_AT_CHANCE for m in metrics):
        return [0.0]
    counts = QQP_SUBSET_LABEL_COUNTS if qqp_subset and task == "qqp" else EVAL_LABEL_COUNTS.get(task)
    if counts is None:
        return []
    return [100.0 * sum(_metric_of_constant(m, c, counts) for m in metrics) / len(metrics) for c in range(len(counts))]


def chance_score(task: str, metrics: tuple[str, ...] | None = None, qqp_subset: bool = False) -> float:
    """Best 0-100 score of a constant prediction on `task` (NaN for a task we have no label counts for).

    `metrics` defaults to the task's primary metrics (what the `score` column averages); pass
    ``("accuracy",)`` for numbers reported as plain accuracy, such as seed 003's.
    """
    return max(constant_scores(task, metrics, qqp_subset), default=math.nan)

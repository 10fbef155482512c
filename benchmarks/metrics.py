"""GLUE metrics computed offline with scikit-learn and SciPy (the same definitions as `evaluate`'s glue metric).

All metric values are returned as fractions; `score` turns the task's primary metrics into one number
in 0-100, the unit of the `score` column.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from .tasks import GlueTask


def _finite(x: float) -> float:
    # Pearson/Spearman of a constant prediction is undefined; a model that predicts a constant has no
    # correlation with the gold scores, so 0 is the honest value (and keeps JSON valid).
    return 0.0 if x is None or math.isnan(x) else float(x)


METRICS = {
    "accuracy": lambda p, y: float(accuracy_score(y, p)),
    "f1": lambda p, y: float(f1_score(y, p, average="binary", pos_label=1, zero_division=0.0)),
    "mcc": lambda p, y: float(matthews_corrcoef(y, p)),
    "pearson": lambda p, y: _finite(stats.pearsonr(p, y)[0]) if np.ptp(p) > 0 else 0.0,
    "spearman": lambda p, y: _finite(stats.spearmanr(p, y)[0]) if np.ptp(p) > 0 else 0.0,
}


def check_eval_labels(task: GlueTask, labels: np.ndarray, split: str) -> None:
    """Refuse an evaluation split on which the task's primary metric cannot tell good predictions from bad.

    MCC is 0 for every prediction when the gold labels hold a single class (scikit-learn's convention: the
    denominator is 0), even when every prediction is right; F1 of class 1 is 0 for every prediction when
    no gold label is 1 (zero_division=0); Pearson and Spearman are undefined when the gold scores are
    constant. A small `max_eval_samples` can draw such a split. Raises ValueError (one line, the fix).
    """
    labels = np.asarray(labels)
    values = np.unique(labels)
    where = f"{task.name} {split} split ({labels.size} rows)"
    if values.size < 2 and ({"mcc", "pearson", "spearman"} & set(task.primary)):
        metric = "mcc" if "mcc" in task.primary else "pearson/spearman"
        raise ValueError(f"{where} holds one class only (label {values.tolist()}): {metric} is 0 or undefined for every "
                         "prediction there; valid: an evaluation sample with at least two classes (raise max_eval_samples)")
    if "f1" in task.primary and 1 not in values:
        raise ValueError(f"{where} has no positive example: f1 is 0 for every prediction there; valid: an evaluation "
                         "sample with label 1 present (raise max_eval_samples)")


def predictions_from_logits(task: GlueTask, logits: np.ndarray) -> np.ndarray:
    """Class index per example, or the regression value for STS-B."""
    logits = np.asarray(logits, dtype=np.float64)
    return logits.reshape(-1) if task.is_regression else logits.argmax(axis=-1)


def compute_metrics(task: GlueTask, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"{task.name}: {predictions.shape[0]} predictions for {labels.shape[0]} labels")
    if not task.is_regression:
        predictions, labels = predictions.astype(np.int64), labels.astype(np.int64)
    return {name: METRICS[name](predictions, labels) for name in task.metrics}


def primary_score(task: GlueTask, metrics: dict[str, float]) -> float:
    """The `score` column: mean of the primary metrics, in 0-100."""
    return 100.0 * float(np.mean([metrics[name] for name in task.primary]))

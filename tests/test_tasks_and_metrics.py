"""GLUE tasks as data, and metrics checked against values computed by hand."""

import math

import numpy as np
import pytest

from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.metrics import compute_metrics, predictions_from_logits, primary_score
from prunebench.benchmarks.tasks import TASKS, get_task


def test_the_nine_glue_tasks_are_registered():
    assert sorted(TASKS) == ["cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst2", "stsb", "wnli"]
    assert get_task("mnli").eval_splits == ("validation_matched", "validation_mismatched")
    assert get_task("stsb").is_regression and get_task("mnli").num_labels == 3


def test_unknown_task_names_the_valid_ones():
    with pytest.raises(UsageError, match=r"unknown task 'sst3' \(did you mean 'sst2'\?\); valid tasks: cola, mnli"):
        get_task("sst3")


def test_accuracy_and_f1_of_a_small_binary_case():
    # tp=2 (idx 0,1), fp=1 (idx 2), fn=1 (idx 3), tn=1 (idx 4): precision 2/3, recall 2/3, F1 2/3; accuracy 3/5
    preds, labels = np.array([1, 1, 1, 0, 0]), np.array([1, 1, 0, 1, 0])
    m = compute_metrics(get_task("mrpc"), preds, labels)
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["f1"] == pytest.approx(2 / 3)
    assert primary_score(get_task("mrpc"), m) == pytest.approx(100 * (0.6 + 2 / 3) / 2)


def test_matthews_correlation_by_hand():
    preds, labels = np.array([1, 1, 1, 0, 0]), np.array([1, 1, 0, 1, 0])
    tp, tn, fp, fn = 2, 1, 1, 1
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    m = compute_metrics(get_task("cola"), preds, labels)
    assert m["mcc"] == pytest.approx(mcc)  # 1/6
    assert primary_score(get_task("cola"), m) == pytest.approx(100 / 6)


def test_pearson_and_spearman_by_hand():
    preds, labels = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 4.0, 3.0])
    m = compute_metrics(get_task("stsb"), preds, labels)
    # spearman: rank differences d = (0, 0, 1, 1) -> 1 - 6*2 / (4*15) = 0.8
    assert m["spearman"] == pytest.approx(0.8)
    x, y = preds - preds.mean(), labels - labels.mean()
    assert m["pearson"] == pytest.approx((x @ y) / math.sqrt((x @ x) * (y @ y)))  # 0.8 as well
    assert primary_score(get_task("stsb"), m) == pytest.approx(80.0)


def test_a_constant_regression_prediction_has_zero_correlation_not_nan():
    m = compute_metrics(get_task("stsb"), np.full(4, 2.5), np.array([1.0, 2.0, 4.0, 3.0]))
    assert m == {"pearson": 0.0, "spearman": 0.0}


def test_predictions_from_logits():
    assert predictions_from_logits(get_task("sst2"), np.array([[0.1, 0.9], [2.0, -1.0]])).tolist() == [1, 0]
    assert predictions_from_logits(get_task("stsb"), np.array([[3.5], [1.0]])).tolist() == [3.5, 1.0]

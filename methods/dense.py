"""The dense baseline: the fine-tuned model, unpruned."""

from __future__ import annotations

from .base import Method


class Dense(Method):
    """No pruning: the fine-tuned dense model every method is compared with."""

    name, kind = "dense", "baseline"
    trains = False
    sparsity_tolerance = 1.0  # the target is ignored: a dense model has the sparsity it has

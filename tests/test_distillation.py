"""Distillation: the soft-target loss by hand, a student that moves toward its teacher, and composition."""

import math

import pytest
import torch

from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods.distillation import distillation_loss, hidden_state_loss
from prunebench.methods.registry import get


def test_soft_target_loss_by_hand():
    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])  # teacher p = (3/4, 1/4)
    # KL(p || q) with q = (1/2, 1/2), times T^2 = 1
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert distillation_loss(student, teacher, 1.0, regression=False).item() == pytest.approx(expected)
    assert distillation_loss(teacher, teacher, 4.0, regression=False).item() == pytest.approx(0.0, abs=1e-7)
    assert distillation_loss(torch.tensor([[1.0]]), torch.tensor([[3.0]]), 2.0, regression=True).item() == pytest.approx(4.0)


def test_hidden_state_loss_ignores_padding():
    s, t = torch.zeros(1, 3, 2), torch.ones(1, 3, 2)
    t[0, 2] = 100.0  # a padding position: must not count
    assert hidden_state_loss(s, t, torch.tensor([[1, 1, 0]])).item() == pytest.approx(1.0)


def test_the_distillation_loss_decreases_on_a_toy_batch(tiny_bert_dir):
    torch.manual_seed(0)
    task = get_task("sst2")
    teacher, student = load_model(resolve(str(tiny_bert_dir)), task), load_model(resolve(str(tiny_bert_dir)), task)
    teacher.eval()
    batch = {"input_ids": torch.randint(1000, 2000, (8, 12)), "attention_mask": torch.ones(8, 12, dtype=torch.long)}
    with torch.no_grad():
        target = teacher(**batch).logits
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        loss = distillation_loss(student(**batch).logits, target, 2.0, regression=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_distillation_takes_the_base_methods_place():
    cls = get("distillation")
    method = cls(cls.parse_params({"base": "lottery-ticket"}))
    assert method.starts_from == get("lottery-ticket").starts_from
    with pytest.raises(UsageError, match="unknown method 'magnitude'"):
        cls.parse_params({"base": "magnitude"})
    with pytest.raises(UsageError, match="cannot wrap itself"):
        cls.parse_params({"base": "distillation"})


def test_distillation_wraps_the_base_methods_tuned_parameters_not_only_its_defaults():
    cls = get("distillation")
    method = cls(cls.parse_params({"base": "sparsegpt", "base_params": "damp=0.1, calibration_sequences=64"}))
    assert (method.base.params.damp, method.base.params.calibration_sequences) == (0.1, 64)
    assert cls(cls.parse_params({"base": "sparsegpt"})).base.params.damp == get("sparsegpt").Params().damp
    with pytest.raises(UsageError, match="unknown key 'dmp'.*valid keys: calibration_sequences, damp, block_size"):
        cls.parse_params({"base": "sparsegpt", "base_params": "dmp=0.1"})
    with pytest.raises(UsageError, match="expected key=value, got 'damp'"):
        cls.parse_params({"base": "sparsegpt", "base_params": "damp"})

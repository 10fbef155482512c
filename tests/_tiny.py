"""Helpers for the structured-method tests: a tiny model with a task head, hand-made batches and a context.

Batches are random token ids with some padding, so per-example and masking code paths are exercised; the
loss is the harness's own task loss, as in a real run.
"""

from __future__ import annotations

import pytest
import torch

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.benchmarks.train import model_inputs, task_loss
from prunebench.methods.base import PruneContext

TASK = "sst2"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices gain nothing from intra-op threads, and on a shared, busy 2-core machine two spinning
    threads made each forward pass ~400x slower (0.27 s instead of 0.6 ms). Imported by the test modules."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(folder):
    torch.manual_seed(0)  # the fresh classification head
    return load_model(resolve(str(folder)), get_task(TASK)).eval()


def batches(model, count: int = 3, size: int = 4, length: int = 12, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        ids = torch.randint(1000, model.config.vocab_size, (size, length), generator=g)
        lengths = torch.randint(length // 2, length + 1, (size,), generator=g)
        lengths[0] = length
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
        batch = {"input_ids": ids * mask, "attention_mask": mask, "labels": torch.randint(0, 2, (size,), generator=g)}
        if getattr(model.config, "type_vocab_size", 0):
            batch["token_type_ids"] = torch.zeros_like(ids)
        out.append(batch)
    return out


def loss_fn(model, batch):
    return task_loss(get_task(TASK), model(**model_inputs(batch)).logits, batch["labels"])


def context(target: float, data: list[dict]) -> PruneContext:
    return PruneContext(target, get_task(TASK), torch.device("cpu"), 0, loss_fn=loss_fn, train_batches=lambda: iter(data))


@torch.no_grad()
def logits(model, data: list[dict]) -> torch.Tensor:
    model.eval()
    return torch.cat([model(**model_inputs(b)).logits for b in data])


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())

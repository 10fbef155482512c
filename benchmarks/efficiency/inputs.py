"""Synthetic inputs: cost does not depend on the text, only on the shapes, so every measurement feeds
random token ids of the benchmark's sequence length with no padding."""

from __future__ import annotations

import torch
from torch import nn

SEQ_LEN = 128


def synthetic_batch(model: nn.Module, batch: int, seq_len: int, device: torch.device, mask: bool = True) -> dict:
    """Token ids (seeded, so every variant sees the same batch); ``mask=False`` leaves out the all-ones
    attention mask, which changes nothing without padding and keeps the forward free of host syncs (CUDA graphs)."""
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(min(1000, vocab - 1), vocab, (batch, seq_len), generator=g).to(device)
    inputs = {"input_ids": ids}
    if mask:
        inputs["attention_mask"] = torch.ones_like(ids)
    if getattr(model.config, "type_vocab_size", 0):
        inputs["token_type_ids"] = torch.zeros_like(ids)
    return inputs

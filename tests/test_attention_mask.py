"""A recipe with eager attention (`TrainConfig.attention`) trains in CUDA graphs like the default one.

transformers 5.17 builds the eager attention mask with a host-to-device copy, which CUDA graph capture refuses;
`models.capturable_eager_mask` builds the same mask on the device. These checks run on the CPU: the values must be
transformers' own, so a row made with it is the row transformers' mask gives.
"""

from __future__ import annotations

import pytest
import torch
from transformers.masking_utils import bidirectional_mask_function, eager_mask

from prunebench.benchmarks.models import capturable_eager_mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_capturable_eager_mask_is_transformers_own(dtype):
    padding = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]).bool()  # as the model hands it on
    args = dict(batch_size=3, q_length=5, kv_length=5, mask_function=bidirectional_mask_function, attention_mask=padding,
                allow_is_bidirectional_skip=False, device=padding.device)
    ours, theirs = capturable_eager_mask(dtype=dtype, **args), eager_mask(dtype=dtype, **args)
    assert ours.dtype == theirs.dtype == dtype
    assert torch.equal(ours, theirs)
    assert ours[0, 0, 0].tolist() == [0.0, 0.0, 0.0, torch.finfo(dtype).min, torch.finfo(dtype).min]


def test_an_eager_model_gives_the_same_logits_with_either_mask(tiny_bert_dir):
    from transformers import AutoModelForSequenceClassification
    from transformers.masking_utils import AttentionMaskInterface

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, attn_implementation="eager").eval()
    inputs = {"input_ids": torch.tensor([[101, 7592, 2088, 102, 0], [101, 7592, 102, 0, 0]]),
              "attention_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])}
    saved, calls = AttentionMaskInterface._global_mapping["eager"], []

    def counted(*args, **kwargs):
        calls.append(1)
        return capturable_eager_mask(*args, **kwargs)

    try:
        AttentionMaskInterface.register("eager", eager_mask)
        with torch.no_grad():
            theirs = model(**inputs).logits
        AttentionMaskInterface.register("eager", counted)
        with torch.no_grad():
            ours = model(**inputs).logits
    finally:
        AttentionMaskInterface.register("eager", saved)
    assert calls  # the model asked for its mask through the interface
    assert torch.equal(ours, theirs)

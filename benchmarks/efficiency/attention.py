"""Attention as the bench runs it: PyTorch SDPA with no mask, the same kernel in every execution mode.

The bench's inputs have no padding (`inputs.py`), so attention needs no mask, and eager transformers passes
none: SDPA then picks a fused kernel (cuDNN's flash attention on an H100). Inside a CUDA-graph capture or a
torch.compile trace, transformers cannot look at the mask's values, so it builds an all-true mask to be safe;
that mask is a broadcast view, which every fused SDPA kernel refuses, and PyTorch falls back to its fp32 math
path. `scripts/profile_sdpa.py` on an H100 (transformers 5.17) showed it: "All fused kernels require the last
dimension of the input to have stride 1 ... Attn_mask.stride(-1): 0", and SIMT fp32 GEMMs in the captured
graph. Dense MiniLM at batch 32 took 1.80 ms as a graph and 0.86 ms compiled; with no mask, 0.60 and 0.49 ms
(`results/v1/README.md`). A graph or compiled row then timed a slower attention than the eager row, and the
slow attention diluted every variant's speedup, except head pruning's, which halves it.

So the bench registers transformers' own SDPA call under another name (`AttentionInterface`) whose mask
function (`AttentionMaskInterface`) returns no mask, and switches the model to it. Outputs equal the
default's for unpadded inputs (a test checks); padded inputs must not use it.
"""

from __future__ import annotations

from torch import nn

NAME = "prunebench_unpadded_sdpa"


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface

    if NAME in AttentionInterface._global_mapping:
        return

    def unpadded_sdpa(module, query, key, value, attention_mask, **kwargs):
        return sdpa_attention_forward(module, query, key, value, None, **kwargs)

    def no_mask(*args, **kwargs):
        return None

    AttentionInterface.register(NAME, unpadded_sdpa)
    AttentionMaskInterface.register(NAME, no_mask)


def use_unpadded_sdpa(model: nn.Module) -> str:
    """Switch `model` (a transformers model) to unmasked SDPA; returns a note for the bench's rows."""
    _register()
    model.set_attn_implementation(NAME)
    return "attention: SDPA without a mask (unpadded inputs) in every execution"

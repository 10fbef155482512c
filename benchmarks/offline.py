"""Whether the Hugging Face Hub is switched off, read the way `huggingface_hub` reads its own variables.

One reading for every check: `prunebench validate` (which runs cannot run here) and the data loader (whether to
try the Hub) must agree, or a config said runnable would then fail, or the reverse. `huggingface_hub` takes
1, ON, YES and TRUE in any case (its `constants._is_true`), so ``HF_HUB_OFFLINE=true`` switches the Hub off here
too.
"""

from __future__ import annotations

import os

TRUE_VALUES = ("1", "on", "yes", "true")  # compared case-blind and unstripped, as `huggingface_hub` does
# each list in the order its library reads it, the first variable set deciding: huggingface_hub takes
# HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE (its constants.HF_HUB_OFFLINE); datasets takes HF_DATASETS_OFFLINE,
# else HF_HUB_OFFLINE (its config.HF_HUB_OFFLINE), so HF_DATASETS_OFFLINE=0 keeps the data download on
HUB_MODELS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # what stops a model load from the Hub
HUB_DATA = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")  # what stops the GLUE download


def deciding(*variables: str) -> str | None:
    """The first of `variables` that is set (non-empty), if its value switches the Hub off; else None."""
    for name in variables:
        value = os.environ.get(name, "")
        if value:
            return name if value.lower() in TRUE_VALUES else None
    return None


def switched_off(*variables: str) -> bool:
    """True if the first of `variables` that is set (e.g. ``HUB_MODELS``) has a true value."""
    return deciding(*variables) is not None

"""Whether the Hugging Face Hub is switched off, read the way `huggingface_hub` reads its own variables.

One reading for every check: `prunebench validate` (which runs cannot run here) and the data loader (whether to
try the Hub) must agree, or a config said runnable would then fail, or the reverse. `huggingface_hub` takes
1, ON, YES and TRUE in any case (its `constants._is_true`), so ``HF_HUB_OFFLINE=true`` switches the Hub off here
too.
"""

from __future__ import annotations

import os

TRUE_VALUES = ("1", "on", "yes", "true")  # compared case-blind and unstripped, as `huggingface_hub` does
HUB_MODELS = ("HF_HUB_OFFLINE",)  # what stops a model load from the Hub
HUB_DATA = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")  # what stops the GLUE download (`datasets` reads both)


def switched_off(*variables: str) -> bool:
    """True if any of `variables` (e.g. ``"HF_HUB_OFFLINE"``) is set to a true value."""
    return any(os.environ.get(name, "").lower() in TRUE_VALUES for name in variables)

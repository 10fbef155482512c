"""Which weights a pruning method may touch, per architecture.

Sparsity in PruneBench is counted over the *encoder linear weights* (attention query/key/value/output
and the two FFN matrices of every layer). Embeddings, LayerNorms, biases, the pooler and the
classification head stay dense: they are a small share of an encoder's compute and pruning them is not
what the studies we reproduce (e.g. seed 003, Sanh et al. 2020) measure.
"""

from __future__ import annotations

import torch
from torch import nn

# module-name suffix -> role, per model family (BERT covers MiniLM, which is a BERT architecture)
ROLES = {
    "bert": {
        "attention.self.query": "query",
        "attention.self.key": "key",
        "attention.self.value": "value",
        "attention.output.dense": "attn_out",
        "intermediate.dense": "ffn_in",
        "output.dense": "ffn_out",
    },
    "distilbert": {
        "attention.q_lin": "query",
        "attention.k_lin": "key",
        "attention.v_lin": "value",
        "attention.out_lin": "attn_out",
        "ffn.lin1": "ffn_in",
        "ffn.lin2": "ffn_out",
    },
}
ENCODER_PREFIX = {"bert": "bert.encoder.layer.", "distilbert": "distilbert.transformer.layer."}


def family(model: nn.Module) -> str:
    model_type = getattr(model.config, "model_type", None)
    if model_type not in ROLES:
        raise ValueError(f"no pruning role map for model_type {model_type!r}; known: {sorted(ROLES)}")
    return model_type


def role_of(model: nn.Module, module_name: str) -> str | None:
    fam = family(model)
    if not module_name.startswith(ENCODER_PREFIX[fam]):
        return None
    rest = module_name[len(ENCODER_PREFIX[fam]) :].split(".", 1)
    if len(rest) != 2:
        return None
    # "attention.output.dense" must not be read as "output.dense": match the longest suffix exactly
    return ROLES[fam].get(rest[1])


def prunable(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The encoder linear layers, as (module name, module), in model order."""
    return [(name, mod) for name, mod in model.named_modules() if isinstance(mod, nn.Linear) and role_of(model, name)]


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameter name -> weight of every prunable layer."""
    return {f"{name}.weight": mod.weight for name, mod in prunable(model)}


def layer_index(module_name: str) -> int:
    """Index of the transformer layer a prunable module sits in."""
    for part in module_name.split("."):
        if part.isdigit():
            return int(part)
    raise ValueError(f"{module_name} is not inside an encoder layer")

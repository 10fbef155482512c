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


# --- Whole units (heads, FFN neurons, layers), for the structured methods and methods/_shrink.py ---------
# Where the module holding a layer's head-count attributes sits inside an encoder layer, and which config
# fields describe the encoder's shape, per family. The module paths of the linears are the keys of ROLES.
HEAD_MODULE = {"bert": "attention.self", "distilbert": "attention"}
CONFIG_KEYS = {
    "bert": {"hidden": "hidden_size", "heads": "num_attention_heads", "ffn": "intermediate_size", "layers": "num_hidden_layers"},
    "distilbert": {"hidden": "dim", "heads": "n_heads", "ffn": "hidden_dim", "layers": "n_layers"},
}


def config_value(model: nn.Module, key: str) -> int:
    """A shape fact of the encoder ("hidden", "heads", "ffn", "layers") under its family's config name."""
    return getattr(model.config, CONFIG_KEYS[family(model)][key])


def head_size(model: nn.Module) -> int:
    """Width of one attention head. Derived from the config's *original* head count, which is why shrinking
    never changes that count in the config (a smaller count would make a rebuilt model's heads wider)."""
    return config_value(model, "hidden") // config_value(model, "heads")


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    return model.get_submodule(ENCODER_PREFIX[family(model)].rstrip("."))


def role_path(model: nn.Module, role: str) -> str:
    """Module path of a role inside one encoder layer (the inverse of ROLES)."""
    for path, r in ROLES[family(model)].items():
        if r == role:
            return path
    raise ValueError(f"unknown role {role!r}; valid roles: {', '.join(ROLES[family(model)].values())}")


def layer_linear(model: nn.Module, layer: nn.Module, role: str) -> nn.Linear:
    """The linear of `role` ("query" ... "ffn_out") inside one encoder layer."""
    return layer.get_submodule(role_path(model, role))

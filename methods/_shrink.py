"""Physically remove attention heads, FFN neurons or whole layers from a BERT or DistilBERT encoder, and
save / reload the smaller model.

Why physically: a structured method's claim is a smaller, faster model, and only smaller matrices deliver
it (zeros in a dense kernel cost the same FLOPs). Every shrink updates the weights, the attention modules'
head-count attributes and the config together, so the forward pass, `benchmarks.efficiency.measure` and
`save_pretrained` all see one consistent model. Criteria (which unit to remove) live in the methods; role
knowledge (which module is the query of a layer, which config field is the FFN width) in `_structure.py`.

Reloading (STYLE.md pitfall 6). A Hugging Face config holds one head count and one FFN width for every
layer, and the head size is derived as hidden / heads, so a model whose layers differ cannot be rebuilt by
`from_pretrained`; transformers 5 also dropped ``config.pruned_heads`` and ``prune_heads``. So every shrink
records the per-layer sizes in ``config.prunebench_structure`` (written to config.json by
`save_pretrained`), and `load_shrunk` builds the model from the config, shrinks it to those sizes and only
then loads the weights, strictly: a missing or mis-shaped tensor is an error, never a random init. The
scalar config fields say what `from_config` must build before that: the head count stays the original one
(it fixes the head size), the FFN width is the widest layer's and the layer count is the current one. When
every layer keeps all its heads and one FFN width, plain `from_pretrained` loads the model as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from ._structure import CONFIG_KEYS, ENCODER_PREFIX, HEAD_MODULE, ROLES, encoder_layers, family, head_size, layer_linear, role_path

STRUCTURE_KEY = "prunebench_structure"  # config attribute: {"heads": [per layer], "ffn": [per layer]}


def _keep(linear: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    """A new linear holding only rows (dim 0) or columns (dim 1) `index` of `linear`, same dtype and state."""
    from transformers.pytorch_utils import prune_linear_layer

    new = prune_linear_layer(linear, index, dim=dim).to(dtype=linear.weight.dtype)  # it builds in fp32
    new.weight.requires_grad_(linear.weight.requires_grad)
    if new.bias is not None:
        new.bias.requires_grad_(linear.bias.requires_grad)
    return new.train(linear.training)


def _replace(layer: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, attr = path.rpartition(".")
    setattr(layer.get_submodule(parent) if parent else layer, attr, new)


def _checked(units: Iterable[int], count: int, what: str) -> list[int]:
    drop = sorted(set(int(u) for u in units))
    if any(not 0 <= u < count for u in drop):
        raise ValueError(f"{what}: there are {count}, cannot remove {drop}")
    if len(drop) >= count:
        raise ValueError(f"{what}: removing all {count} would leave nothing; keep at least one")
    return drop


def structure(model: nn.Module) -> dict[str, list[int]]:
    """Per-layer head counts and FFN widths, read from the weights themselves, so a record is never stale."""
    d = head_size(model)
    layers = encoder_layers(model)
    return {
        "heads": [layer_linear(model, layer, "query").out_features // d for layer in layers],
        "ffn": [layer_linear(model, layer, "ffn_in").out_features for layer in layers],
    }


def shapes(model: nn.Module) -> dict[str, dict[str, list[int]]]:
    """Per layer, the (out, in) shape of every encoder linear: what a row's `method_params` shows of the model."""
    return {
        str(i): {role: list(layer_linear(model, layer, role).weight.shape) for role in ROLES[family(model)].values()}
        for i, layer in enumerate(encoder_layers(model))
    }


def _record(model: nn.Module) -> None:
    """Write the current shape into the config: per-layer sizes, and the envelope `from_config` must build."""
    keys, shape = CONFIG_KEYS[family(model)], structure(model)
    setattr(model.config, STRUCTURE_KEY, shape)
    setattr(model.config, keys["ffn"], max(shape["ffn"]))
    setattr(model.config, keys["layers"], len(shape["ffn"]))


def _set_head_count(model: nn.Module, layer: nn.Module, heads: int) -> None:
    """The attention module's own bookkeeping. The transformers 5 forwards reshape with -1 heads, but these
    attributes are what other code (and a reader) takes as the layer's head count."""
    holder, width = layer.get_submodule(HEAD_MODULE[family(model)]), heads * head_size(model)
    fam = family(model)
    if fam == "bert":
        holder.num_attention_heads, holder.all_head_size = heads, width
    elif fam == "distilbert":
        holder.n_heads, holder.dim = heads, width
    else:
        raise ValueError(f"no head attributes known for model family {fam!r}")


def prune_heads(model: nn.Module, heads: Mapping[int, Iterable[int]]) -> None:
    """Remove heads in place: ``{layer: [head indices as the layer numbers them now]}``.

    A head is a block of `head_size` rows of query, key and value and the same block of columns of the
    attention output projection; all four shrink together. At least one head per layer must stay.
    """
    d, layers = head_size(model), encoder_layers(model)
    for index, drop in heads.items():
        layer = layers[index]
        count = layer_linear(model, layer, "query").out_features // d
        drop = _checked(drop, count, f"heads of layer {index}")
        if not drop:
            continue
        kept = [h for h in range(count) if h not in drop]
        rows = (torch.tensor(kept)[:, None] * d + torch.arange(d)[None, :]).reshape(-1)
        for role in ("query", "key", "value", "attn_out"):
            linear = layer_linear(model, layer, role)
            _replace(layer, role_path(model, role), _keep(linear, rows, dim=1 if role == "attn_out" else 0))
        _set_head_count(model, layer, len(kept))
    _record(model)


def prune_ffn(model: nn.Module, neurons: Mapping[int, Iterable[int]]) -> None:
    """Remove FFN neurons in place: ``{layer: [neuron indices as the layer numbers them now]}``.

    Neuron j is row j of the FFN input matrix (with its bias) and column j of the FFN output matrix.
    """
    layers = encoder_layers(model)
    for index, drop in neurons.items():
        layer = layers[index]
        width = layer_linear(model, layer, "ffn_in").out_features
        drop = _checked(drop, width, f"FFN neurons of layer {index}")
        if not drop:
            continue
        kept = torch.tensor(sorted(set(range(width)) - set(drop)))
        _replace(layer, role_path(model, "ffn_in"), _keep(layer_linear(model, layer, "ffn_in"), kept, dim=0))
        _replace(layer, role_path(model, "ffn_out"), _keep(layer_linear(model, layer, "ffn_out"), kept, dim=1))
    _record(model)


def drop_layers(model: nn.Module, drop: Iterable[int]) -> None:
    """Remove whole encoder layers in place (indices as the encoder numbers them now); at least one stays."""
    layers = encoder_layers(model)
    drop = _checked(drop, len(layers), "encoder layers")
    kept = [layer for i, layer in enumerate(layers) if i not in drop]
    path = ENCODER_PREFIX[family(model)].rstrip(".")
    parent = model.get_submodule(path.rpartition(".")[0])
    setattr(parent, path.rpartition(".")[2], nn.ModuleList(kept))
    if hasattr(parent, "n_layers"):  # DistilBERT's Transformer keeps its own count
        parent.n_layers = len(kept)
    for i, layer in enumerate(kept):  # cache slots are indexed by position (BERT as a decoder)
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = i
    _record(model)


def shrink_to(model: nn.Module, target: Mapping[str, list[int]]) -> None:
    """Shrink a freshly built model to per-layer sizes, keeping each layer's first heads and neurons (the
    weights loaded afterwards decide what they hold)."""
    now = structure(model)
    if len(target["heads"]) != len(now["heads"]) or len(target["ffn"]) != len(now["ffn"]):
        raise ValueError(f"structure {dict(target)} does not match the model's {len(now['heads'])} layers")
    for kind, shrink in (("heads", prune_heads), ("ffn", prune_ffn)):
        if any(t > n for t, n in zip(target[kind], now[kind])):
            raise ValueError(f"structure asks for more {kind} than the model has: {target[kind]} > {now[kind]}")
        shrink(model, {i: range(t, n) for i, (t, n) in enumerate(zip(target[kind], now[kind])) if t < n})


def save_shrunk(model: nn.Module, folder: str | Path) -> None:
    """`save_pretrained`, with the per-layer structure refreshed from the weights first."""
    _record(model)
    model.save_pretrained(folder, safe_serialization=True)


def load_shrunk(folder: str | Path, model_class: type | None = None) -> nn.Module:
    """Rebuild a model saved by `save_shrunk` (or any plain one): config → model → shrink → strict load.

    `model_class` defaults to AutoModelForSequenceClassification, the class every PruneBench run uses.
    The global RNG is left as it was, although building the model draws random initial weights.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder = Path(folder)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    with torch.random.fork_rng(devices=[]):
        model = (model_class or AutoModelForSequenceClassification).from_config(config)
    target = getattr(config, STRUCTURE_KEY, None)
    if target:
        shrink_to(model, target)
    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else ["model.safetensors"]
    state = {}
    for name in files:
        state.update(load_file(folder / name))
    model.load_state_dict(state, strict=True)
    return model.eval()

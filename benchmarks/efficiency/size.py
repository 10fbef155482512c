"""Model size on disk: the dense safetensors file, and a sparse one that stores zeros for free.

The sparse format (a safetensors file, so it loads without pickle) keeps each tensor either as it is or, when
that is smaller, as a packed bit mask of its non-zeros (1 bit per element) plus the non-zero values in
order: ``<name>.bitmask`` (uint8) and ``<name>.values``, with the shape and dtype in the file's metadata.
At 50% unstructured sparsity a fp32 matrix shrinks to 50% + 1/32 of its bytes; a physically smaller
(structured) model is already small in the dense format, and both sizes say so.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

MB = 2**20
_SUFFIXES = (".bitmask", ".values")


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as plain contiguous CPU tensors (safetensors refuses shared storage)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def dense_size_mb(model: nn.Module) -> float:
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        save_file(_state(model), path)
        return os.path.getsize(path) / MB


def pack(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of the sparse format (see the module docstring)."""
    out, meta = {}, {}
    for name, t in tensors.items():
        if name.endswith(_SUFFIXES):
            raise ValueError(f"tensor name {name!r} ends like a packed part; cannot pack it unambiguously")
        flat = t.reshape(-1)
        nonzero = flat != 0
        packed_bytes = (flat.numel() + 7) // 8 + int(nonzero.sum()) * t.element_size()
        if t.is_floating_point() and packed_bytes < t.numel() * t.element_size():
            out[f"{name}.bitmask"] = torch.from_numpy(np.packbits(nonzero.numpy()))
            out[f"{name}.values"] = flat[nonzero].clone()
            meta[name] = json.dumps(list(t.shape))
        else:
            out[name] = t
    return out, meta


def unpack(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> dict[str, torch.Tensor]:
    """The inverse of `pack`: the original tensors, zeros restored."""
    out = {k: v for k, v in tensors.items() if not k.endswith(_SUFFIXES)}
    for name, shape_json in meta.items():
        shape = json.loads(shape_json)
        values = tensors[f"{name}.values"]
        numel = int(np.prod(shape)) if shape else 1
        bits = np.unpackbits(tensors[f"{name}.bitmask"].numpy(), count=numel).astype(bool)
        full = torch.zeros(numel, dtype=values.dtype)
        full[torch.from_numpy(bits)] = values
        out[name] = full.reshape(shape)
    return out


def save_sparse(model: nn.Module, path: str | Path) -> None:
    from safetensors.torch import save_file

    tensors, meta = pack(_state(model))
    save_file(tensors, str(path), metadata=meta)


def load_sparse(path: str | Path) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return unpack(tensors, meta)


def sparse_size_mb(model: nn.Module) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.sparse.safetensors")
        save_sparse(model, path)
        return os.path.getsize(path) / MB

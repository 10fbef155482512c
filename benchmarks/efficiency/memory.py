"""Peak memory of one forward pass, with one meaning on every device: the bytes held by the model's own
tensors (weights, buffers, inputs) plus the largest amount of intermediate tensor memory alive at once.

- CUDA: the caching allocator's counters (`torch.cuda.max_memory_allocated` minus what was allocated
  before the pass), so kernel workspaces the allocator hands out are included.
- CPU: the CPU allocator keeps no peak counter, so a dispatch mode sees every tensor an operator returns
  and follows it until it is freed (the high-water mark of live tensor storage). Scratch memory a kernel
  library allocates on its own (oneDNN, MKL) and the interpreter, libraries and allocator slack of the
  process (its RSS) are not included: the number is what the model's tensors need, comparable across
  variants measured in one process, where the process's RSS would mix every model loaded.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

MB = 2**20
_PACKED = ("packed", "meta", "packed_t", "meta_t", "compressed_swizzled_bitmask")  # semi-structured storage


def _storages(t: torch.Tensor) -> list[tuple[int, int]]:
    """(address, bytes) of the storages behind a dense, CSR or semi-structured tensor."""
    if t.layout == torch.sparse_csr:
        return [(p.data_ptr(), p.untyped_storage().nbytes()) for p in (t.crow_indices(), t.col_indices(), t.values())]
    if t.layout != torch.strided:
        return []
    if type(t) is not torch.Tensor and type(t) is not nn.Parameter and hasattr(t, "packed"):
        parts = [getattr(t, name, None) for name in _PACKED]
        return [(p.data_ptr(), p.untyped_storage().nbytes()) for p in parts if isinstance(p, torch.Tensor)]
    storage = t.untyped_storage()
    return [(storage.data_ptr(), storage.nbytes())]


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind `tensors` (shared storage counted once)."""
    seen = {}
    for t in tensors:
        seen.update(_storages(t))
    return sum(seen.values())


def model_bytes(model: nn.Module, inputs: dict) -> int:
    """The model's weights and buffers plus its inputs, in whatever layout they are stored."""
    return tensor_bytes([*model.parameters(), *model.buffers(), *[v for v in inputs.values() if isinstance(v, torch.Tensor)]])


class LiveTensors(TorchDispatchMode):
    """Follows every tensor an operator returns until it is freed; `peak` is the most bytes alive at once."""

    def __init__(self):
        super().__init__()
        self.refs: dict[int, int] = {}
        self.current = self.peak = 0

    def _release(self, key: int, nbytes: int) -> None:
        self.refs[key] -= 1
        if self.refs[key] == 0:
            del self.refs[key]
            self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            for key, nbytes in _storages(t):
                if key in self.refs:
                    self.refs[key] += 1
                else:
                    self.refs[key] = 1
                    self.current += nbytes
                    self.peak = max(self.peak, self.current)
                weakref.finalize(t, self._release, key, nbytes)
        return out


@torch.inference_mode()
def peak_memory_mb(model: nn.Module, call: Callable[[], object], inputs: dict, device: torch.device) -> float:
    """Peak memory (MB) of one `call()` of `model` on `inputs` (see the module docstring)."""
    own = model_bytes(model, inputs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        call()
        torch.cuda.synchronize(device)
        return (own + torch.cuda.max_memory_allocated(device) - before) / MB
    live = LiveTensors()
    with live:
        call()
    return (own + live.peak) / MB

"""Scores → masks, and the masks kept applied. Written once so every method ranks and ties the same way.

A method produces a score per prunable weight (higher = keep); `masks_from_scores` keeps the top
(1 - sparsity) share, either over all prunable weights together (``scope="global"``), per matrix
(``scope="layer"``) or per output row of each matrix (``scope="row"``: every output neuron keeps the same
share of its inputs, the comparison group of Wanda, Sun et al. 2023, sec. 3). Ties are broken by position
(stable sort), so masks are deterministic. Plugins import these from `prunebench.methods.masks`.
"""

from __future__ import annotations

import torch
from torch import nn

SCOPES = ("global", "layer", "row")


def _keep_top(rows: torch.Tensor, n_prune: int) -> torch.Tensor:
    """Keep-mask of each row of a 2-D score tensor: its `n_prune` lowest scores dropped, ties by position."""
    keep = torch.ones_like(rows, dtype=torch.bool)
    if n_prune > 0:
        order = torch.sort(rows, dim=1, stable=True).indices[:, :n_prune]  # ascending: the first n_prune are dropped
        keep.scatter_(1, order, False)
    return keep


def _keep_top_per_matrix(scores: dict[str, torch.Tensor], sparsity: float) -> dict[str, torch.Tensor]:
    """Per-matrix keep-masks, matrices of one size ranked together as rows of one stacked sort.

    Movement pruning calls this after every optimiser step; an encoder has a few matrix sizes but dozens
    of matrices, so one sort per size instead of one per matrix cuts the kernel launches of the step
    (the same masks: each row is sorted stably on its own)."""
    by_size: dict[int, list[str]] = {}
    for name, s in scores.items():
        by_size.setdefault(s.numel(), []).append(name)
    masks = {}
    for numel, names in by_size.items():
        keep = _keep_top(torch.stack([scores[n].detach().reshape(-1).float() for n in names]), round(sparsity * numel))
        for row, name in zip(keep, names):
            masks[name] = row.view_as(scores[name])
    return {name: masks[name] for name in scores}


def masks_from_scores(scores: dict[str, torch.Tensor], sparsity: float, scope: str = "global") -> dict[str, torch.Tensor]:
    """Boolean keep-masks with exactly round(sparsity * n) zeros: n counts all scored weights (``"global"``),
    each matrix (``"layer"``) or each output row, dim 0 of an ``nn.Linear`` weight [out, in] (``"row"``).

    Raises ValueError for a sparsity outside [0, 1), an unknown scope, or a ``"row"`` score that is not 2-D.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope == "global":
        flat = torch.cat([s.detach().reshape(-1).float() for s in scores.values()])
        keep = _keep_top(flat[None], round(sparsity * flat.numel()))[0]
        masks, start = {}, 0
        for name, s in scores.items():
            masks[name] = keep[start : start + s.numel()].view_as(s)
            start += s.numel()
        return masks
    if scope == "layer":
        return _keep_top_per_matrix(scores, sparsity)
    if scope == "row":
        masks = {}
        for name, s in scores.items():
            if s.dim() != 2:
                raise ValueError(f"{name}: scope 'row' needs 2-D scores [out, in], got shape {tuple(s.shape)}")
            masks[name] = _keep_top(s.detach().float(), round(sparsity * s.shape[1]))
        return masks
    raise ValueError(f"unknown scope {scope!r}; valid scopes: {', '.join(SCOPES)}")


def nm_masks(scores: dict[str, torch.Tensor], n: int = 2, m: int = 4) -> dict[str, torch.Tensor]:
    """Boolean keep-masks with exactly `n` kept weights in every group of `m` consecutive input weights.

    The N:M pattern is what sparse tensor cores execute (2:4 on NVIDIA Ampere and later): groups run along
    the input dimension (dim 1 of an ``nn.Linear`` weight), which is the reduction dimension of the matmul.
    Ties keep the earlier position, so masks are deterministic.
    """
    if not 0 < n < m:
        raise ValueError(f"N:M pattern needs 0 < n < m, got {n}:{m}")
    masks = {}
    for name, s in scores.items():
        if s.dim() != 2 or s.shape[1] % m:
            raise ValueError(f"{name}: shape {tuple(s.shape)} has no whole groups of {m} input weights")
        groups = s.detach().float().reshape(s.shape[0], s.shape[1] // m, m)
        keep = torch.sort(groups, dim=-1, descending=True, stable=True).indices[..., :n]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, keep, True)
        masks[name] = mask.reshape(s.shape)
    return masks


def follows_nm(weight: torch.Tensor, n: int = 2, m: int = 4) -> bool:
    """True when every group of `m` consecutive input weights has at most `n` non-zeros."""
    if weight.dim() != 2 or weight.shape[1] % m:
        return False
    groups = weight.detach().reshape(weight.shape[0], weight.shape[1] // m, m)
    return bool(((groups != 0).sum(-1) <= n).all())


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place (one fused multiply over all masked tensors)."""
    if not masks:
        return
    params = dict(model.named_parameters())
    weights = [params[name] for name in masks]
    torch._foreach_mul_(weights, [m.to(device=w.device, dtype=w.dtype) for m, w in zip(masks.values(), weights)])


def measured_sparsity(weights: dict[str, torch.Tensor], original_total: int | None = None) -> float:
    """What the `achieved_sparsity` column reports: the share of the prunable weights that are zero or gone.

    With ``original_total`` (the prunable weight count before the method ran), weights a structured
    method removed physically count as pruned, so heads, neurons and layers are measured on the same
    scale as unstructured zeros.
    """
    present = sum(w.numel() for w in weights.values())
    total = original_total if original_total is not None else present
    if original_total is not None and present > original_total:
        raise ValueError(f"the model grew: {present} prunable weights after pruning, {original_total} before")
    nonzero = sum(int(torch.count_nonzero(w)) for w in weights.values())
    return 1.0 - nonzero / total if total else 0.0

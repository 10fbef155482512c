"""The public mask helpers a method (built-in or plugin) builds its masks with; see methods/README.md.

Scores are higher-is-kept tensors shaped like the weights of ``ctx.prunable(model)``. The helpers live in
`prunebench.methods._masking`; this module is the stable name for code outside the repository.

- `masks_from_scores(scores, sparsity, scope)`: exact top-k keep-masks, ``scope`` one of `SCOPES`:
  ``"global"`` (one ranking over every matrix), ``"layer"`` (per matrix) or ``"row"`` (per output row);
- `nm_masks(scores, n, m)`: N:M patterns (2:4) along the input dimension;
- `measured_sparsity(weights)`: the share of zeros, as the row's ``achieved_sparsity`` measures it.
"""

from ._masking import SCOPES, masks_from_scores, measured_sparsity, nm_masks

__all__ = ["SCOPES", "masks_from_scores", "measured_sparsity", "nm_masks"]

"""Expected absolute gradients over training batches: the loop that head and FFN-neuron importance share.

Both criteria hook tensors into the forward pass (per-example head gates, FFN activations), take the
gradient of the task loss with respect to them batch by batch, reduce each batch to per-example sums, and
average over examples. The loop here owns what must be the same for both: the model scored in eval mode
(no dropout) with gradients on even under an outer ``no_grad``, sums kept on the device (no host sync per
batch) in float64, the batch mean of the loss undone, and the hooks removed and the mode restored whatever
happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def expected_abs_gradient(model: nn.Module, batches: Iterable[dict], loss_fn: Callable[[nn.Module, dict], torch.Tensor],
                          handles: list, targets: list, per_batch: Callable[[dict, list[torch.Tensor], tuple], list[torch.Tensor]],
                          what: str) -> list[torch.Tensor]:
    """Mean over examples of ``per_batch`` sums, one tensor per hooked target (on CPU).

    ``targets`` is the list the forward hooks in ``handles`` fill during each forward pass;
    ``per_batch(batch, targets, grads)`` returns, per target, the sum over the batch's examples of their
    absolute per-example importance (the loss is a batch mean; this function multiplies by the batch size).
    """
    totals: list[torch.Tensor] = []
    seen, was_training = 0, model.training
    model.eval()
    try:
        with torch.enable_grad():
            for batch in batches:
                grads = torch.autograd.grad(loss_fn(model, batch), targets)
                n = grads[0].shape[0]
                sums = [s.double() * n for s in per_batch(batch, targets, grads)]
                totals = sums if not totals else [t + s for t, s in zip(totals, sums)]
                seen += n
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if seen == 0:
        raise ValueError(f"no training batches to estimate {what} from")
    return [(total / seen).cpu() for total in totals]

"""Sparsity schedules as pure functions of the step, so they can be checked against a table by hand.

The cubic schedule is that of Zhu & Gupta (2017), "To prune, or not to prune: exploring the efficacy of
pruning for model compression" (eq. 1): pruning fast while the network still has redundant weights and
slowly as it approaches the target. Sanh, Wolf & Rush (2020), "Movement Pruning", use the same cubic
for the remaining ratio (and for the soft-movement threshold), with a warm-up before and a cool-down
after it; `pruning_window` places that interval inside a training phase.

Steps count optimiser steps done: step 0 is before the first step (`before_training`), step t is after
the t-th (`on_step(model, t, ctx)`), so a mask set at step t is the one the (t+1)-th step trains with.
"""

from __future__ import annotations


def cubic_sparsity(step: int, initial: float, final: float, begin_step: int, end_step: int) -> float:
    """s_t = s_f + (s_i - s_f) (1 - (t - t0) / (end - t0))^3, held at s_i before t0 and at s_f from `end_step` on.

    Written as a continuous function of t: Zhu & Gupta evaluate it only at t0 + k*dt, which is what a
    caller gets by calling it at its update steps (see `is_update_step`). Works for any quantity that
    moves cubically from `initial` to `final` (a remaining ratio, a threshold), not only sparsity.
    """
    if end_step < begin_step:
        raise ValueError(f"end_step ({end_step}) must not be before begin_step ({begin_step})")
    if step >= end_step:  # first, so that an empty interval (begin == end) means "final from there on"
        return final
    if step <= begin_step:
        return initial
    progress = (step - begin_step) / (end_step - begin_step)
    return final + (initial - final) * (1.0 - progress) ** 3


def pruning_window(total_steps: int, warmup_fraction: float, cooldown_fraction: float,
                   max_span: int | None = None) -> tuple[int, int]:
    """(begin_step, end_step) of a schedule in a phase of `total_steps` optimiser steps.

    The first `warmup_fraction` of the steps train without (further) pruning, the last `cooldown_fraction`
    train with the final masks; at least one step always follows `end_step`, so no mask is ever final
    without training after it. `max_span` caps the schedule's length (e.g. "prune over 4 epochs").
    """
    if total_steps < 0:
        raise ValueError(f"total_steps must be >= 0, got {total_steps}")
    if not (0.0 <= warmup_fraction < 1.0 and 0.0 <= cooldown_fraction < 1.0):
        raise ValueError(f"fractions must be in [0, 1), got warm-up {warmup_fraction}, cool-down {cooldown_fraction}")
    if total_steps == 0:
        return 0, 0
    end = total_steps - max(1, round(cooldown_fraction * total_steps))
    begin = min(round(warmup_fraction * total_steps), end)
    if max_span is not None:
        end = min(end, begin + max_span)
    return max(begin, 0), max(end, 0)


def is_update_step(step: int, begin_step: int, end_step: int, every: int) -> bool:
    """Whether masks change at `step`: t0, t0 + dt, t0 + 2dt, ... and always at `end_step`, so the
    final sparsity is reached exactly even when the interval is not a multiple of dt."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    return begin_step <= step <= end_step and ((step - begin_step) % every == 0 or step == end_step)

"""The pure schedules of `methods._schedules`, against values worked out by hand."""

import pytest

from prunebench.methods._schedules import cubic_sparsity, is_update_step, pruning_window


@pytest.mark.parametrize(
    "step, initial, final, begin, end, expected",
    [
        # seed 003's 50% -> 80% over 10 steps: 0.8 - 0.3 (1 - t/10)^3
        (0, 0.5, 0.8, 0, 10, 0.5),
        (2, 0.5, 0.8, 0, 10, 0.6464),  # 0.8 - 0.3 * 0.8^3 = 0.8 - 0.1536
        (5, 0.5, 0.8, 0, 10, 0.7625),  # 0.8 - 0.3 * 0.125
        (10, 0.5, 0.8, 0, 10, 0.8),
        (12, 0.5, 0.8, 0, 10, 0.8),  # held after the end
        # Zhu & Gupta from zero with a start step: 0.9 - 0.9 (1 - (6 - 4) / 4)^3
        (2, 0.0, 0.9, 4, 8, 0.0),  # held before the start
        (4, 0.0, 0.9, 4, 8, 0.0),
        (6, 0.0, 0.9, 4, 8, 0.7875),
        (7, 0.0, 0.9, 4, 8, 0.8859375),  # 0.9 - 0.9 / 64
        # a remaining ratio going down (movement pruning): 0.1 + 0.9 (1 - 1/2)^3
        (3, 1.0, 0.1, 2, 4, 0.2125),
        # an empty interval: one-shot at the step
        (2, 0.5, 0.8, 3, 3, 0.5),
        (3, 0.5, 0.8, 3, 3, 0.8),
    ],
)
def test_cubic_schedule_table(step, initial, final, begin, end, expected):
    assert cubic_sparsity(step, initial, final, begin, end) == pytest.approx(expected, abs=1e-12)


def test_cubic_schedule_rejects_an_end_before_the_begin():
    with pytest.raises(ValueError, match="end_step"):
        cubic_sparsity(0, 0.0, 0.5, 5, 4)


@pytest.mark.parametrize(
    "total, warmup, cooldown, max_span, expected",
    [
        (100, 0.1, 0.2, None, (10, 80)),
        (100, 0.0, 0.2, 30, (0, 30)),  # capped span ("prune over N epochs")
        (100, 0.0, 0.0, None, (0, 99)),  # at least one step trains after the last pruning step
        (4, 0.1, 0.2, None, (0, 3)),  # round(0.4) = 0, round(0.8) = 1
        (1, 0.1, 0.2, None, (0, 0)),  # one step: prune at once, then train
        (0, 0.1, 0.2, None, (0, 0)),
        (10, 0.5, 0.5, None, (5, 5)),
    ],
)
def test_pruning_window_table(total, warmup, cooldown, max_span, expected):
    assert pruning_window(total, warmup, cooldown, max_span) == expected


def test_pruning_window_rejects_bad_fractions():
    with pytest.raises(ValueError, match="fractions"):
        pruning_window(10, 1.0, 0.1)


def test_update_steps_are_every_dt_and_the_end():
    assert [t for t in range(12) if is_update_step(t, 2, 9, 3)] == [2, 5, 8, 9]
    assert [t for t in range(5) if is_update_step(t, 0, 0, 100)] == [0]

"""Gradual magnitude pruning: the mask follows Zhu & Gupta's cubic schedule, never regrows, and ends exactly
at the target with training steps after the last update."""

import pytest
import torch

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods._masking import masks_from_scores
from prunebench.methods._schedules import cubic_sparsity
from prunebench.methods._structure import prunable_weights
from prunebench.methods.base import PruneContext
from prunebench.methods.registry import get

TARGET = 0.8


def _simulate(model_dir, name, total_steps=20, steps_per_epoch=10, **params):
    """The loop's calls, with a random weight update in place of each optimiser step (it also moves
    pruned weights, as weight decay and Adam momentum do, before the loop re-applies the masks)."""
    model = load_model(resolve(str(model_dir)), get_task("sst2"))
    ctx = PruneContext(TARGET, get_task("sst2"), torch.device("cpu"), 0, loss_fn=None, train_batches=None,
                       steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    method = get(name)(get(name).parse_params(params))
    generator = torch.Generator().manual_seed(0)
    method.before_training(model, ctx)
    ctx.apply_masks(model)
    history = [{n: m.bool().clone() for n, m in ctx.masks.items()}]
    for step in range(1, total_steps + 1):
        with torch.no_grad():
            for w in ctx.prunable(model).values():
                w.add_(0.02 * torch.randn(w.shape, generator=generator))
        ctx.apply_masks(model)
        method.on_step(model, step, ctx)
        history.append({n: m.bool().clone() for n, m in ctx.masks.items()})
    method.after_training(model, ctx)
    return model, ctx, history


def _zeros(masks):
    return sum(int((~m).sum()) for m in masks.values())


@pytest.mark.parametrize("name", ["gradual-magnitude-global", "gradual-magnitude-layerwise"])
def test_sparsity_follows_the_cubic_schedule_and_masks_never_regrow(tiny_bert_dir, name):
    # 20 steps, 20% cool-down: the schedule runs over steps 0..16, updated every 4 steps (and at the end)
    model, ctx, history = _simulate(tiny_bert_dir, name, prune_every=4)
    assert ctx.info["schedule"] == {"initial_sparsity": 0.625 * TARGET, "begin_step": 0, "end_step": 16,
                                  "prune_every": 4, "total_steps": 20, "mask_updates": 5}
    total = sum(m.numel() for m in history[0].values())
    for step, masks in enumerate(history):
        sparsity = cubic_sparsity(4 * (min(step, 16) // 4), 0.5, TARGET, 0, 16)  # held between updates
        if name.endswith("global"):
            assert _zeros(masks) == round(sparsity * total), step
        else:
            assert all(int((~m).sum()) == round(sparsity * m.numel()) for m in masks.values()), step
        if step:
            assert all(not (m & ~history[step - 1][n]).any() for n, m in masks.items()), f"regrowth at step {step}"
    # the hand-computed points of seed 003's 50% -> 80%: 0.8 - 0.3 (1 - t/16)^3
    assert cubic_sparsity(8, 0.5, TARGET, 0, 16) == pytest.approx(0.7625)
    # trained for 4 steps with the final mask, which is what the weights hold
    assert all(torch.equal(history[s][n], history[16][n]) for s in range(16, 21) for n in history[16])
    weights = ctx.prunable(model)
    assert all(torch.equal(weights[n] != 0, m.bool()) for n, m in ctx.masks.items())


def test_the_first_mask_is_one_shot_magnitude_at_the_initial_sparsity(tiny_bert_dir):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    expected = masks_from_scores({n: w.abs() for n, w in prunable_weights(model).items()}, 0.5, scope="layer")
    _, _, history = _simulate(tiny_bert_dir, "gradual-magnitude-layerwise", total_steps=5, steps_per_epoch=5)
    assert all(torch.equal(history[0][n], expected[n]) for n in expected)


def test_a_short_phase_ends_the_schedule_before_its_cooldown(tiny_bert_dir):
    # pruning_epochs=4 but the phase is 1 epoch of 10 steps: the schedule spans steps 0..8
    _, ctx, history = _simulate(tiny_bert_dir, "gradual-magnitude-global", total_steps=10, steps_per_epoch=10)
    assert (ctx.info["schedule"]["end_step"], ctx.info["schedule"]["prune_every"]) == (8, 1)
    total = sum(m.numel() for m in history[0].values())
    assert _zeros(history[7]) < round(TARGET * total) == _zeros(history[8]) == _zeros(history[10])


def test_a_long_phase_prunes_over_pruning_epochs_only(tiny_bert_dir):
    _, ctx, _ = _simulate(tiny_bert_dir, "gradual-magnitude-global", total_steps=30, steps_per_epoch=5, pruning_epochs=2.0)
    assert ctx.info["schedule"]["end_step"] == 10


def test_bad_params_are_refused():
    with pytest.raises(Exception, match="initial_fraction"):
        get("gradual-magnitude-global").parse_params({"initial_fraction": "1.5"})


def test_a_run_reaches_the_target(tiny_bert_dir, run_cli):
    from prunebench.benchmarks.records import read_rows

    code, out = run_cli(tiny_bert_dir, method="gradual-magnitude-global", sparsity=0.7)
    (row,) = read_rows(out)
    assert code == 0 and float(row["achieved_sparsity"]) == pytest.approx(0.7, abs=0.005)


@pytest.mark.parametrize("name", ["gradual-magnitude-global", "gradual-magnitude-layerwise"])
def test_mask_updates_write_into_the_held_tensors_so_a_captured_cuda_graph_sees_them(tiny_bert_dir, name):
    """A CUDA graph of the training step holds the mask tensors of its capture; the schedule's later masks
    must arrive through those same tensors, or the replayed step would keep applying the first mask."""
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    ctx = PruneContext(TARGET, get_task("sst2"), torch.device("cpu"), 0, loss_fn=None, train_batches=None,
                       steps_per_epoch=10, total_steps=20)
    method = get(name)()
    assert method.static_step
    method.before_training(model, ctx)
    held = {n: m for n, m in ctx.masks.items()}
    first_zeros = sum(int((m == 0).sum()) for m in held.values())
    for step in range(1, 21):
        method.on_step(model, step, ctx)
    assert all(ctx.masks[n] is held[n] for n in held)
    assert sum(int((m == 0).sum()) for m in held.values()) > first_zeros

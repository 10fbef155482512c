"""Movement pruning: the straight-through gradient by hand, exact top-k masks, a plain model afterwards, and
end-to-end runs at the target sparsity."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.records import read_rows
from prunebench.benchmarks.tasks import get_task
from prunebench.methods.base import PruneContext
from prunebench.methods.movement import ScoredMasks
from prunebench.methods.registry import get


def _linear():
    linear = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]]))
    return linear


def test_scores_get_the_straight_through_gradient_w_times_dl_dw():
    linear = _linear()
    masked = ScoredMasks({"weight": linear})
    masked.set_masks({"weight": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])})
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    # y = x W'^T with W' = W * M = [[1, 0, 0.5], [0, 0, -1]]
    y = linear(x)
    assert torch.equal(y, torch.tensor([[2.5, -3.0], [0.0, -2.0]]))
    (y * torch.tensor([[1.0, 2.0], [3.0, -1.0]])).sum().backward()
    # dL/dW'[i, j] = sum_b c[b, i] x[b, j]: row 0 = 1*(1,2,3) + 3*(-1,0,2); row 1 = 2*(1,2,3) - (-1,0,2)
    dl_dw = torch.tensor([[-2.0, 2.0, 9.0], [3.0, 4.0, 4.0]])
    assert torch.equal(masked.scores["weight"].grad, torch.tensor([[-2.0, -4.0, 4.5], [9.0, 0.0, -4.0]]))  # W * dL/dW'
    original = linear.parametrizations.weight.original
    assert torch.equal(original.grad, dl_dw * torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))  # M * dL/dW'


def test_removing_the_masks_leaves_a_plain_linear_with_the_zeros_baked_in():
    linear = _linear()
    masked = ScoredMasks({"weight": linear})
    assert type(linear) is not nn.Linear and set(dict(linear.named_parameters())) == {"parametrizations.weight.original"}
    masked.set_masks({"weight": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])})
    keep = masked.remove()
    assert type(linear) is nn.Linear and set(dict(linear.named_parameters())) == {"weight"}
    assert torch.equal(linear.weight.detach(), torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, -1.0]]))
    assert keep["weight"].tolist() == [[True, False, True], [False, True, True]]


def _context(sparsity, total_steps):
    return PruneContext(sparsity, get_task("sst2"), torch.device("cpu"), 0, loss_fn=None, train_batches=None,
                        steps_per_epoch=total_steps, total_steps=total_steps)


def _with_random_scores(method, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for s in method.state.scores.values():
            s.copy_(torch.randn(s.shape, generator=generator))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_hard_masks_keep_exactly_the_top_scores_and_after_training_bakes_them(tiny_bert_dir, scope):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    dense = {n: w.detach().clone() for n, w in model.state_dict().items()}
    ctx = _context(0.7, total_steps=10)
    method = get("movement")(get("movement").parse_params({"scope": scope}))
    method.before_training(model, ctx)
    assert ctx.info["schedule"] == {"begin_step": 1, "end_step": 8, "total_steps": 10}
    assert all(bool(m.all()) for m in method.state.masks.values())  # warm-up: nothing pruned
    _with_random_scores(method)
    scores = {n: s.detach().clone() for n, s in method.state.scores.items()}
    method.on_step(model, 10, ctx)
    masks = method.state.keep_masks()
    if scope == "layer":
        assert all(int((~m).sum()) == round(0.7 * m.numel()) for m in masks.values())
    else:
        assert sum(int((~m).sum()) for m in masks.values()) == round(0.7 * sum(m.numel() for m in masks.values()))
    for name, keep in masks.items():  # every kept score beats every pruned one (per matrix / over all)
        if scope == "layer":
            assert scores[name][keep].min() > scores[name][~keep].max()
    if scope == "global":
        kept = torch.cat([scores[n][m] for n, m in masks.items()])
        pruned = torch.cat([scores[n][~m] for n, m in masks.items()])
        assert kept.min() > pruned.max()

    model = method.after_training(model, ctx)
    assert not any(parametrize.is_parametrized(module) for module in model.modules())
    assert set(model.state_dict()) == set(dense)  # saved like a plain Hugging Face model
    weights = ctx.prunable(model)
    for name, keep in masks.items():
        assert type(model.get_submodule(name.removesuffix(".weight"))) is nn.Linear
        assert torch.equal(ctx.masks[name].bool(), keep)
        assert torch.equal(weights[name], dense[name] * keep)  # zeros exactly where the mask is 0, the rest untouched


def test_cubic_remaining_ratio_during_training(tiny_bert_dir):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    ctx = _context(0.8, total_steps=10)
    method = get("movement")()
    method.before_training(model, ctx)
    _with_random_scores(method)
    for step, expected in [(1, 0.0), (3, 0.8 - 0.8 * (5 / 7) ** 3), (8, 0.8), (9, 0.8)]:
        method.on_step(model, step, ctx)
        assert all(int((~m).sum()) == round(expected * m.numel()) for m in method.state.keep_masks().values()), step


def test_the_scores_reach_the_optimiser_in_their_own_group(tiny_bert_dir):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    method = get("soft-movement")()
    method.before_training(model, _context(0.5, total_steps=10))
    (group,) = method.param_groups(model, _context(0.5, total_steps=10))
    assert group["lr"] == 1e-2 and group["weight_decay"] == 0.0 and len(group["params"]) == 12
    model_params = {id(p) for p in model.parameters()}
    assert not any(id(s) in model_params for s in group["params"])  # AdamW would refuse a tensor in two groups


def test_soft_movement_threshold_regulariser_and_calibration(tiny_bert_dir):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    ctx = _context(0.6, total_steps=10)
    method = get("soft-movement")()
    method.before_training(model, ctx)
    assert method.extra_loss(model, {}, None, ctx) is None  # tau = 0 in the warm-up: lambda = 0
    _with_random_scores(method)
    scores = {n: s.detach().clone() for n, s in method.state.scores.items()}
    method.on_step(model, 4, ctx)  # tau_4 = 0.1 - 0.1 (1 - 3/7)^3
    tau = 0.1 - 0.1 * (4 / 7) ** 3
    assert method.threshold(4) == pytest.approx(tau)
    assert all(torch.equal(method.state.keep_masks()[n], torch.sigmoid(s) > tau) for n, s in scores.items())
    regulariser = torch.stack([torch.sigmoid(s).mean() for s in scores.values()]).mean()
    assert float(method.extra_loss(model, {}, None, ctx).detach()) == pytest.approx(400 * tau / 0.1 * float(regulariser), rel=1e-5)
    method.on_step(model, 8, ctx)  # cool-down: calibrated to exactly the target over all matrices
    masks = method.state.keep_masks()
    total = sum(m.numel() for m in masks.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.6 * total)
    expected = sum(int((torch.sigmoid(s) <= 0.1).sum()) for s in scores.values()) / total
    assert ctx.info["threshold_sparsity_at_schedule_end"] == pytest.approx(expected)
    method.after_training(model, ctx)
    assert {"threshold_sparsity_final", "calibrated_threshold"} <= set(ctx.info)


def test_soft_movement_without_calibration_keeps_the_papers_rule(tiny_bert_dir):
    model = load_model(resolve(str(tiny_bert_dir)), get_task("sst2"))
    ctx = _context(0.6, total_steps=10)
    method = get("soft-movement")(get("soft-movement").parse_params({"calibrate": "false"}))
    method.before_training(model, ctx)
    _with_random_scores(method)
    scores = {n: s.detach().clone() for n, s in method.state.scores.items()}
    method.on_step(model, 10, ctx)
    method.after_training(model, ctx)
    assert all(torch.equal(ctx.masks[n].bool(), torch.sigmoid(s) > 0.1) for n, s in scores.items())


def test_a_soft_movement_run_reaches_the_target(tiny_bert_dir, run_cli):
    # the hard variant's exact count is checked above; tests/test_run.py runs both end to end at 50%
    code, out = run_cli(tiny_bert_dir, method="soft-movement", sparsity=0.7)
    (row,) = read_rows(out)
    assert code == 0 and float(row["achieved_sparsity"]) == pytest.approx(0.7, abs=0.005)

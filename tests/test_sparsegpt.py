"""SparseGPT (Frantar & Alistarh 2023): Algorithm 1 on single layers checked by hand, and the method on tiny BERT."""

import json

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse: tiny matrices on one thread)

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.records import read_rows
from prunebench.benchmarks.tasks import get_task
from prunebench.methods import calibration, sparsegpt
from prunebench.methods._masking import masks_from_scores
from prunebench.methods.base import PruneContext
from prunebench.methods.sparsegpt import SparseGPT, sparsegpt_prune


def correlated_layer(rows=16, cols=64, tokens=2000, seed=0):
    """A random weight and inputs whose features are strongly correlated (mixed from shared sources)."""
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(cols, cols, generator=g) / cols**0.5
    x = (torch.randn(tokens, cols, generator=g) @ mixing + 0.1 * torch.randn(tokens, cols, generator=g)).T
    return torch.randn(rows, cols, generator=g), x, 2 * x @ x.T / tokens  # W, X [cols, tokens], H = 2XXᵀ/n


@pytest.mark.parametrize("sparsity", [0.5, 0.7])
def test_sparsegpt_reconstructs_the_layer_output_better_than_magnitude(sparsity):
    w, x, h = correlated_layer()
    pruned, keep = sparsegpt_prune(w, h, sparsity, block_size=16)
    magnitude = masks_from_scores({"w": w.abs()}, sparsity, scope="layer")["w"]
    error = ((w - pruned) @ x).norm()
    magnitude_error = ((w - w * magnitude) @ x).norm()
    assert error < 0.85 * magnitude_error
    assert int((pruned == 0).sum()) == int((~keep).sum()) == round(sparsity * w.numel())


def test_pruning_one_input_moves_the_other_to_the_least_squares_fit():
    """Two inputs, one row: dropping w0 is compensated by w1 += w0 (x0·x1)/(x1·x1), the OBS update (H⁻¹ entries)."""
    x = torch.tensor([[1.0, 2.0, 0.0, 1.0], [1.0, 1.0, 1.0, 2.0]])  # [cols=2, tokens=4]
    w = torch.tensor([[0.1, 3.0]])  # w0 has the lower w²/U_cc²: it is the one pruned
    pruned, keep = sparsegpt_prune(w, 2 * x @ x.T, 0.5, damp=1e-9)
    assert keep.tolist() == [[False, True]]
    assert pruned[0, 0] == 0
    assert pruned[0, 1].item() == pytest.approx(3.0 + 0.1 * (x[0] @ x[1]).item() / (x[1] @ x[1]).item(), rel=1e-5)


@pytest.mark.parametrize("block_size", [64, 16])
def test_with_a_large_dampening_the_mask_is_magnitude_pruning_of_each_block(block_size):
    """λ >> diag(H) makes H⁻¹ a multiple of I: scores become w², nothing is updated, and the adaptive mask keeps
    the largest |w| of each column block (of the whole matrix when the block holds every column)."""
    w, _, h = correlated_layer()
    pruned, keep = sparsegpt_prune(w, h, 0.5, block_size=block_size, damp=1e8)
    blocks = [masks_from_scores({"b": w[:, i : i + block_size].abs()}, 0.5, scope="layer")["b"] for i in range(0, 64, block_size)]
    assert torch.equal(keep, torch.cat(blocks, dim=1))
    torch.testing.assert_close(pruned, w * keep)
    if block_size == 64:
        assert torch.equal(keep, masks_from_scores({"w": w.abs()}, 0.5, scope="layer")["w"])


def test_a_small_dampening_gives_another_mask_than_magnitude():
    w, _, h = correlated_layer()
    _, keep = sparsegpt_prune(w, h, 0.5, block_size=64, damp=0.01)
    assert not torch.equal(keep, masks_from_scores({"w": w.abs()}, 0.5, scope="layer")["w"])


def test_the_2of4_variant_keeps_exactly_two_of_every_four_consecutive_inputs():
    w, x, h = correlated_layer()
    pruned, keep = sparsegpt_prune(w, h, 0.5, block_size=16, nm=(2, 4))
    assert ((pruned.reshape(16, 16, 4) != 0).sum(-1) == 2).all()
    assert torch.equal(pruned != 0, keep)
    magnitude = w * (w.abs().reshape(16, 16, 4).argsort(-1).argsort(-1) >= 2).reshape(16, 64)
    assert ((w - pruned) @ x).norm() < ((w - magnitude) @ x).norm()


def test_bad_shapes_are_refused():
    w, _, h = correlated_layer()
    with pytest.raises(ValueError, match="does not fit"):
        sparsegpt_prune(w, h[:8, :8], 0.5)
    with pytest.raises(ValueError, match="divisible by 4"):
        sparsegpt_prune(w, h, 0.5, block_size=6, nm=(2, 4))
    with pytest.raises(ValueError, match="block_size must be a multiple of 4"):
        sparsegpt.SparseGPT2of4.parse_params({"block_size": "6"})


# --- the calibration helpers and the method on a tiny BERT ----------------------------------------------------
def synthetic_batches(n_batches=3, size=4, length=12, seed=0):
    """Token batches with real padding: example i of each batch has 12 - 2i real tokens."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_batches):
        lengths = torch.tensor([length - 2 * i for i in range(size)])
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
        ids = torch.randint(1000, 2000, (size, length), generator=g) * mask
        yield {"input_ids": ids, "attention_mask": mask, "labels": torch.zeros(size, dtype=torch.long)}


def context(sparsity=0.5, batches=synthetic_batches):
    task = get_task("sst2")
    return PruneContext(sparsity, task, torch.device("cpu"), 0, loss_fn=None, train_batches=lambda: iter(batches()))


@pytest.fixture
def tiny_bert(tiny_bert_dir):
    torch.manual_seed(0)
    return load_model(resolve(str(tiny_bert_dir)), get_task("sst2")).eval()


def test_calibration_batches_hold_the_first_n_sequences():
    got = list(calibration.calibration_batches(context(), 6))
    assert [len(b["input_ids"]) for b in got] == [4, 2]
    assert torch.equal(got[1]["input_ids"], list(synthetic_batches())[1]["input_ids"][:2])
    assert sum(len(b["input_ids"]) for b in calibration.calibration_batches(context(), 100)) == 12  # all there is


def test_input_grams_sum_the_outer_products_of_real_tokens_only(tiny_bert):
    linears = calibration.prunable_linears(tiny_bert)
    query = "bert.encoder.layer.0.attention.self.query"
    batches = list(synthetic_batches())
    grams = calibration.input_grams(tiny_bert, {query: linears[query]}, batches)
    expected, tokens = torch.zeros(32, 32), 0
    for batch in batches:
        hidden = calibration.forward_only(tiny_bert, {**batch, "output_hidden_states": True}).hidden_states[0]
        x = hidden[batch["attention_mask"].bool()]
        expected += x.T @ x
        tokens += len(x)
    assert grams[query].tokens == tokens == 3 * (12 + 10 + 8 + 6)
    torch.testing.assert_close(grams[query].gram, expected, rtol=1e-4, atol=1e-4)


def test_layers_are_pruned_in_order_each_on_the_inputs_of_the_pruned_layers_before(tiny_bert, monkeypatch):
    seen = {}
    real = sparsegpt.sparsegpt_prune

    def spy(weight, hessian, *args):
        seen[weight.data_ptr()] = hessian.clone()
        return real(weight, hessian, *args)

    monkeypatch.setattr(sparsegpt, "sparsegpt_prune", spy)
    dense_inputs = calibration.forward_only(tiny_bert, {**next(synthetic_batches()), "output_hidden_states": True}).hidden_states[1]
    ctx = context()
    SparseGPT().before_training(tiny_bert, ctx)
    query = calibration.prunable_linears(tiny_bert)["bert.encoder.layer.1.attention.self.query"]
    grams = calibration.input_grams(tiny_bert, {"q": query}, list(synthetic_batches()))  # layer 0 is pruned now
    torch.testing.assert_close(seen[query.weight.data_ptr()], grams["q"].hessian(), rtol=1e-4, atol=1e-5)
    pruned_inputs = calibration.forward_only(tiny_bert, {**next(synthetic_batches()), "output_hidden_states": True}).hidden_states[1]
    assert not torch.allclose(dense_inputs, pruned_inputs, atol=1e-3)  # so the check above tells the two apart
    assert all(m.float().mean() == 0.5 for m in ctx.masks.values())
    assert ctx.info["calibration_sequences"] == 12 and "score_before_recovery" not in ctx.info  # no evaluator here


def test_a_sparsegpt_row_records_its_one_shot_score_before_recovery(tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, method="sparsegpt", sparsity=0.7)
    (row,) = read_rows(out)
    info = json.loads(row["method_params"])["_info"]
    assert code == 0 and float(row["achieved_sparsity"]) == pytest.approx(0.7, abs=0.005)
    assert info["calibration_sequences"] == 64  # 128 asked for, the tests' training split has 64
    assert 0 <= info["score_before_recovery"] <= 100
    assert info["score_before_recovery"] == pytest.approx(100 * info["metrics_before_recovery"]["accuracy"])


def test_the_2of4_variant_refuses_any_other_sparsity(tiny_bert_dir, run_cli, capsys):
    code, out = run_cli(tiny_bert_dir, method="sparsegpt-2of4", sparsity=0.7)
    assert code == 2 and not out.exists()
    assert "prunes to a fixed sparsity: got 0.7, valid: 0.5" in capsys.readouterr().err


def test_distillation_composes_with_sparsegpt_as_its_base(tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, method="distillation", sparsity=0.8, extra=["--param", "base=sparsegpt"])
    (row,) = read_rows(out)
    info = json.loads(row["method_params"])["_info"]
    assert code == 0 and float(row["achieved_sparsity"]) == pytest.approx(0.8, abs=0.005)
    assert info["distillation_base"] == "sparsegpt" and "score_before_recovery" in info

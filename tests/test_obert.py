"""oBERT (Kurtic et al. 2022): the block Fisher, saliency and OBS update against the closed form on blocks
computed by hand, the quadratic model's loss after pruning, and the gradual method on tiny BERT."""

import json

import pytest
import torch
from _tiny import one_thread  # noqa: F401  (autouse: tiny matrices on one thread)

from prunebench.benchmarks.records import read_rows
from prunebench.methods.obert import BlockFisher, OBert, as_blocks, from_blocks, obs_update, saliency

# Two gradients of a 3-weight block and λ = 0.5: F = λI + (g1 g1ᵀ + g2 g2ᵀ) / 2, written out by hand
G1, G2, DAMP = [1.0, 0.0, 2.0], [0.0, 1.0, 1.0], 0.5
F_BY_HAND = torch.tensor([[0.5 + 0.5, 0.0, 1.0],
                          [0.0, 0.5 + 0.5, 0.5],
                          [1.0, 0.5, 0.5 + 2.5]])
W = torch.tensor([0.4, -1.0, 0.3])


def hand_block():
    fisher = BlockFisher(3, 3)
    fisher.add(torch.tensor([G1, G2]))
    return fisher.inverse(DAMP)  # [1, 3, 3]


def quadratic_loss_increase(delta: torch.Tensor) -> float:
    """The quadratic model of the loss around a minimum: L(w + δ) − L(w) = ½ δᵀ F δ."""
    return 0.5 * float(delta @ F_BY_HAND @ delta)


def test_block_fisher_inverse_is_the_inverse_of_the_hand_computed_fisher():
    torch.testing.assert_close(hand_block()[0], torch.linalg.inv(F_BY_HAND))


def test_saliency_is_w_squared_over_twice_the_inverse_fisher_diagonal():
    inv = torch.linalg.inv(F_BY_HAND)
    expected = W**2 / (2 * torch.diagonal(inv))
    torch.testing.assert_close(saliency(W[None], hand_block())[0], expected)
    # the Fisher changes the ranking: w_0 = 0.4 is the cheapest to remove, not the smallest |w| (w_2 = 0.3)
    assert int(expected.argmin()) == 0 and int(W.abs().argmin()) == 2


@pytest.mark.parametrize("q", [0, 1, 2])
@pytest.mark.parametrize("update", ["independent", "set"])
def test_pruning_one_weight_applies_the_closed_form_update_and_costs_its_saliency(q, update):
    inv = torch.linalg.inv(F_BY_HAND)
    prune = torch.zeros(1, 3, dtype=torch.bool)
    prune[0, q] = True
    new = obs_update(W[None], hand_block(), prune, update)[0]
    expected_delta = -(W[q] / inv[q, q]) * inv[:, q]
    torch.testing.assert_close(new - W, expected_delta)
    assert new[q] == 0
    rho = float(W[q] ** 2 / (2 * inv[q, q]))
    assert quadratic_loss_increase(new - W) == pytest.approx(rho, rel=1e-5)
    assert quadratic_loss_increase(-W * prune[0]) > rho  # zeroing w_q without the update costs more


def test_the_set_update_is_the_optimum_for_weights_pruned_together():
    """Two weights of one block: the set update reaches ½ w_Qᵀ ([F⁻¹]_QQ)⁻¹ w_Q, below the summed single updates."""
    inv = torch.linalg.inv(F_BY_HAND)
    prune = torch.tensor([[True, False, True]])
    joint = obs_update(W[None], hand_block(), prune, "set")[0]
    summed = obs_update(W[None], hand_block(), prune, "independent")[0]
    q = torch.tensor([0, 2])
    predicted = 0.5 * float(W[q] @ torch.linalg.inv(inv[q][:, q]) @ W[q])
    assert joint[0] == joint[2] == 0 and summed[0] == summed[2] == 0
    assert quadratic_loss_increase(joint - W) == pytest.approx(predicted, rel=1e-5)
    assert quadratic_loss_increase(joint - W) < quadratic_loss_increase(summed - W)


def test_a_matrix_is_cut_into_blocks_of_b_with_a_padded_remainder():
    weight = torch.arange(1.0, 9.0).view(2, 4)  # 8 weights in blocks of 3: 3 blocks, the last with one padding slot
    blocks = as_blocks(weight, 3)
    assert blocks.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 0]]
    assert torch.equal(from_blocks(blocks, weight), weight)
    fisher = BlockFisher(8, 3)
    grads = torch.arange(16.0).view(2, 2, 4)  # two gradients of the 2x4 matrix
    fisher.add(grads)
    g = as_blocks(grads[0], 3), as_blocks(grads[1], 3)
    for b in range(3):
        torch.testing.assert_close(fisher.gram[b], torch.outer(g[0][b], g[0][b]) + torch.outer(g[1][b], g[1][b]))
    assert fisher.count == 2
    inv = fisher.inverse(1e-2)
    assert inv[2, 2, 2] == pytest.approx(100.0)  # the padding slot sees no gradient: 1/λ


def test_gradients_added_in_pieces_give_the_same_fisher():
    grads = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    whole, pieces = BlockFisher(7, 4), BlockFisher(7, 4)
    whole.add(grads)
    pieces.add(grads[:2])
    pieces.add(grads[2:])
    torch.testing.assert_close(whole.inverse(1e-3), pieces.inverse(1e-3))


def test_unknown_update_and_bad_params_are_refused():
    with pytest.raises(ValueError, match="unknown update 'joint'; valid: independent, set"):
        obs_update(W[None], hand_block(), torch.ones(1, 3, dtype=torch.bool), "joint")
    with pytest.raises(ValueError, match="pruning_steps must be >= 1"):
        OBert.parse_params({"pruning_steps": "0"})


def test_an_obert_row_prunes_gradually_with_the_gradients_available(tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, method="obert", sparsity=0.8)
    (row,) = read_rows(out)
    info = json.loads(row["method_params"])["_info"]
    assert code == 0 and float(row["achieved_sparsity"]) == pytest.approx(0.8, abs=0.005)
    steps = info["pruning"]
    # 64 training examples in batches of 16: 4 gradients of 16 examples per step, not the 1024 asked for
    assert [s["gradients"] for s in steps] == [4] * len(steps)
    # 4 optimiser steps, the last at the final mask: pruning at steps 0 (before training), 1, 2 and 3
    assert [s["step"] for s in steps] == [0, 1, 2, 3]
    assert steps[0]["sparsity"] == pytest.approx(0.875 * 0.8) and steps[-1]["sparsity"] == pytest.approx(0.8)
    assert all(a["sparsity"] < b["sparsity"] for a, b in zip(steps, steps[1:]))


def test_a_gradient_batch_larger_than_a_training_batch_is_refused_before_any_compute(tiny_bert_dir, run_cli, capsys):
    code, out = run_cli(tiny_bert_dir, method="obert", sparsity=0.8, extra=["--param", "grad_batch_size=32"])
    assert code == 2 and not out.exists()
    assert "grad_batch_size=32: a gradient comes from one training batch of batch_size 16" in capsys.readouterr().err

"""Scores to masks: global vs layer-wise ranking, exact counts, deterministic ties."""

import pytest
import torch

from prunebench.methods._masking import masks_from_scores, measured_sparsity


def test_global_magnitude_keeps_the_largest_weights_anywhere():
    scores = {"a": torch.tensor([[0.1, 3.0], [2.0, 0.01]]), "b": torch.tensor([[5.0, 0.2]])}
    masks = masks_from_scores(scores, 0.5, scope="global")
    assert masks["a"].tolist() == [[False, True], [True, False]]
    assert masks["b"].tolist() == [[True, False]]


def test_layerwise_prunes_each_matrix_at_the_same_rate():
    scores = {"a": torch.tensor([1.0, 2.0, 3.0, 4.0]), "b": torch.tensor([100.0, 200.0])}
    masks = masks_from_scores(scores, 0.5, scope="layer")
    assert masks["a"].tolist() == [False, False, True, True]
    assert masks["b"].tolist() == [False, True]
    # global ranking would have emptied most of `a` instead
    assert masks_from_scores(scores, 0.5, scope="global")["a"].tolist() == [False, False, False, True]


def test_layerwise_ranks_matrices_of_one_size_apart_though_it_sorts_them_together():
    # two equal-size matrices go through one stacked sort; each must still keep its own top half,
    # ties by position within the matrix, in the order the scores were given
    scores = {"big": torch.tensor([[9.0, 8.0], [7.0, 6.0]]), "odd": torch.tensor([5.0, 1.0, 3.0]),
              "small": torch.tensor([[0.1, 0.1], [0.3, 0.2]])}
    masks = masks_from_scores(scores, 0.5, scope="layer")
    assert list(masks) == ["big", "odd", "small"]
    assert masks["big"].tolist() == [[True, True], [False, False]]
    assert masks["small"].tolist() == [[False, False], [True, True]]
    assert masks["odd"].tolist() == [True, False, False]  # round(0.5 * 3) = 2 pruned

def test_ties_are_broken_by_position():
    masks = masks_from_scores({"w": torch.ones(6)}, 0.5)
    assert masks["w"].tolist() == [False, False, False, True, True, True]


@pytest.mark.parametrize("sparsity", [0.0, 0.33, 0.5, 0.9])
def test_exact_sparsity(sparsity):
    torch.manual_seed(0)
    scores = {"a": torch.randn(37, 11), "b": torch.randn(5, 3)}
    masks = masks_from_scores(scores, sparsity)
    weights = {n: s * masks[n] for n, s in scores.items()}
    assert measured_sparsity(weights) == pytest.approx(round(sparsity * 422) / 422)


def test_impossible_sparsity_and_unknown_scope_are_refused():
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        masks_from_scores({"w": torch.ones(2)}, 1.0)
    with pytest.raises(ValueError, match="unknown scope 'column'; valid scopes: global, layer, row"):
        masks_from_scores({"w": torch.ones(2)}, 0.5, scope="column")


def test_pruned_weights_stay_zero_through_save_and_reload(tiny_bert_dir, tmp_path):
    from prunebench.benchmarks.models import load_model, resolve
    from prunebench.benchmarks.tasks import get_task
    from prunebench.methods._structure import prunable_weights

    task = get_task("sst2")
    model = load_model(resolve(str(tiny_bert_dir)), task)
    weights = prunable_weights(model)
    masks = masks_from_scores({n: w.detach().abs() for n, w in weights.items()}, 0.6)
    with torch.no_grad():
        for name, w in weights.items():
            w.mul_(masks[name])
    model.save_pretrained(tmp_path, safe_serialization=True)
    again = prunable_weights(load_model(resolve(str(tiny_bert_dir)), task, location=str(tmp_path)))
    assert measured_sparsity(again) == pytest.approx(measured_sparsity(weights))
    assert all(torch.equal(again[n] == 0, ~masks[n]) for n in masks)


def test_row_scope_prunes_the_same_share_of_every_output_row():
    """Wanda's comparison group (Sun et al. 2023, sec. 3): each output neuron keeps its own top inputs, so a row of
    large scores cannot take the budget of a row of small ones, as it does under the global scope."""
    from prunebench.methods.masks import masks_from_scores

    scores = {"w": torch.tensor([[1.0, 2.0, 3.0, 4.0], [8.0, 7.0, 6.0, 5.0]])}
    assert masks_from_scores(scores, 0.5, scope="row")["w"].int().tolist() == [[0, 0, 1, 1], [1, 1, 0, 0]]
    assert masks_from_scores(scores, 0.5, scope="global")["w"].int().tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]
    with pytest.raises(ValueError, match="scope 'row' needs 2-D scores"):
        masks_from_scores({"b": torch.ones(4)}, 0.5, scope="row")

"""The efficiency measures on tiny models, against hand counts: FLOPs, parameters, memory and size."""

import pytest
import torch

from prunebench.benchmarks.efficiency import count_params, measure
from prunebench.benchmarks.efficiency.flops import count_flops
from prunebench.benchmarks.efficiency.inputs import synthetic_batch
from prunebench.benchmarks.efficiency.memory import model_bytes, peak_memory_mb
from prunebench.benchmarks.efficiency.size import dense_size_mb, load_sparse, pack, save_sparse, sparse_size_mb, unpack
from prunebench.methods import _shrink
from prunebench.methods._masking import apply_masks, masks_from_scores
from prunebench.methods._structure import prunable_weights

from _tiny import one_thread, tiny_model  # noqa: F401  (autouse fixture: one intra-op thread)

H, LAYERS, HEADS, FFN, LABELS = 32, 2, 4, 64, 2  # tests/conftest.py's tiny BERT


def hand_flops(seq: int, heads: list[int], ffn: list[int], d: int = H // HEADS) -> int:
    """2 FLOPs per multiply-add: per layer Q, K, V and the output projection (each s x H x heads*d),
    Q K^T and P V (each s x s x heads*d), the two FFN matrices (each s x H x ffn); then the pooler
    (first token: H x H) and the classifier (H x labels)."""
    total = 0
    for h, f in zip(heads, ffn):
        width = h * d
        total += 4 * 2 * seq * H * width + 2 * 2 * seq * seq * width + 2 * 2 * seq * H * f
    return total + 2 * H * H + 2 * H * LABELS


@pytest.mark.parametrize("seq", [8, 128])
def test_flops_of_the_tiny_bert_match_a_hand_count(tiny_bert_dir, seq):
    model = tiny_model(tiny_bert_dir)
    flops = count_flops(model, torch.device("cpu"), seq)
    assert flops.dense == hand_flops(seq, [HEADS] * LAYERS, [FFN] * LAYERS)
    assert flops.effective == flops.dense  # a random dense model has no exact zeros


def test_pruned_heads_remove_exactly_their_flops_and_parameters(tiny_bert_dir):
    model = tiny_model(tiny_bert_dir)
    params_before = count_params(model)[0]
    _shrink.prune_heads(model, {0: [1, 3], 1: [0]})
    flops = count_flops(model, torch.device("cpu"), 16)
    assert flops.dense == hand_flops(16, [2, 3], [FFN] * LAYERS)
    d = H // HEADS
    # a head is d rows (+ d biases) of Q, K and V and d columns of the output projection
    assert count_params(model)[0] == params_before - 3 * (3 * (d * H + d) + d * H)


def test_effective_flops_scale_each_linear_by_its_density(tiny_bert_dir):
    model = tiny_model(tiny_bert_dir)
    dense = count_flops(model, torch.device("cpu"), 16)
    apply_masks(model, masks_from_scores({n: w.abs() for n, w in prunable_weights(model).items()}, 0.5, scope="layer"))
    pruned = count_flops(model, torch.device("cpu"), 16)
    encoder_linear = sum(f for name, (f, _) in dense.linears.items() if "encoder" in name)
    assert pruned.dense == dense.dense  # dense kernels still multiply the zeros
    assert pruned.effective == dense.dense - encoder_linear // 2
    assert pruned.of([n for n in dense.linears if "encoder" in n]) == (encoder_linear, encoder_linear // 2)


def test_cpu_peak_memory_holds_the_weights_and_the_activations(tiny_bert_dir):
    model = tiny_model(tiny_bert_dir)
    cpu = torch.device("cpu")
    small, large = (synthetic_batch(model, b, 64, cpu) for b in (1, 16))
    own = model_bytes(model, small) / 2**20
    peak_small = peak_memory_mb(model, lambda: model(**small), small, cpu)
    peak_large = peak_memory_mb(model, lambda: model(**large), large, cpu)
    # at least the FFN activation of the whole batch (16 x 64 x 64 fp32) is alive at one point
    assert own < peak_small < peak_large
    assert peak_large - model_bytes(model, large) / 2**20 >= 16 * 64 * FFN * 4 / 2**20


def test_sparse_format_round_trips_and_stores_zeros_for_free(tiny_bert_dir, tmp_path):
    model = tiny_model(tiny_bert_dir)
    dense_mb = dense_size_mb(model)
    assert sparse_size_mb(model) == pytest.approx(dense_mb, rel=0.01)  # nothing to gain without zeros
    apply_masks(model, masks_from_scores({n: w.abs() for n, w in prunable_weights(model).items()}, 0.9))
    save_sparse(model, tmp_path / "m.safetensors")
    restored = load_sparse(tmp_path / "m.safetensors")
    assert restored.keys() == model.state_dict().keys()
    assert all(torch.equal(restored[k], v) for k, v in model.state_dict().items())
    encoder_mb = sum(w.numel() * 4 for w in prunable_weights(model).values()) / 2**20
    assert sparse_size_mb(model) < dense_mb - 0.8 * encoder_mb  # 90% of the encoder weights cost ~nothing
    tensors, meta = pack({"w": torch.tensor([[0.0, 2.0], [0.0, 0.0]]), "n": torch.arange(3)})
    assert tensors.keys() == {"w.bitmask", "w.values", "n"} and unpack(tensors, meta)["w"].tolist() == [[0, 2], [0, 0]]


def test_a_row_fills_every_efficiency_column_on_cpu(tiny_bert_dir):
    eff = measure(tiny_model(tiny_bert_dir), torch.device("cpu"), repeats=1)
    assert all(v is not None and v > 0 for v in eff.columns().values())
    assert eff.flops == hand_flops(128, [HEADS] * LAYERS, [FFN] * LAYERS)
    assert eff.extras()["flops_effective"] == eff.flops

"""Issue 18's vmap probe computes what K separate runs compute: one vmapped step over K stacked copies of a model
leaves each copy where its own step alone would (no dropout; CPU, float32)."""

import copy
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import probe_vmap_runs

    return probe_vmap_runs


def test_one_vmapped_step_is_each_runs_own_step(probe):
    torch.set_num_threads(1)
    models = probe.make_models(3, probe.TINY_SHAPE, dropout=0.0, device="cpu")
    data = probe.batches(3, batch=4, tokens=12, vocab=probe.TINY_SHAPE["vocab_size"], device="cpu")
    apart = probe.SeparateSteps([copy.deepcopy(m) for m in models], lr=1e-2, bf16=False)
    together = probe.VmappedSteps(models, lr=1e-2, bf16=False)
    for _ in range(2):  # the second step uses AdamW's moments from the first
        losses_apart, losses_together = apart(*data), together(*data)
    assert torch.allclose(losses_apart, losses_together, atol=1e-5)
    for k, model in enumerate(apart.models):
        for name, p in model.named_parameters():
            assert torch.allclose(p, together.params[name][k], atol=1e-5), name
    # and the runs really differ: three models, three losses
    assert len(set(losses_together.tolist())) == 3


def test_bad_ks_are_refused_before_anything_runs(probe, capsys):
    with pytest.raises(SystemExit) as exc:
        probe.main(["--ks", "1,x", "--device", "cpu", "--tiny"])
    assert exc.value.code == 2 and "--ks 1,x" in capsys.readouterr().err


def test_unknown_ways_and_graphs_without_cuda_are_refused(probe, capsys):
    with pytest.raises(SystemExit) as exc:
        probe.main(["--ways", "vmap,fast", "--device", "cpu", "--tiny"])
    assert exc.value.code == 2 and "unknown fast" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        probe.main(["--ways", "vmap-graph", "--device", "cpu", "--tiny"])
    assert exc.value.code == 2 and "need --device cuda" in capsys.readouterr().err

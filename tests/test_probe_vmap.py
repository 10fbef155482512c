"""Issue 18's vmap probe computes what K separate runs compute: one vmapped step over K stacked copies of a model
leaves each copy where its own step alone would (no dropout; CPU, float32)."""

import copy
import json
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


def test_the_compiled_vmapped_step_is_still_each_runs_own_step_in_one_graph(probe, tmp_path):
    """Inductor compiles the whole vmapped forward and backward of K runs as one graph, and what it computes is
    still what each run's own step computes (fused kernels round differently: a looser tolerance)."""
    torch.set_num_threads(1)
    models = probe.make_models(3, probe.TINY_SHAPE, dropout=0.0, device="cpu")
    data = probe.batches(3, batch=4, tokens=12, vocab=probe.TINY_SHAPE["vocab_size"], device="cpu")
    apart = probe.SeparateSteps([copy.deepcopy(m) for m in models], lr=1e-2, bf16=False)
    together = probe.VmappedSteps(models, lr=1e-2, bf16=False, compiled=True)
    for _ in range(2):
        losses_apart, losses_together = apart(*data), together(*data)
    assert torch.allclose(losses_apart, losses_together, atol=1e-4)
    for k, model in enumerate(apart.models):
        for name, p in model.named_parameters():
            assert torch.allclose(p, together.params[name][k], atol=1e-4), name

    out = tmp_path / "vmap.json"
    assert probe.main(["--device", "cpu", "--tiny", "--ks", "2", "--ways", "vmap-compile", "--steps", "1",
                       "--warmup", "1", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["way"] == "vmap-compile" and row["graphs"] == 1 and row["graph_breaks"] == 0


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


def test_profile_names_where_each_steps_time_goes(probe, tmp_path):
    out = tmp_path / "vmap.json"
    assert probe.main(["--device", "cpu", "--tiny", "--ks", "2", "--ways", "vmap", "--steps", "2", "--warmup", "1",
                       "--profile", "2", "--out", str(out)]) == 0
    profiles = json.loads(out.read_text())["profile"]
    assert [(p["way"], p["k"]) for p in profiles] == [("separate", 1), ("vmap", 2)]
    for p in profiles:
        times = [t["ms_per_step"] for t in p["top"]]
        assert times == sorted(times, reverse=True) and times[0] > 0


def test_table_lists_every_way_against_one_graphed_run(probe, tmp_path):
    figures = {"device": "GPU", "torch": "2", "batch": 32, "tokens": 64, "dropout": 0.1, "rows": [
        {"way": "graph", "k": 1, "seconds_per_step": 0.004, "run_steps_per_s": 250.0},
        {"way": "vmap-graph", "k": 16, "seconds_per_step": 0.032, "run_steps_per_s": 500.0},
        {"way": "vmap-graph", "k": 64, "error": "capture failed"}]}
    (tmp_path / "a.json").write_text(json.dumps(figures))
    table = probe.markdown_table([tmp_path / "a.json"])
    assert "| `a.json` | GPU | vmap-graph | 16 | 32.0 | 500.0 | 2.00 |" in table
    assert "failed: capture failed" in table


def test_the_table_splits_a_profiled_step_into_matrix_products_and_the_rest(probe, tmp_path):
    figures = {"device": "GPU", "torch": "2", "batch": 32, "tokens": 64, "dropout": 0.1,
               "rows": [{"way": "vmap", "k": 32, "seconds_per_step": 0.058, "run_steps_per_s": 550.0}],
               "profile": [{"way": "vmap", "k": 32, "top": [
                   {"name": "Optimizer.step#AdamW.step", "ms_per_step": 6.7, "calls_per_step": 1},  # a range, not a kernel
                   {"name": "multi_tensor_apply_kernel", "ms_per_step": 6.5, "calls_per_step": 35},
                   {"name": "nvjet_sm90_tst_192x192", "ms_per_step": 2.0, "calls_per_step": 36},
                   {"name": "ampere_bf16_s16816gemm", "ms_per_step": 1.0, "calls_per_step": 12}]}]}
    (tmp_path / "a.json").write_text(json.dumps(figures))
    table = probe.markdown_table([tmp_path / "a.json"])
    assert "The 3 kernels with the most GPU time: 9.50 ms per step, of which matrix products 3.00 ms." in table
    assert "Optimizer.step" not in table


def test_committed_probe_table_matches_its_json(tmp_path):
    from _generated import rerun

    now, committed = rerun("results/v2/probes/vmap.md", tmp_path / "vmap.md")
    assert now == committed

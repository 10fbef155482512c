"""`prunebench bench-efficiency` on a tiny model: variants, speed paths, the table, merging, bad input."""

import csv

import pytest
import torch

from prunebench.benchmarks.cli import main
from prunebench.benchmarks.efficiency.flops import count_flops
from prunebench.benchmarks.efficiency.table import COLUMNS, merge, read, to_text
from prunebench.benchmarks.efficiency.variants import build, parse_variant
from prunebench.methods import _shrink
from prunebench.methods._masking import follows_nm
from prunebench.methods._structure import prunable_weights

from _tiny import one_thread, tiny_model  # noqa: F401  (autouse fixture: one intra-op thread)

FAST = ["--batches", "2", "--seq-len", "16", "--repeats", "1", "--warmup", "0", "--device", "cpu"]


def bench(model_dir, out, *extra):
    return main(["bench-efficiency", "--model", f"local:{model_dir}", *FAST, "--out", str(out), *extra])


def test_variants_are_built_with_the_methods_pruning_code(tiny_bert_dir):
    base = tiny_model(tiny_bert_dir)
    both = build(parse_variant("head+ffn@0.5"), base)
    assert _shrink.structure(both) == {"heads": [2, 2], "ffn": [32, 32]}
    assert _shrink.structure(build(parse_variant("layer-drop@0.5"), base)) == {"heads": [4], "ffn": [64]}
    two_four = build(parse_variant("magnitude-2of4@0.5"), base)
    assert all(follows_nm(w) for w in prunable_weights(two_four).values())
    assert _shrink.structure(base) == {"heads": [4, 4], "ffn": [64, 64]}  # the base model is left alone


@pytest.mark.parametrize("text", ["sparse@0.5", "head+ffn", "layer-drop@1.5", "magnitude-2of4@0.6", "ffn-pruning@x"])
def test_bad_variants_are_one_line_errors(text, tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "eff.csv"
    assert bench(tiny_bert_dir, out, "--variants", text) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("prunebench: error:") and "\n" not in err and not out.exists()


def test_cuda_asked_for_where_there_is_none_writes_nothing(tiny_bert_dir, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "eff.csv"
    assert main(["bench-efficiency", "--model", f"local:{tiny_bert_dir}", "--device", "cuda", "--out", str(out)]) == 2
    assert "no CUDA device" in capsys.readouterr().err and not out.exists()


def test_a_cpu_bench_fills_the_table_and_keeps_other_devices(tiny_bert_dir, tmp_path):
    out = tmp_path / "eff.csv"
    other = {c: "" for c in COLUMNS} | {"device": "cuda: Some GPU", "model": f"local:{tiny_bert_dir}", "variant": "dense",
                                        "path": "dense-kernels", "batch": "32"}
    out.write_text(to_text([other]))
    code = bench(tiny_bert_dir, out, "--variants", "magnitude-global@0.5,head-pruning@0.5",
                 "--paths", "dense-kernels,structured,torch-csr")
    assert code == 0
    rows = read(out)
    assert [r for r in rows if r["device"] == "cuda: Some GPU"] == [other]
    mine = {(r["variant"], r["path"], r["scope"]): r for r in rows if r["device"].startswith("cpu")}
    assert set(mine) == {("dense", "dense-kernels", "model"), ("dense", "dense-kernels", "linears"),
                         ("magnitude-global@0.5", "dense-kernels", "model"), ("magnitude-global@0.5", "dense-kernels", "linears"),
                         ("magnitude-global@0.5", "torch-csr", "model"), ("magnitude-global@0.5", "torch-csr", "linears"),
                         ("head-pruning@0.5", "structured", "model"), ("head-pruning@0.5", "structured", "linears")}
    base = tiny_model(tiny_bert_dir)
    dense_flops = count_flops(base, torch.device("cpu"), 16).dense
    heads = mine[("head-pruning@0.5", "structured", "model")]
    pruned_flops = count_flops(build(parse_variant("head-pruning@0.5"), base), torch.device("cpu"), 16).dense
    assert int(heads["flops_dense"]) == int(heads["flops_effective"]) == pruned_flops
    assert float(heads["theoretical_speedup"]) == pytest.approx(dense_flops / pruned_flops, rel=1e-5)
    masked = mine[("magnitude-global@0.5", "torch-csr", "linears")]
    assert float(masked["theoretical_speedup"]) == pytest.approx(2.0, rel=1e-5)  # half of every encoder weight
    assert int(masked["params_nonzero"]) < int(masked["params_total"])
    for r in mine.values():
        assert float(r["latency_ms"]) > 0 and float(r["speedup_vs_dense"]) > 0 and r["batch"] == "2"
        assert (r["peak_mem_mb"] != "") == (r["scope"] == "model")
        assert float(r["size_dense_mb"]) > 0 and r["execution"] == "eager"
    assert mine[("dense", "dense-kernels", "model")]["speedup_vs_dense"] == "1"
    # --merge-from folds another device's rows in: its batch 32 row is replaced, its batch 128 row added
    foreign = tmp_path / "gpu.csv"
    foreign.write_text(to_text([{**other, "notes": "again"}, {**other, "batch": "128"}]))
    assert main(["bench-efficiency", "--merge-from", str(foreign), "--out", str(out)]) == 0
    gpu = [(r["batch"], r["notes"]) for r in read(out) if r["device"] == "cuda: Some GPU"]
    assert gpu == [("32", "again"), ("128", "")] and len(read(out)) == len(rows) + 1


def test_the_onnxruntime_path_runs_or_says_why_not(tiny_bert_dir, tmp_path):
    out = tmp_path / "eff.csv"
    assert bench(tiny_bert_dir, out, "--variants", "dense", "--paths", "onnxruntime") == 0
    (row,) = read(out)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        assert row["notes"].startswith("not measured: onnxruntime is not installed") and row["latency_ms"] == ""
    else:
        assert row["execution"] == "onnxruntime" and float(row["latency_ms"]) > 0 and row["speedup_vs_dense"] == "1"


def test_a_foreign_table_is_refused_before_measuring(tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "eff.csv"
    out.write_text("a,b\n1,2\n")
    assert bench(tiny_bert_dir, out, "--variants", "dense") == 2
    assert "is not an efficiency table" in capsys.readouterr().err and out.read_text() == "a,b\n1,2\n"


def test_merge_replaces_the_device_model_and_batch_it_measured_only():
    row = {c: "" for c in COLUMNS}
    old = [row | {"device": "cpu", "model": "m", "batch": "1", "notes": "old"},
           row | {"device": "cpu", "model": "m", "batch": "32", "notes": "old"},
           row | {"device": "cpu", "model": "n", "batch": "32"}, row | {"device": "gpu", "model": "m", "batch": "32"}]
    new = [row | {"device": "cpu", "model": "m", "batch": 32, "notes": "new"}]
    merged = merge(old, new)
    assert [(r["device"], r["model"], r["batch"], r["notes"]) for r in merged] == [
        ("cpu", "m", "1", "old"), ("cpu", "m", "32", "new"), ("cpu", "n", "32", ""), ("gpu", "m", "32", "")]
    assert list(csv.reader(to_text(merged).splitlines()))[0] == list(COLUMNS)


def test_a_bench_of_one_execution_keeps_the_rows_of_the_others():
    """Compiled models are benched on their own (compiling takes minutes); their rows join the eager and
    CUDA-graph rows of the same batch instead of replacing them. Rows that did not run are replaced."""
    row = {c: "" for c in COLUMNS} | {"device": "gpu", "model": "m", "batch": "32"}
    old = [row | {"execution": "eager", "notes": "old"}, row | {"execution": "cuda-graph", "notes": "old"},
           row | {"execution": "compiled", "notes": "old"}, row | {"execution": "", "notes": "not measured"}]
    merged = merge(old, [row | {"execution": "compiled", "notes": "new"}])
    assert sorted((r["execution"], r["notes"]) for r in merged) == [
        ("compiled", "new"), ("cuda-graph", "old"), ("eager", "old")]


@pytest.mark.parametrize(("flag", "message"), [("graph", "unknown execution 'graph'"), (",", "give at least one of")])
def test_an_unknown_execution_is_refused_before_measuring(flag, message, tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "eff.csv"
    assert bench(tiny_bert_dir, out, "--variants", "dense", "--executions", flag) == 2
    err = capsys.readouterr().err
    assert message in err and "\n" not in err.strip() and not out.exists()


def test_a_failed_call_does_not_keep_its_frame_alive():
    """The failure is reported, but without its traceback: a traceback holds the timing frame, and with it
    every CUDA graph of the group, past the point where the bench frees them."""
    from prunebench.benchmarks.efficiency.timing import interleaved_medians

    def fails():
        raise RuntimeError("capture failed")

    result = interleaved_medians({"ok": lambda: None, "bad": fails}, torch.device("cpu"), repeats=3, warmup=1)
    assert isinstance(result["bad"], RuntimeError) and result["bad"].__traceback__ is None
    assert result["ok"] >= 0


def test_each_device_gets_the_paths_that_can_run_there():
    from prunebench.benchmarks.efficiency.paths import applicable

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    names = {v: parse_variant(v) for v in ("dense", "magnitude-global@0.5", "magnitude-2of4@0.5", "head+ffn@0.5")}
    runtimes = ["openvino-fp32", "openvino-bf16", "openvino-int8", "openvino-int8-sparse", "deepsparse-fp32", "deepsparse-int8"]
    assert applicable(names["dense"], cpu) == ["dense-kernels", "onnxruntime", *runtimes]
    assert applicable(parse_variant("dense-repeat"), cpu) == applicable(names["dense"], cpu)
    assert applicable(names["magnitude-global@0.5"], cpu) == ["dense-kernels", "onnxruntime", "torch-csr", *runtimes]
    assert applicable(names["magnitude-2of4@0.5"], cuda) == ["dense-kernels", "semi-structured-2:4"]
    assert applicable(names["magnitude-global@0.5"], cuda) == ["dense-kernels"]
    assert applicable(names["head+ffn@0.5"], cuda) == applicable(names["head+ffn@0.5"], cpu) == ["structured"]


def test_the_two_four_path_says_why_it_cannot_run_on_a_cpu(tiny_bert_dir, tmp_path, capsys):
    from prunebench.benchmarks.efficiency.paths import Unavailable, prepare

    variant = parse_variant("magnitude-2of4@0.5")
    with pytest.raises(Unavailable, match="CUDA only"):
        prepare("semi-structured-2:4", variant, build(variant, tiny_model(tiny_bert_dir)), torch.device("cpu"), torch.float16)
    out = tmp_path / "eff.csv"
    assert bench(tiny_bert_dir, out, "--variants", "magnitude-2of4@0.5", "--paths", "semi-structured-2:4") == 2
    assert "no path of --paths semi-structured-2:4 applies on cpu" in capsys.readouterr().err and not out.exists()


def test_groups_measured_before_a_crash_are_in_the_table(tiny_bert_dir, tmp_path, monkeypatch):
    """A CUDA error takes the process down mid-bench; the (scope, batch) groups timed before it are kept,
    each with its own dense reference."""
    from prunebench.benchmarks.efficiency import bench as bench_module

    measure = bench_module._measure_group

    def crash_on_linears(units, *args):
        if units[0].scope == "linears":
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return measure(units, *args)

    monkeypatch.setattr(bench_module, "_measure_group", crash_on_linears)
    out = tmp_path / "eff.csv"
    with pytest.raises(RuntimeError, match="illegal memory access"):
        bench(tiny_bert_dir, out, "--variants", "head-pruning@0.5", "--paths", "dense-kernels,structured")
    rows = read(out)
    assert sorted((r["variant"], r["scope"]) for r in rows) == [("dense", "model"), ("head-pruning@0.5", "model")]
    assert all(float(r["speedup_vs_dense"]) > 0 and r["latency_ms"] for r in rows)


@pytest.mark.parametrize(("shape", "params"), [("shape:distilbert", 66_955_010), ("shape:bert-base", 109_483_778)])
def test_a_shape_model_has_the_published_models_parameter_count(shape, params):
    """`--model shape:<name>` times an architecture without its weights; it must be that architecture: the
    parameter count of the Hub model with a two-label head."""
    from prunebench.benchmarks.efficiency import shapes

    assert sum(p.numel() for p in shapes.build(shape).parameters()) == params


def test_an_unknown_shape_is_refused_before_anything_is_built(tmp_path, capsys):
    assert main(["bench-efficiency", "--model", "shape:gpt-9", "--out", str(tmp_path / "eff.csv")]) == 2
    assert "valid shapes: shape:bert-base, shape:bert-large, shape:distilbert" in capsys.readouterr().err
    assert not (tmp_path / "eff.csv").exists()


def test_the_bench_attention_gives_the_default_outputs_on_unpadded_inputs(tiny_bert_dir):
    """The bench runs SDPA with no mask in every execution mode (`attention.py`): on inputs without padding
    it must compute exactly what transformers' default SDPA computes, eagerly and compiled."""
    from prunebench.benchmarks.efficiency.attention import NAME, use_unpadded_sdpa
    from prunebench.benchmarks.efficiency.inputs import synthetic_batch

    model = tiny_model(tiny_bert_dir).eval()
    inputs = synthetic_batch(model, 2, 16, torch.device("cpu"), mask=False)
    with torch.no_grad():
        default = model(**inputs).logits
        assert "SDPA without a mask" in use_unpadded_sdpa(model) and model.config._attn_implementation == NAME
        assert torch.allclose(model(**inputs).logits, default, atol=1e-6)
        assert torch.allclose(torch.compile(model)(**inputs).logits, default, atol=1e-5)
        pruned = build(parse_variant("head+ffn@0.5"), model)  # variants are built from the switched model
    assert pruned.config._attn_implementation == NAME


def test_the_bench_attention_builds_no_mask_where_transformers_would():
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

    from prunebench.benchmarks.efficiency.attention import NAME, _register

    _register()
    assert ALL_MASK_ATTENTION_FUNCTIONS[NAME](batch_size=2, q_length=4, kv_length=4) is None


def test_a_two_four_linear_hands_on_row_major_output():
    """Older PyTorch returns the 2:4 product as a transposed view; the path copies it to the layout a dense
    linear gives, and leaves an already row-major output alone (no copy)."""
    from prunebench.benchmarks.efficiency.paths import contiguous_output

    transposed = torch.randn(6, 4).t()
    fixed = contiguous_output(None, (), transposed)
    assert fixed.is_contiguous() and torch.equal(fixed, transposed)
    row_major = torch.randn(4, 6)
    assert contiguous_output(None, (), row_major) is row_major


def test_a_structured_share_that_removes_none_or_all_units_names_the_shares_that_work(tiny_bert_dir, tmp_path, capsys):
    # 2 layers: round(1.8) = 2 would drop both (the bench used to cap it at 1 and time layer-drop@0.5 under this name)
    assert bench(tiny_bert_dir, tmp_path / "eff.csv", "--variants", "dense,layer-drop@0.9") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "prunebench: error: variant layer-drop@0.9: a share of 0.9 of 2 layers removes 2; "
        "a variant must remove at least one and keep one: valid shares are about 0.5")
    # 4 heads a layer: round(0.4) = 0 would time the dense model as a pruned one
    assert bench(tiny_bert_dir, tmp_path / "eff.csv", "--variants", "head-pruning@0.1") == 2
    assert "removes 0; a variant must remove at least one" in capsys.readouterr().err
    assert not (tmp_path / "eff.csv").exists()

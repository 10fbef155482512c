"""The sparse-aware and low-precision CPU runtimes of `prunebench bench-efficiency` (OpenVINO, DeepSparse) on
a tiny model: the shared ONNX export, the DeepSparse worker's protocol, kernel detection, the table's new
columns, and dev-set scoring through a runtime against PyTorch."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from prunebench.benchmarks.cli import main
from prunebench.benchmarks.efficiency import deepsparse_path, onnx_export
from prunebench.benchmarks.efficiency.deepsparse_worker import interleaved, summary
from prunebench.benchmarks.efficiency.paths import Unavailable, prepare
from prunebench.benchmarks.efficiency.table import COLUMNS, OLD_COLUMNS, read
from prunebench.benchmarks.efficiency.variants import build, parse_variant

from _tiny import one_thread, tiny_model  # noqa: F401  (autouse fixture: one intra-op thread)

FAST = ["--batches", "2", "--seq-len", "16", "--repeats", "2", "--warmup", "1", "--device", "cpu"]


def _openvino():
    return pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install -e '.[openvino]')")


@pytest.mark.parametrize("mask", [False, True])
def test_the_export_keeps_batch_and_sequence_axes_dynamic(tiny_bert_dir, tmp_path, mask):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")
    model = tiny_model(tiny_bert_dir)
    path = onnx_export.export(model, str(tmp_path / "m.onnx"), mask=mask)
    axes = onnx_export.dynamic_axes(path)
    assert set(axes) == {"input_ids", "token_type_ids", *(["attention_mask"] if mask else [])}
    assert all(len(dims) == 2 and all(isinstance(d, str) for d in dims) for dims in axes.values())
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for batch, seq in [(1, 5), (3, 40)]:  # neither is the (2, 16) the export traced
        feed = {"input_ids": np.full((batch, seq), 1500, np.int64), "token_type_ids": np.zeros((batch, seq), np.int64)}
        if mask:
            feed["attention_mask"] = np.ones((batch, seq), np.int64)
        with torch.inference_mode():
            expected = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
        np.testing.assert_allclose(session.run(None, feed)[0], expected, atol=1e-4)


def test_the_deepsparse_export_is_readable_by_onnx_1_14(tiny_bert_dir, tmp_path):
    import onnx

    path = onnx_export.export(tiny_model(tiny_bert_dir), str(tmp_path / "m.onnx"), opset=17)
    proto = onnx.load(path)
    assert proto.ir_version <= 8 and {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")} == {17}


def test_the_worker_times_its_models_in_turns_and_keeps_going_past_a_failure():
    order = []

    def broken():
        raise RuntimeError("no kernel for this")

    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b"), "bad": broken}
    out = interleaved(calls, repeats=2, warmup=1)
    assert order == ["a", "b", "a", "b", "b", "a"]  # warm-up a, b; round 0 starts at a, round 1 at b
    assert len(out["a"]) == len(out["b"]) == 2 and isinstance(out["bad"], RuntimeError)
    assert summary([1.0, 2.0, 3.0, 4.0, 5.0]) == {"seconds": [1.0, 2.0, 3.0, 4.0, 5.0], "median_s": 3.0, "q1_s": 2.0, "q3_s": 4.0}


def test_the_worker_answers_a_bad_request_with_one_json_error_and_exit_code_2():
    done = subprocess.run([sys.executable, str(deepsparse_path.WORKER)], input=json.dumps({"task": "train"}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": "bad request: unknown task 'train'; valid tasks: time, run"}


def test_without_a_deepsparse_environment_the_row_names_the_setup_command(tiny_bert_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNEBENCH_DEEPSPARSE_PYTHON", str(tmp_path / "missing" / "python"))
    monkeypatch.setattr(deepsparse_path, "python", lambda: None)
    with pytest.raises(Unavailable, match="setup_deepsparse.sh"):
        prepare("deepsparse-fp32", parse_variant("dense"), tiny_model(tiny_bert_dir), torch.device("cpu"), torch.float32,
                str(tmp_path))


def test_the_deepsparse_worker_times_a_dense_and_a_sparse_model(tiny_bert_dir, tmp_path):
    if deepsparse_path.python() is None:
        pytest.skip(f"no DeepSparse environment here ({deepsparse_path.SETUP} makes it; CPython 3.11, x86 AVX2 or AVX-512)")
    base = tiny_model(tiny_bert_dir)
    jobs = {}
    for name in ("dense", "magnitude-global@0.5"):
        engine = prepare("deepsparse-fp32", parse_variant(name), build(parse_variant(name), base), torch.device("cpu"),
                         torch.float32, str(tmp_path))
        jobs[name] = engine.worker
    got = deepsparse_path.time_group(jobs, batch=2, seq_len=16, repeats=3, warmup=1, threads=1)
    for name in jobs:
        assert got[name]["q1_s"] <= got[name]["median_s"] <= got[name]["q3_s"] and len(got[name]["seconds"]) == 3
        assert got[name]["threads"] == 1 and "DeepSparse" in got[name]["kernels"]
        assert got[name]["runtime_version"] == "deepsparse 1.8.0"


@pytest.mark.parametrize("path, precision", [("openvino-fp32", "f32"), ("openvino-int8", "I8")])
def test_openvino_names_the_kernels_that_ran(tiny_bert_dir, tmp_path, path, precision):
    _openvino()
    base = tiny_model(tiny_bert_dir)
    engine = prepare(path, parse_variant("dense"), build(parse_variant("dense"), base), torch.device("cpu"), torch.float32,
                     str(tmp_path))
    call, _ = engine.call(2, 16)
    call()
    kernels = engine.report()["kernels"]
    # 2 layers x 6 linears + pooler + classifier = 14 linears: every one a FullyConnected node with a named kernel
    fully_connected = sum(int(part.rsplit("x", 1)[1]) for part in kernels.split("; ") if part.startswith("FullyConnected"))
    assert fully_connected == 14 and precision in kernels and "undef" not in kernels
    assert engine.row["threads"] == 1 and engine.row["runtime_version"].startswith("openvino 20")


def test_a_bench_of_the_runtime_groups_fills_every_precision_and_the_noise_row(tiny_bert_dir, tmp_path):
    _openvino()
    out = tmp_path / "eff.csv"
    code = main(["bench-efficiency", "--model", f"local:{tiny_bert_dir}", *FAST, "--out", str(out), "--threads", "1",
                 "--variants", "dense-repeat,magnitude-global@0.5", "--paths", "openvino"])
    assert code == 0
    rows = [r for r in read(out) if r["scope"] == "model"]
    assert {(r["variant"], r["path"]) for r in rows} == {(v, p) for v in ("dense", "dense-repeat", "magnitude-global@0.5")
                                                         for p in ("openvino-fp32", "openvino-bf16", "openvino-int8", "openvino-int8-sparse")}
    for r in rows:
        assert r["execution"] == "openvino" and float(r["latency_ms"]) > 0 and float(r["latency_iqr_ms"]) >= 0
        assert r["kernels"].startswith("FullyConnected") and r["threads"] == "1" and r["load_avg"] != ""
    assert {r["dtype"] for r in rows if r["path"].endswith("int8")} == {"int8"}
    assert all(r["speedup_vs_dense"] == "1" for r in rows if r["variant"] == "dense")


def test_an_efficiency_table_of_the_old_header_is_read_with_the_new_columns_empty(tmp_path):
    old = tmp_path / "old.csv"
    row = {c: "" for c in OLD_COLUMNS} | {"device": "cpu (1 threads)", "variant": "dense", "latency_ms": "28.2"}
    pd.DataFrame([row], columns=list(OLD_COLUMNS)).to_csv(old, index=False)
    (got,) = read(old)
    assert list(got) == list(COLUMNS) and got["latency_ms"] == "28.2" and got["kernels"] == "" and got["load_avg"] == ""


def test_an_unknown_path_lists_the_runtime_groups(tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "eff.csv"
    assert main(["bench-efficiency", "--model", f"local:{tiny_bert_dir}", *FAST, "--out", str(out), "--paths", "tensorrt"]) == 2
    err = capsys.readouterr().err
    assert "tensorrt" in err and "openvino" in err and "deepsparse" in err and not out.exists()


def test_a_dev_set_scored_through_openvino_fp32_matches_pytorch(tiny_bert_dir, tmp_path):
    _openvino()
    from transformers import AutoTokenizer

    from prunebench.benchmarks.efficiency.runtime_accuracy import encode, runtime_logits, score_paths, torch_logits
    from prunebench.benchmarks.tasks import get_task

    model = tiny_model(tiny_bert_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    words = ["good", "bad", "fine", "awful", "great", "dull", "warm", "cold"]
    dev = pd.DataFrame({"sentence": [" ".join(words[i:] + words[:i]) for i in range(8)] * 3, "label": [0, 1] * 12})
    arrays = encode(tokenizer, get_task("sst2"), dev)
    logits, said = runtime_logits("openvino-fp32", model, arrays, arrays, str(tmp_path))
    np.testing.assert_allclose(logits, torch_logits(model, arrays), atol=1e-4)  # the stated tolerance, in logits
    rows = score_paths(model, tokenizer, get_task("sst2"), dev, dev, ["onnxruntime", "openvino-fp32", "openvino-int8"])
    by_path = {r["path"]: r for r in rows}
    # fp32 runtimes compute what PyTorch computes, so the same class for every example
    for path in ("onnxruntime", "openvino-fp32"):
        assert by_path[path]["flipped"] == 0.0 and by_path[path]["score"] == by_path[path]["torch_score"]
        assert by_path[path]["dtype"] == "float32"
    assert by_path["openvino-int8"]["dtype"] == "int8" and 0.0 <= by_path["openvino-int8"]["flipped"] <= 1.0


def test_the_int8_sparse_row_says_whether_sparse_decompression_engaged():
    from prunebench.benchmarks.efficiency.openvino_path import _with_verdict

    dense_kernels = "FullyConnected: brgemm_avx512_I8 x36; FullyConnected: brgemm_avx512_i8 x2"
    sparse_kernels = "FullyConnected: brgemm_avx512_amx_sparse_I8 x30; FullyConnected: brgemm_avx512_I8 x6"
    assert _with_verdict(dense_kernels, "int8-sparse").endswith("(sparse decompression not engaged)")
    assert _with_verdict(sparse_kernels, "int8-sparse").endswith("(sparse decompression in 30 nodes)")
    assert _with_verdict(dense_kernels, "int8") == dense_kernels


@pytest.mark.parametrize("args, message", [(["--paths", "tensorrt"], "tensorrt"), (["--task", "squad"], "squad"),
                                           (["--variant", "sparse@0.5"], "sparse")])
def test_dev_set_scoring_refuses_bad_input_in_one_line(tiny_bert_dir, tmp_path, capsys, args, message):
    from prunebench.benchmarks.efficiency.runtime_accuracy import main as score_main

    out = tmp_path / "acc.csv"
    assert score_main(["--checkpoint", str(tiny_bert_dir), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and not out.exists()


def test_the_deepsparse_worker_leaves_the_callers_file_dynamic(tiny_bert_dir, tmp_path):
    if deepsparse_path.python() is None:
        pytest.skip(f"no DeepSparse environment here ({deepsparse_path.SETUP} makes it; CPython 3.11, x86 AVX2 or AVX-512)")
    model = tiny_model(tiny_bert_dir)
    path = onnx_export.export(model, str(tmp_path / "m.onnx"), mask=True, opset=17)
    arrays = {"input_ids": np.full((3, 9), 1500, np.int64), "token_type_ids": np.zeros((3, 9), np.int64),
              "attention_mask": np.ones((3, 9), np.int64)}
    logits, answer = deepsparse_path.run_logits(path, arrays, batch=2, threads=1, workdir=str(tmp_path))
    with torch.inference_mode():
        expected = model(**{k: torch.from_numpy(v) for k, v in arrays.items()}).logits.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)  # 3 rows in batches of 2: the last one padded and cut
    assert all(isinstance(d, str) for dims in onnx_export.dynamic_axes(path).values() for d in dims)

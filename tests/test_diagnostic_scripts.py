"""Diagnostic scripts refuse what they cannot do in one line, instead of a traceback, before any compute."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the probe would run")
def test_the_2of4_kernel_probe_needs_a_gpu_and_says_so():
    proc = subprocess.run([sys.executable, "scripts/probe_semi_structured.py", "--rows", "128"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["probe_semi_structured.py: 2:4 kernels need a CUDA GPU; none is visible here"]
    assert proc.stdout == ""


def test_the_2of4_kernel_probe_names_the_valid_shape_sets():
    proc = subprocess.run([sys.executable, "scripts/probe_semi_structured.py", "--shapes", "minilm,gpt2"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "probe_semi_structured.py: unknown 'gpt2'; valid: minilm, bert-base, bert-large"


def test_the_graph_crash_repro_refuses_a_malformed_shape_before_touching_cuda():
    proc = subprocess.run([sys.executable, "scripts/repro_graph_linears.py", "--shapes", "768x384", "--then", "384"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == ("repro_graph_linears.py: --shapes and --then want OUTxIN pairs such as 768x384, "
                                   "got '768x384' '384'")


def test_the_movement_diagnosis_names_the_valid_mask_sources():
    proc = subprocess.run([sys.executable, "scripts/diagnose_movement.py", "--sources", "movement,gradient"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "unknown mask source 'gradient'; valid: movement, negated, magnitude, random")
    assert proc.stdout == ""


def load_script(name: str):
    """A script of scripts/ as a module, for the tests that call into its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_probe_times_the_2of4_pattern_of_the_method():
    from prunebench.methods._masking import follows_nm

    probe = load_script("probe_semi_structured")
    weight = torch.arange(1.0, 17.0).reshape(2, 8)
    pruned = probe.two_four(weight)
    assert follows_nm(pruned) and (pruned != 0).sum() == 8
    assert pruned[0].tolist() == [0, 0, 3, 4, 0, 0, 7, 8]  # the two largest of each four kept


@pytest.mark.parametrize("args, message", [
    (["--task", "mnli", "--sparsities", "1.5"], "--sparsities 1.5: a sparsity is a fraction between 0 and 1"),
    (["--task", "mnli", "--seeds", "zero"], "--seeds zero --sparsities 0.5,0.9: comma-separated integers"),
    (["--task", "mnli", "--rows", "nowhere"], "--rows nowhere: no such folder"),
    (["--task", "mnlx"], "unknown task 'mnlx'"),
])
def test_the_grasp_diagnosis_refuses_bad_input_in_one_line(args, message):
    proc = subprocess.run([sys.executable, "scripts/diagnose_grasp.py", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr


def test_the_grasp_diagnosis_counts_the_largest_weights_a_mask_removes():
    diagnose = load_script("diagnose_grasp")
    model = torch.nn.Sequential(torch.nn.Linear(10, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.arange(1.0, 21.0).reshape(2, 10))
    keep = model[0].weight < 19  # prunes the two largest (the top tenth) and nothing else
    line = diagnose.mask_report(model, {"0.weight": keep}, 0.1)
    assert "pruned 100.0% of each matrix's largest-|θ| tenth" in line and "sparsity 10.0%-10.0%" in line
    assert line.endswith("0 empty output rows")


def test_where_training_starts_is_measured_on_the_masked_model_and_the_weights_come_back():
    from transformers import BertConfig, BertForSequenceClassification

    from prunebench.benchmarks.tasks import get_task
    from prunebench.methods.grasp import tempered_loss

    diagnose = load_script("diagnose_grasp")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1,
                                                     num_attention_heads=4, intermediate_size=64, num_labels=2)).eval()
    batch = {"input_ids": torch.randint(0, 100, (8, 12)), "attention_mask": torch.ones(8, 12, dtype=torch.long),
             "labels": torch.randint(0, 2, (8,))}
    loss_fn = tempered_loss(get_task("sst2"), 1.0)
    before = model.classifier.weight.detach().clone()
    # the dense start, computed by hand: the gradient over every trainable parameter, the encoder's [CLS] vectors
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    grads = torch.autograd.grad(loss_fn(model, batch), [p for p in model.parameters() if p.requires_grad])
    by_hand = torch.sqrt(sum((g ** 2).sum() for g in grads)).item()
    cls = model.bert(**inputs).last_hidden_state[:, 0].norm(dim=1).mean().item()
    dense_loss, dense_norm, dense_cls = diagnose.start_of_training(model, {}, [batch], loss_fn)
    assert dense_norm == pytest.approx(by_hand, rel=1e-5) and dense_cls == pytest.approx(cls, rel=1e-5)
    # a head with no weight left (its bias starts at zero) predicts the uniform prior: the loss is ln 2
    no_head = {"classifier.weight": torch.zeros_like(before, dtype=torch.bool)}
    loss, norm, head_cls = diagnose.start_of_training(model, no_head, [batch], loss_fn)
    assert loss == pytest.approx(torch.log(torch.tensor(2.0)).item(), abs=1e-6)
    assert dense_loss != pytest.approx(loss, abs=1e-4) and norm != pytest.approx(dense_norm)
    assert head_cls == pytest.approx(cls, rel=1e-5)  # the encoder is untouched by the head's mask
    assert torch.equal(model.classifier.weight, before)
    with pytest.raises(ValueError, match="no batches"):
        diagnose.start_of_training(model, {}, [], loss_fn)


def test_the_grasp_training_check_cuts_each_ranking_from_graSPs_own_scores(monkeypatch):
    import prunebench.methods.grasp as grasp

    check = load_script("diagnose_grasp_training")
    original = grasp.masks_from_scores
    keep = {"w": torch.tensor([[3.0, -1.0, 2.0, -4.0]])}  # GraSP's keep-scores, -S: the highest kept
    expected = {"grasp": [True, False, True, False], "negated": [False, True, False, True],
                "abs": [True, False, False, True]}
    for ranking, kept in expected.items():
        monkeypatch.setattr(grasp, "masks_from_scores", original)  # each patch starts from the method's own cut
        check.patch(ranking)
        assert grasp.masks_from_scores(keep, 0.5)["w"][0].tolist() == kept
    monkeypatch.setattr(grasp, "masks_from_scores", original)
    check.patch("random")
    torch.manual_seed(3)
    first = grasp.masks_from_scores(keep, 0.5)["w"]
    torch.manual_seed(3)
    assert torch.equal(grasp.masks_from_scores(keep, 0.5)["w"], first) and int(first.sum()) == 2


@pytest.mark.parametrize("args, message", [
    (["--rankings", "grasp,sign"], "unknown ranking 'sign'; valid: grasp, negated, abs, random"),
    (["--out", "results/v2/x"], "diagnostic rows stay out of results/"),
    (["--task", "wnli"], "has no grasp run of wnli at 0.5 with seed 0"),
])
def test_the_grasp_training_check_refuses_bad_input_in_one_line(args, message, tmp_path):
    out = [] if "--out" in args else ["--out", str(tmp_path)]
    proc = subprocess.run([sys.executable, "scripts/diagnose_grasp_training.py", *out, *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr


def test_the_throughput_bench_measures_a_new_way_only_against_an_earlier_v1_way_of_the_same_mix(tmp_path):
    """One H200 fits the saturated mix's v1 way or a new way in a 600 s call, not both: `--after-v1` reads v1's."""
    bench = load_script("bench_grid_throughput")
    root, out = tmp_path / "tp", tmp_path / "out"
    with pytest.raises(ValueError, match="--after-v1 needs the v1 way of an earlier call"):
        bench.earlier_v1(root, out, "--workers 8 --seeds 0,1", 1)
    row = root / "v1" / "results" / "v1" / "runs" / "bench" / "minilm-l6" / "mrpc" / "magnitude-global" / "s0.50-seed0.csv"
    row.parent.mkdir(parents=True)
    row.write_text("method,score\nmagnitude-global,80.0\n")
    out.mkdir()
    bench.write_csv(out / "throughput.csv", [
        {"way": "v1", "flags": "--workers 8 --seeds 0", "gpus": 1, "rows_per_gpu_minute": "5.72"},
        {"way": "v1", "flags": "--workers 8 --seeds 0,1", "gpus": 1, "rows_per_gpu_minute": "6.10"}])
    rows, rate, lines = bench.earlier_v1(root, out, "--workers 8 --seeds 0,1", 1)
    assert rate == 6.10 and len(lines) == 2
    assert [r["score"] for r in rows.values()] == ["80.0"]
    with pytest.raises(ValueError, match="has 0 such line"):  # another GPU count is another mix's rate
        bench.earlier_v1(root, out, "--workers 8 --seeds 0,1", 2)


@pytest.mark.parametrize("flags, rule", [
    (["--ways", "pool8-mps"], "must start with v1"),
    (["--ways", "v1,pool8-mps", "--after-v1"], "must not name v1 with --after-v1"),
    (["--ways", "pool8-mps-lf-compile-warmcache,pool8-mps-lf-compile", "--after-v1"],
     "must name the way a -warmcache way starts from (pool8-mps-lf-compile-warmcache: pool8-mps-lf-compile) before it"),
    (["--ways", "v1,no-such-way"], "names unknown way(s) no-such-way"),
])
def test_the_throughput_bench_refuses_ways_it_cannot_rate_before_any_run(tmp_path, flags, rule):
    proc = subprocess.run([sys.executable, "scripts/bench_grid_throughput.py", "--root", str(tmp_path / "tp"),
                           "--out", str(tmp_path / "out"), *flags], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert rule in proc.stderr.strip()
    assert not (tmp_path / "tp").exists() and not (tmp_path / "out").exists()


def test_the_throughput_bench_changes_the_recipe_of_every_way_alike(tmp_path):
    """`--train attention=eager`: the cohort ways need eager attention on CUDA, so v1 runs the same configs."""
    import yaml

    bench = load_script("bench_grid_throughput")
    assert bench.mix_config(tmp_path, []) == bench.CONFIG
    path = bench.mix_config(tmp_path, ["attention=eager"])
    mix, derived = yaml.safe_load(bench.CONFIG.read_text()), yaml.safe_load(path.read_text())
    assert derived["train"] == {**mix["train"], "attention": "eager"}
    assert {k: v for k, v in derived.items() if k != "train"} == {k: v for k, v in mix.items() if k != "train"}
    proc = subprocess.run([sys.executable, "scripts/bench_grid_throughput.py", "--root", str(tmp_path / "tp"),
                           "--out", str(tmp_path / "out"), "--ways", "v1", "--train", "attention=fast"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert "--train" in proc.stderr and "sdpa, eager" in proc.stderr
    assert not (tmp_path / "tp").exists() and not (tmp_path / "out").exists()


def test_a_way_cut_by_the_calls_time_limit_keeps_its_log_and_says_it_was_cut(tmp_path, monkeypatch):
    """`timeout -s INT` ends a call: the way's run_grid output so far is in its log (call 64 lost it)."""
    import os
    import signal
    import threading

    bench = load_script("bench_grid_throughput")
    slow = tmp_path / "slow_grid.py"
    slow.write_text("import time\nprint('mps: started', flush=True)\ntime.sleep(60)\n")
    monkeypatch.setattr(bench, "RUN_GRID", slow)
    threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT)).start()  # as `timeout -s INT` ends the call
    seconds, output, cut = bench.grid(tmp_path / "way", 1, [])
    assert cut and seconds < 30
    assert "mps: started" in output
    assert output == (tmp_path / "way" / "run_grid.log").read_text()


def test_the_throughput_csv_keeps_a_column_an_earlier_calls_lines_lack(tmp_path):
    bench = load_script("bench_grid_throughput")
    bench.write_csv(tmp_path / "t.csv", [{"way": "v1", "rows": "36"}, {"way": "new", "rows": "20", "finished": False}])
    assert (tmp_path / "t.csv").read_text().splitlines() == ["way,rows,finished", "v1,36,", "new,20,False"]


def test_the_throughput_bench_after_v1_without_an_earlier_call_says_what_is_missing(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/bench_grid_throughput.py", "--root", str(tmp_path / "tp"),
                           "--out", str(tmp_path / "out"), "--ways", "pool8-mps-lf-compile", "--after-v1"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("bench_grid_throughput: --after-v1 needs the v1 way of an earlier call")
    assert not (tmp_path / "tp").exists()


def test_a_new_way_measured_before_v1_is_rated_when_a_later_call_adds_v1(tmp_path, monkeypatch, capsys):
    """`--add`: the cohort way, which may fail, goes first; v1's minutes are spent after it has run, and its
    ratio and agreement are filled in then."""
    import csv

    bench = load_script("bench_grid_throughput")
    seconds = {"warm": 1.0, "v1": 60.0, "pool8-mps-lf-compile-cohort8": 20.0}
    scores = {"v1": 80.0, "pool8-mps-lf-compile-cohort8": 80.25}

    def fake_grid(root, gpus, flags, extra=(), config=bench.CONFIG):  # one MRPC row per way, as run_grid would write
        runs = root / "results" / "v2" / "runs" / "bench-throughput" / "minilm-l6" / "mrpc"
        (runs / "dense").mkdir(parents=True, exist_ok=True)
        if root.name != "warm":
            (runs / "magnitude-global").mkdir(parents=True)
            with open(runs / "magnitude-global" / "s0.50-seed0.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["method", "task", "seed", "target_sparsity", "score", "metrics", "achieved_sparsity"])
                writer.writerow(["magnitude-global", "mrpc", 0, 0.5, scores[root.name], '{"accuracy": 0.8}', 0.5])
        return seconds[root.name], "mps: started", False

    monkeypatch.setattr(bench, "grid", fake_grid)
    common = ["bench", "--root", str(tmp_path / "tp"), "--out", str(tmp_path / "out"), "--seeds", "0", "--add"]
    monkeypatch.setattr(sys, "argv", [*common, "--ways", "pool8-mps-lf-compile-cohort8"])
    assert bench.main() == 0
    (line,) = bench.read_csv(tmp_path / "out" / "throughput.csv")
    assert line["rows_per_gpu_minute"] == "3.00" and line["ratio_to_v1"] == ""  # 1 row in 20 s; no v1 yet
    assert bench.read_csv(tmp_path / "out" / "agreement.csv") == []

    monkeypatch.setattr(sys, "argv", [*common, "--ways", "v1"])
    assert bench.main() == 0
    new, v1 = bench.read_csv(tmp_path / "out" / "throughput.csv")
    assert (v1["way"], v1["rows_per_gpu_minute"], new["ratio_to_v1"]) == ("v1", "1.00", "3.00")
    (agree,) = bench.read_csv(tmp_path / "out" / "agreement.csv")
    assert (agree["way"], agree["diff_score"], agree["within_tolerance"]) == (new["way"], "0.250000", "True")

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", [*common, "--ways", "v1"])  # a second v1 would leave two references
    assert bench.main() == 2
    assert "has the v1 way of this mix already" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [*common[:-3], "--seeds", "0,1", "--add", "--ways", "v1"])  # another mix's files
    assert bench.main() == 2
    assert "of another mix than this call's (--seeds 0,1 on 1 GPU(s))" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--task", "nope"], "--task nope: give a task of the embedded data: cola, mnli, mrpc, qqp, rte, sst2, stsb, wnli"),
    (["--members", "magnitude-global:abc"], "--members magnitude-global:abc: give METHOD:SPARSITY with a sparsity in [0, 1)"),
    (["--members", "magnitude-global:1.5"], "--members magnitude-global:1.5: give METHOD:SPARSITY"),
    (["--members", "nope:0.5"], "unknown method 'nope'"),
    (["--shape", "nope"], "--shape nope: give tiny or one of bert-base, bert-large, minilm-l6, distilbert"),
    (["--set", "attention=flash"], "--set attention: 'flash' is not one of sdpa, eager"),
    (["--out", "/no/such/folder/figures.json"], "--out /no/such/folder/figures.json: its folder /no/such/folder does not exist"),
])
def test_the_cohort_check_refuses_bad_input_in_one_line_before_making_anything(tmp_path, flags, message):
    import os

    proc = subprocess.run([sys.executable, "scripts/check_cohort.py", *flags], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)})  # where its scratch model would go
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("check_cohort.py: error: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_check_cohort_counts_a_cohorts_shared_training_seconds_once(tmp_path):
    """Runs alone add their training seconds; members trained together share theirs, so K runs' steps in one
    shared second are K run-steps per second, the batched step's gain over the runs one after another."""
    check_cohort = load_script("check_cohort")

    def sidecar(name: str, steps: int, seconds: float, cohort: list[str] | None = None) -> dict:
        """A run's sidecar as `run` writes it beside its row, read back as `check_cohort.sidecars` reads it."""
        row = tmp_path / f"{name}.csv"
        side = {"train_loss": [[steps // 2, 0.7], [steps, 0.6]] if steps else [],
                "profile": {"graph capture": 9.0, "training steps": seconds}}
        if cohort:
            side["cohort"] = {"size": len(cohort), "run_ids": cohort}
        row.with_suffix(".json").write_text(json.dumps(side))
        (read,) = check_cohort.sidecars([(row, None)])
        return read

    alone = [sidecar("a0", 100, 2.0), sidecar("a1", 100, 3.0)]
    together = [sidecar("t0", 100, 1.25, ["r0", "r1"]), sidecar("t1", 100, 1.25, ["r0", "r1"])]
    assert check_cohort.run_steps_per_s(alone) == 40.0
    assert check_cohort.run_steps_per_s(together) == 160.0
    assert check_cohort.rate_text(160.0, 40.0) == "160.0 run-steps/s in training steps (4.00x the runs alone)"
    assert check_cohort.run_steps_per_s([sidecar("none", 0, 0.0)]) is None

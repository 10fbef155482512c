"""How a run's training steps execute (`step_mode`): eager, compiled, graphed, or compiled inside graphs.

The graphed modes need CUDA; what can be checked on the CPU is the plan of eager, captured and replayed
steps, how each `step_mode` resolves for a method and device, and that the compiled model draws dropout
from the eager random stream.
"""

import json
from types import SimpleNamespace

import pytest
import torch

from prunebench.benchmarks.config import TrainConfig
from prunebench.benchmarks.records import read_rows
from prunebench.benchmarks.train import CapturePlan, step_mode

STATIC, DYNAMIC = SimpleNamespace(static_step=True), SimpleNamespace(static_step=False)
SHRINKING = SimpleNamespace(static_step=True, kind="structured")
CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def plan_of(plan: CapturePlan, lengths: list[int]) -> list[str]:
    return [plan.next(n) for n in lengths]


def test_a_graphed_run_captures_each_length_once_after_three_eager_steps():
    assert plan_of(CapturePlan(), [32, 48, 32, 32, 48, 64, 64, 32]) == [
        "eager", "eager", "eager", "capture", "capture", "capture", "replay", "replay"]


def test_a_compiled_graphed_run_also_steps_eagerly_through_each_new_length_before_capturing_it():
    """Compilation cannot run inside a capture: the first step of a length compiles it, the second captures."""
    assert plan_of(CapturePlan(eager_per_length=True), [32, 48, 32, 32, 48, 64, 64, 32, 64]) == [
        "eager", "eager", "eager", "capture", "capture", "eager", "capture", "replay", "replay"]


@pytest.mark.parametrize("asked, device, method, mode", [
    ("auto", CUDA, STATIC, "cuda-graphs"),
    ("auto-compile", CUDA, STATIC, "compile-graphs"),
    ("auto", CUDA, DYNAMIC, "eager"),
    ("auto-compile", CUDA, DYNAMIC, "eager"),  # a grid-wide setting: methods with a changing step stay eager
    ("auto-compile", CUDA, SHRINKING, "cuda-graphs"),  # each run's shapes would compile anew
    ("auto", CUDA, SHRINKING, "cuda-graphs"),
    ("auto-compile", CPU, STATIC, "eager"),
    ("compile", CPU, DYNAMIC, "compile"),
    ("eager", CUDA, STATIC, "eager"),
])
def test_step_mode_resolves_by_device_and_method(asked, device, method, mode):
    assert step_mode(TrainConfig(step_mode=asked), device, method) == mode


def test_cuda_graphs_asked_for_where_they_cannot_run_is_an_error():
    with pytest.raises(ValueError, match="cuda-graphs needs a CUDA device"):
        step_mode(TrainConfig(step_mode="cuda-graphs"), CPU, STATIC)


def test_auto_compile_on_the_cpu_makes_the_auto_row(tiny_bert_dir, run_cli, tmp_path):
    """`step_mode` is not hashed: a grid run with auto-compile is the same config, and on the CPU the same row."""
    rows = []
    for mode in ("auto", "auto-compile"):
        code, out = run_cli(tiny_bert_dir, method="magnitude-global", out=tmp_path / f"{mode}.csv",
                            extra=["--set", f"step_mode={mode}"])
        assert code == 0
        rows.append(read_rows(out)[0])
        assert json.loads(out.with_suffix(".json").read_text())["step_mode"] == "eager"  # what ran, in the sidecar
    for column in ("score", "metrics", "achieved_sparsity", "config_hash"):
        assert rows[0][column] == rows[1][column]


def test_the_compiled_model_draws_the_eager_dropout_masks(tiny_bert_dir, run_cli, tmp_path, monkeypatch):
    """With Inductor's own fused random numbers a compiled run would be another run; drawing from the eager
    generator calls keeps its training loss on the eager run's, up to the fused kernels' rounding."""
    curves = []
    for mode in ("eager", "compile"):
        monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / mode))  # each fine-tunes its own dense checkpoint
        code, out = run_cli(tiny_bert_dir, method="dense", sparsity=0.0, out=tmp_path / f"{mode}.csv",
                            extra=["--set", f"step_mode={mode}", "--set", "max_train_samples=32"])
        assert code == 0
        curves.append(json.loads(out.with_suffix(".json").read_text())["dense_train_loss"])
    assert curves[0] and [step for step, _ in curves[0]] == [step for step, _ in curves[1]]
    for (_, eager), (_, compiled) in zip(*curves):
        assert compiled == pytest.approx(eager, rel=1e-5)  # 1.4e-4 apart with Inductor's own random numbers


@pytest.mark.parametrize("method", ["magnitude-global", "gradual-magnitude-global", "movement", "lottery-ticket"])
def test_writing_gradients_instead_of_accumulating_them_changes_no_row(method, tiny_bert_dir, run_cli, tmp_path,
                                                                        monkeypatch):
    """auto-compile's step also lets backward write fresh gradients (`fresh_grads`); on the CPU, where kernels are
    deterministic, every loss of the run and its row are the zeroed-gradient run's, bit for bit. The methods:
    a one-shot mask, masks changed in place between steps, a method loss with learned scores, inner trainings."""
    from prunebench.benchmarks import train

    results = []
    for fresh in (False, True):
        init = train.TrainStep.__init__

        def forced(self, *args, _init=init, _fresh=fresh, **kwargs):
            _init(self, *args, **kwargs)
            self.fresh_grads = _fresh

        monkeypatch.setattr(train.TrainStep, "__init__", forced)
        monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / f"cache-{fresh}"))  # the dense fine-tune too
        code, out = run_cli(tiny_bert_dir, method=method, out=tmp_path / f"{method}-{fresh}.csv")
        assert code == 0
        sidecar = json.loads(out.with_suffix(".json").read_text())
        row = read_rows(out)[0]
        results.append([sidecar["dense_train_loss"], sidecar["train_loss"], sidecar["inner_train_loss"],
                        row["score"], row["metrics"], row["achieved_sparsity"]])
    assert results[0][1] and results[0] == results[1]


def test_auto_compile_hands_the_graphed_step_a_compiled_model_fresh_gradients_and_per_length_warm_up(
        tiny_bert_dir, run_cli, tmp_path, monkeypatch):
    """The wiring of `compile-graphs`, which only a CUDA device reaches: here the mode is forced and the graph
    stands in as a plain call, so the run trains eagerly on the CPU through the same objects."""
    from prunebench.benchmarks import train

    seen = {}

    class EagerStandIn:
        def __init__(self, step, plan):
            seen.update(fresh_grads=step.fresh_grads, per_length=plan.eager_per_length)
            self.step, self.running, self.capture_seconds = step, step.running, 0.0

        def __call__(self, index, length):
            self.step(index, length)

    monkeypatch.setattr(train, "step_mode", lambda cfg, device, method: "compile-graphs")
    monkeypatch.setattr(train, "GraphedTrainStep", EagerStandIn)
    monkeypatch.setattr(train, "_compiled", lambda model: seen.setdefault("compiled", True) and model)
    code, out = run_cli(tiny_bert_dir, method="magnitude-global", out=tmp_path / "row.csv")
    assert code == 0 and seen == {"fresh_grads": True, "per_length": True, "compiled": True}
    assert json.loads(out.with_suffix(".json").read_text())["step_mode"] == "compile-graphs"

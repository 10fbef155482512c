"""2:4 semi-structured magnitude pruning: the pattern, its fixed sparsity, and that it survives recovery training."""

from pathlib import Path

import pytest
import torch

from prunebench.benchmarks.config import RunConfig, TrainConfig
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.runner import Run, prepare
from prunebench.benchmarks.train import finetune
from prunebench.benchmarks.workflow_config import check_config, load_yaml
from prunebench.methods._masking import follows_nm, nm_masks
from prunebench.methods._structure import prunable_weights
from prunebench.methods.registry import get

from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)

ROOT = Path(__file__).resolve().parent.parent
TINY_TRAIN = TrainConfig(epochs=1, recovery_epochs=1, batch_size=16, max_train_samples=48, max_eval_samples=16, bench_repeats=1,
                         progress=False)


def test_two_largest_of_every_four_inputs_are_kept():
    w = torch.tensor([[0.1, -3.0, 2.0, 0.01, 5.0, 5.0, 5.0, 0.0],
                      [1.0, 1.0, 1.0, 1.0, -0.2, 0.3, -0.4, 0.1]])
    mask = nm_masks({"w": w.abs()})["w"]
    assert mask.int().tolist() == [[0, 1, 1, 0, 1, 1, 0, 0],  # ties keep the earlier position
                                   [1, 1, 0, 0, 0, 1, 1, 0]]
    assert follows_nm(w * mask) and not follows_nm(w)


def test_a_width_without_whole_groups_is_refused():
    with pytest.raises(ValueError, match="no whole groups of 4"):
        nm_masks({"w": torch.ones(3, 6)})


def test_only_half_sparsity_is_valid_before_anything_runs(tiny_bert_dir):
    cfg = RunConfig(model=f"local:{tiny_bert_dir}", task="sst2", method="magnitude-2of4", sparsity=0.7,
                    train=TINY_TRAIN, data_source="embedded")
    with pytest.raises(UsageError, match=r"fixed sparsity: got 0.7, valid: 0.5"):
        prepare(cfg)
    config = load_yaml(ROOT / "config" / "smoke.yaml")
    config["methods"] = {"magnitude-2of4": {"sparsities": [0.5, 0.6]}}
    with pytest.raises(UsageError, match=r"methods.magnitude-2of4.sparsities: .*got 0.6, valid: 0.5"):
        check_config(config)


@pytest.mark.parametrize("folder", ["tiny_bert_dir", "tiny_distilbert_dir"])
def test_the_pattern_holds_after_recovery_training(folder, request):
    cfg = RunConfig(model=f"local:{request.getfixturevalue(folder)}", task="sst2", method="magnitude-2of4", sparsity=0.5,
                    train=TINY_TRAIN, data_source="embedded")
    prep = prepare(cfg)
    run = Run(prep, torch.device("cpu"))
    model = run.pretrained()
    before = {n: w.detach().clone() for n, w in prunable_weights(model).items()}
    ctx = run.context(0.5)
    model, stats = finetune(model, get("magnitude-2of4")(), ctx, run.train, TINY_TRAIN, 1, 1e-3, 0)
    weights = prunable_weights(model)
    assert stats.steps > 0
    assert all(follows_nm(w) for w in weights.values())
    assert sum(int((w == 0).sum()) for w in weights.values()) == sum(w.numel() for w in weights.values()) // 2
    # the kept weights trained (recovery happened) and the zeros stayed where the initial magnitudes put them
    assert any(not torch.equal(weights[n][ctx.masks[n].bool()], before[n][ctx.masks[n].bool()]) for n in weights)
    assert all(torch.equal(ctx.masks[n].bool(), nm_masks({n: before[n].abs()})[n]) for n in weights)

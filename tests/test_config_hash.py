"""config_hash covers everything that can move a score, and nothing that cannot (pitfall 1 of STYLE.md)."""

import dataclasses

import pytest

from prunebench.benchmarks.config import NOT_HASHED, RunConfig, TrainConfig, parse_overrides
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.runner import prepare


@pytest.fixture
def base(tiny_bert_dir):
    return RunConfig(model=f"local:{tiny_bert_dir}", task="sst2", method="magnitude-global", sparsity=0.5,
                     train=TrainConfig(max_train_samples=64), data_source="embedded")


CHANGES = {
    "task": dict(task="rte"),
    "method": dict(method="magnitude-layerwise"),
    "sparsity": dict(sparsity=0.6),
    "seed": dict(seed=1),
    "data_source": dict(data_source="auto"),  # GLUE_DIR instead of the embedded sample
}


@pytest.mark.parametrize("field", list(CHANGES))
def test_each_run_coordinate_changes_the_hash(base, field, monkeypatch, tmp_path):
    if field == "data_source":
        import shutil
        from prunebench.benchmarks import data

        glue = tmp_path / "glue"
        shutil.copytree(data.EMBEDDED_DIR / "sst2", glue / "sst2")
        (glue / "sst2" / "train.parquet").write_bytes((data.EMBEDDED_DIR / "sst2" / "train.parquet").read_bytes())
        monkeypatch.setenv("GLUE_DIR", str(glue))
    assert prepare(base).config_hash != prepare(dataclasses.replace(base, **CHANGES[field])).config_hash


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(TrainConfig)])
def test_training_fields_change_the_hash_unless_they_only_change_speed(base, field):
    value = getattr(base.train, field)
    new = {bool: lambda v: not v, int: lambda v: v + 1, float: lambda v: v / 2, str: None}[type(value)]
    if new is None:  # Literal fields: pick another allowed value
        import typing

        options = typing.get_args(typing.get_type_hints(TrainConfig)[field])
        changed = next(o for o in options if o != value)
    else:
        changed = new(value)
    other = dataclasses.replace(base, train=dataclasses.replace(base.train, **{field: changed}))
    same = prepare(base).config_hash == prepare(other).config_hash
    assert same == (field in NOT_HASHED)


def test_overrides_are_typed():
    cfg = parse_overrides(TrainConfig(), ["lr=3e-5", "epochs=10", "bf16=false", "schedule=polynomial"])
    assert (cfg.lr, cfg.epochs, cfg.bf16, cfg.schedule) == (3e-5, 10.0, False, "polynomial")
    with pytest.raises(UsageError, match="--set schedule: 'cosine' is not one of linear, polynomial, constant"):
        parse_overrides(TrainConfig(), ["schedule=cosine"])
    with pytest.raises(UsageError, match="--set: expected key=value, got 'lr'"):
        parse_overrides(TrainConfig(), ["lr"])


def test_the_recovery_recipe_moves_pruned_rows_but_not_the_dense_row(base):
    """A recovery sweep shares one dense row: the dense baseline never runs the recovery phase."""
    other = dataclasses.replace(base.train, recovery_lr=1e-4, recovery_epochs=5.0)
    assert prepare(base).config_hash != prepare(dataclasses.replace(base, train=other)).config_hash
    dense = dataclasses.replace(base, method="dense", sparsity=0.0)
    assert prepare(dense).config_hash == prepare(dataclasses.replace(dense, train=other)).config_hash
    assert prepare(dense).config_hash != prepare(dataclasses.replace(dense, train=dataclasses.replace(other, lr=1e-4))).config_hash


@pytest.mark.parametrize("field, value", [("attention", "eager"), ("pad_to_multiple", 64)])
def test_a_field_added_after_rows_were_published_leaves_their_identity_unless_set(base, field, value):
    """`attention` came after v1 and v2 were published, and `pad_to_multiple` was taken for a speed knob until it was
    found to change the dropout draws: at their defaults they are not in a run's identity (every earlier row keeps its
    run_id), set they are."""
    changed = dataclasses.replace(base, train=dataclasses.replace(base.train, **{field: value}))
    assert field not in prepare(base).identity()["train"]
    assert prepare(changed).identity()["train"][field] == value
    assert {k: v for k, v in prepare(changed).identity()["train"].items() if k != field} == prepare(base).identity()["train"]


def test_padding_changes_the_dropout_draws_so_it_is_part_of_a_run(tiny_bert_dir):
    """Why `pad_to_multiple` is hashed when set: dropout fills the padded shape from the generator, so the same
    sentences padded further get other masks on their real tokens (the cohort ways' SST-2 rows, padded to 64, left
    the GPU tolerance of the v1 way's: results/v2, call 67). Without dropout, padding changes nothing."""
    import torch

    from _tiny import tiny_model

    model = tiny_model(tiny_bert_dir)
    ids = torch.randint(1000, 2000, (2, 5), generator=torch.Generator().manual_seed(0))

    def logits(padded_length: int, train: bool) -> torch.Tensor:
        batch = torch.zeros(2, padded_length, dtype=torch.long)
        batch[:, :5] = ids
        model.train(train)
        torch.manual_seed(0)
        return model(input_ids=batch, attention_mask=(batch != 0).long()).logits

    assert torch.allclose(logits(8, train=False), logits(64, train=False), atol=1e-6)
    assert torch.equal(logits(8, train=True), logits(8, train=True))  # the same draws at the same padding
    assert not torch.allclose(logits(8, train=True), logits(64, train=True), atol=1e-3)

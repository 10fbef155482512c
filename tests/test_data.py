"""GLUE data sources: checksums, checks on content, fallback order, QQP subset, sampling, token cache."""

import shutil

import pandas as pd
import pytest

from prunebench.benchmarks import data
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.tasks import get_task


@pytest.fixture
def glue_dir(tmp_path, monkeypatch):
    """A GLUE_DIR made of the embedded sst2/rte/qqp/mnli files, with a manifest of their checksums."""
    tasks = ["sst2", "rte", "qqp", "mnli"]
    for task in tasks:
        shutil.copytree(data.EMBEDDED_DIR / task, tmp_path / task)
    manifest = pd.read_csv(data.EMBEDDED_DIR / "MANIFEST.tsv", sep="\t")
    manifest[manifest.task.isin(tasks)].to_csv(tmp_path / "MANIFEST.tsv", sep="\t", index=False)
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    data._verified_file.cache_clear()
    data._manifest.cache_clear()
    yield tmp_path
    data._verified_file.cache_clear()
    data._manifest.cache_clear()


def test_glue_dir_is_read_and_verified(glue_dir):
    splits = data.load_splits(get_task("rte"), "glue_dir")
    assert splits.source == "glue_dir"
    assert list(splits.evals) == ["validation"]
    assert list(splits.train.columns) == ["sentence1", "sentence2", "label"]


def test_an_altered_file_fails_naming_it(glue_dir):
    path = glue_dir / "rte" / "validation.parquet"
    df = pd.read_parquet(path)
    df.loc[0, "label"] = 1 - df.loc[0, "label"]
    df.to_parquet(path)
    with pytest.raises(UsageError, match=r"rte/validation\.parquet: sha256 does not match"):
        data.load_splits(get_task("rte"), "glue_dir")


def test_a_truncated_file_fails_naming_it(glue_dir):
    path = glue_dir / "rte" / "train.parquet"
    path.write_bytes(path.read_bytes()[:100])
    (glue_dir / "MANIFEST.tsv").unlink()  # without a manifest, the parquet reader catches it
    with pytest.raises(UsageError, match=r"rte/train\.parquet: not a readable parquet file"):
        data.load_splits(get_task("rte"), "glue_dir")


def test_missing_column_and_foreign_labels_are_refused():
    task = get_task("rte")
    with pytest.raises(UsageError, match=r"x\.parquet: missing column\(s\) \['sentence2'\]"):
        data.check_table(pd.DataFrame({"sentence1": ["a"], "label": [0]}), task, "x.parquet")
    with pytest.raises(UsageError, match=r"label values \[7\] are not rte labels \[0, 1\]"):
        data.check_table(pd.DataFrame({"sentence1": ["a"], "sentence2": ["b"], "label": [7]}), task, "x.parquet")


def test_auto_falls_back_to_the_embedded_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUE_DIR", str(tmp_path / "nowhere"))
    splits = data.load_splits(get_task("sst2"), "auto")
    assert splits.source == "embedded"
    assert len(splits.train) == 2000


def test_a_task_without_training_data_says_what_is_available(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(UsageError, match=r"no source has all splits \['train', 'validation'\] of qnli.*complete local data in glue_dir or embedded: .*sst2.*qqp, mnli"):
        data.load_splits(get_task("qnli"))


def test_a_missing_task_lists_only_what_the_asked_source_holds(monkeypatch, tmp_path):
    """A GLUE_DIR holding CoLA alone: QQP is missing there, and the embedded sample's QQP is no answer to a run
    that asked for glue_dir."""
    (tmp_path / "cola").mkdir()
    for split in ("train", "validation"):
        pd.DataFrame({"sentence": ["a b", "c d"], "label": [0, 1]}).to_parquet(tmp_path / "cola" / f"{split}.parquet")
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    with pytest.raises(UsageError, match=r"of qqp \(tried glue_dir; .*complete local data in glue_dir: cola$"):
        data.load_splits(get_task("qqp"), "glue_dir")


def test_local_sources_are_named_and_the_message_shows_the_folder(monkeypatch, tmp_path):
    (tmp_path / "cola").mkdir()
    for split in ("train", "validation"):
        pd.DataFrame({"sentence": ["a b", "c d"], "label": [0, 1]}).to_parquet(tmp_path / "cola" / f"{split}.parquet")
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    assert data.local_sources(get_task("cola")) == {"glue_dir": tmp_path, "embedded": data.EMBEDDED_DIR}
    assert data.available_sources(get_task("cola")) == [f"glue_dir ({tmp_path})", "embedded"]
    assert data.local_sources(get_task("qnli")) == {}


def test_qqp_trains_on_the_whole_subset_and_is_scored_on_the_official_dev_set(glue_dir):
    splits = data.load_splits(get_task("qqp"), "glue_dir")
    assert splits.source == "glue_dir:qqp-train-subset"
    assert len(splits.train) == len(pd.read_parquet(glue_dir / "qqp" / "train_subset.parquet"))
    assert list(splits.evals) == ["validation"]
    assert len(splits.evals["validation"]) == len(pd.read_parquet(glue_dir / "qqp" / "validation.parquet"))


def test_mnli_low_resource_trains_on_dev_mismatched_and_scores_on_dev_matched_only(glue_dir):
    splits = data.load_splits(get_task("mnli"), "glue_dir")
    assert splits.source == "glue_dir:mnli-train-mismatched"
    mismatched = pd.read_parquet(glue_dir / "mnli" / "validation_mismatched.parquet")
    assert splits.train["premise"].tolist() == mismatched["premise"].tolist()
    assert list(splits.evals) == ["validation_matched"]  # the training file is never scored on
    assert set(splits.train["label"]) == {0, 1, 2}


def test_v1_qqp_subset_is_split_once_into_disjoint_train_and_heldout(glue_dir):
    """Without QQP's dev set (v1's GLUE_DIR) the sample is split 90/10, as v1's archived rows were."""
    (glue_dir / "qqp" / "validation.parquet").unlink()
    splits = data.load_splits(get_task("qqp"), "glue_dir")
    assert splits.source == "glue_dir:qqp-subset"
    train, heldout = splits.train, splits.evals["validation"]
    assert len(train) + len(heldout) == 2000 and len(heldout) == 200
    pairs = lambda df: set(zip(df.question1, df.question2))  # noqa: E731
    assert not pairs(train) & pairs(heldout)
    assert data.load_splits(get_task("qqp"), "glue_dir").fingerprint == splits.fingerprint


def test_subsample_is_fixed_and_keeps_order():
    df = pd.DataFrame({"x": range(100)})
    a, b = data.subsample(df, 10), data.subsample(df, 10)
    assert a.x.tolist() == b.x.tolist() == sorted(a.x.tolist())
    assert data.subsample(df, None) is df and data.subsample(df, 1000) is df


@pytest.mark.parametrize("task, source, metrics", [
    ("qqp", "embedded:qqp-train-subset", {"f1", "accuracy"}),
    ("mnli", "embedded:mnli-train-mismatched", {"accuracy"}),  # dev-matched only: dev-mismatched is trained on
])
def test_qqp_and_mnli_low_resource_run_end_to_end_offline(task, source, metrics, tiny_bert_dir, run_cli):
    import json

    from prunebench.benchmarks.records import read_rows
    from prunebench.benchmarks.validate_results import validate_results

    code, out = run_cli(tiny_bert_dir, task=task, method="magnitude-pretrained", sparsity=0.5)
    (row,) = read_rows(out)
    assert code == 0 and row["task"] == task and row["data_source"] == source and row["train_examples"] == "64"
    assert set(json.loads(row["metrics"])) == metrics
    assert not validate_results(out).problems


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False)])
def test_the_hub_is_off_for_every_value_huggingface_hub_takes_as_true(monkeypatch, value, off):
    """The loader and `prunebench validate` read HF_HUB_OFFLINE alike (benchmarks/offline.py)."""
    from prunebench.benchmarks.offline import switched_off

    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    assert switched_off("HF_HUB_OFFLINE") is off
    if off:  # never reaches for `datasets`: no Hub call, no import
        assert data._hub_splits(get_task("rte")) is None


def test_the_first_variable_set_decides_as_the_hub_libraries_read_them(monkeypatch):
    """datasets reads HF_DATASETS_OFFLINE before HF_HUB_OFFLINE; huggingface_hub reads HF_HUB_OFFLINE before
    TRANSFORMERS_OFFLINE (benchmarks/offline.py)."""
    from prunebench.benchmarks.offline import HUB_DATA, HUB_MODELS, deciding

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    assert deciding(*HUB_DATA) is None and deciding(*HUB_MODELS) == "HF_HUB_OFFLINE"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert deciding(*HUB_MODELS) == "TRANSFORMERS_OFFLINE"

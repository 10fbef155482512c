"""Tokenised splits cached on disk, and the length-grouped, dynamically padded batches the loop consumes.

A split is tokenised once per (tokenizer, task, split, max_len, data checksum) into flat ``uint16`` token
ids (``int32`` when the vocabulary does not fit) plus offsets, the length of the first segment (from which
``token_type_ids`` are rebuilt) and labels. The same arrays are what `prunebench prepare` ships to the GPU
machine. Batches are padded only to the longest member rounded up to ``pad_to_multiple``, so a sentence
task like SST-2 runs on short tensors with a handful of distinct shapes (which compiled models need).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .atomic import write_atomic
from .tasks import GlueTask

CACHE_FORMAT = 1
log = logging.getLogger("prunebench")


@dataclass(frozen=True)
class Encoded:
    """One tokenised split: ragged token ids + per-example facts."""

    ids: np.ndarray  # flat token ids, uint16 or int32
    offsets: np.ndarray  # int64, len n+1: example i is ids[offsets[i]:offsets[i+1]]
    first_len: np.ndarray  # int16: tokens in the first segment incl. [CLS] and [SEP] (token_type 0)
    labels: np.ndarray  # int64 classes or float32 regression targets

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def padded(self, max_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Dense [n, max_len] ids (0-padded) and token types: the GPU-resident form."""
        n = len(self)
        pos = np.arange(max_len)
        lengths = self.lengths
        ids = np.zeros((n, max_len), dtype=np.int32)
        valid = pos[None, :] < lengths[:, None]
        ids[valid] = self.ids.astype(np.int32)
        types = ((pos[None, :] >= self.first_len[:, None]) & valid).astype(np.int8)
        return ids, types


def tokenizer_fingerprint(tokenizer) -> str:
    """Changes when the vocabulary or the normalisation of the tokenizer changes.

    The backend's truncation and padding settings are left out: a call with ``truncation=True`` stores
    them in the backend, so they reflect the last call, not the tokenizer, and would make the key of a
    split depend on which split happened to be tokenised before it in this process.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        payload = json.dumps(state, sort_keys=True)
    else:
        payload = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def encode(tokenizer, df: pd.DataFrame, task: GlueTask, max_len: int) -> Encoded:
    columns = [df[c].tolist() for c in task.fields]
    enc = tokenizer(*columns, truncation=True, max_length=max_len, return_token_type_ids=True, return_attention_mask=False)
    lengths = np.fromiter((len(x) for x in enc["input_ids"]), dtype=np.int64, count=len(df))
    offsets = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    dtype = np.uint16 if len(tokenizer) <= np.iinfo(np.uint16).max + 1 else np.int32
    ids = np.fromiter((t for seq in enc["input_ids"] for t in seq), dtype=dtype, count=int(offsets[-1]))
    # token_type_ids are 0 for the first segment and 1 after it; store where the switch happens
    first_len = np.array([len(tt) - sum(tt) for tt in enc["token_type_ids"]], dtype=np.int16)
    labels = df["label"].to_numpy(np.float32 if task.is_regression else np.int64)
    return Encoded(ids, offsets, first_len, labels)


def _consistent(enc: Encoded, n: int) -> bool:
    """The arrays describe `n` examples and fit together (a copied or edited entry may not)."""
    return (len(enc.labels) == n and len(enc.first_len) == n and len(enc.offsets) == n + 1 and enc.offsets[0] == 0
            and enc.offsets[-1] == len(enc.ids) and bool(np.all(np.diff(enc.offsets) >= 0)))


def cache_dir() -> Path:
    return Path(os.environ.get("PRUNEBENCH_CACHE", ".cache/prunebench"))


def cached_encode(tokenizer, df: pd.DataFrame, task: GlueTask, split: str, max_len: int, data_key: str) -> Encoded:
    """`encode`, memoised on disk under a key of everything that changes the arrays."""
    key_src = json.dumps(
        [CACHE_FORMAT, tokenizer_fingerprint(tokenizer), task.name, task.version, split, max_len, data_key,
         hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()]
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:24]
    path = cache_dir() / "tokens" / f"{task.name}-{split}-{max_len}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                cached = Encoded(z["ids"], z["offsets"], z["first_len"], z["labels"])
            if _consistent(cached, len(df)):
                return cached
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
        log.warning("token cache entry %s is damaged; rebuilding it", path)  # never trusted, never fatal
        path.unlink(missing_ok=True)
    encoded = encode(tokenizer, df, task, max_len)
    buf = io.BytesIO()
    np.savez(buf, ids=encoded.ids, offsets=encoded.offsets, first_len=encoded.first_len, labels=encoded.labels)
    write_atomic(path, buf.getvalue())  # parallel runs may race to write the same entry: both are whole
    return encoded


class Batches:
    """Batches of one split, resident on the training device.

    Padded ids live on the device once; a batch is an index gather plus a slice to its padded length,
    so no host-to-device copy or host sync happens inside the loop.
    """

    def __init__(self, data: Encoded, batch_size: int, device: torch.device, pad_to_multiple: int, use_token_types: bool):
        if len(data) == 0:
            raise ValueError("cannot batch an empty split")
        self.data, self.batch_size, self.device = data, batch_size, device
        self.pad_to_multiple, self.use_token_types = pad_to_multiple, use_token_types
        self.max_len = self._round(int(data.lengths.max()))
        ids, types = data.padded(self.max_len)
        self.ids = torch.from_numpy(ids).to(device)
        self.types = torch.from_numpy(types).to(device) if use_token_types else None
        self.labels = torch.tensor(data.labels, device=device)  # copies: cached arrays are read-only
        self.lengths = torch.tensor(data.lengths, device=device)

    def __len__(self) -> int:
        return len(self.data)

    def _round(self, n: int) -> int:
        m = self.pad_to_multiple
        return max(m, -(-n // m) * m)

    def batch(self, index: np.ndarray | torch.Tensor, length: int) -> dict[str, torch.Tensor]:
        index = index if isinstance(index, torch.Tensor) else torch.from_numpy(np.asarray(index)).to(self.device)
        ids = self.ids[index, :length]
        batch = {
            "input_ids": ids,
            "attention_mask": (torch.arange(length, device=self.device)[None, :] < self.lengths[index][:, None]).long(),
            "labels": self.labels[index],
        }
        if self.types is not None:
            batch["token_type_ids"] = self.types[index, :length].long()
        return batch

    def plan(self, order: np.ndarray, group_by_length: bool, drop_last: bool, group_size: int = 50) -> list[tuple[np.ndarray, int]]:
        """(index, padded length) per batch, given an example order.

        With ``group_by_length``, examples are sorted by length inside mega-batches of ``group_size``
        batches (as Hugging Face's ``group_by_length`` does), so batches hold similar lengths, and the
        batch order is then shuffled by the caller's permutation of the mega-batches.
        """
        lengths = self.data.lengths
        if group_by_length:
            mega = self.batch_size * group_size
            order = np.concatenate(
                [chunk[np.argsort(lengths[chunk], kind="stable")[::-1]] for chunk in np.array_split(order, max(1, -(-len(order) // mega)))]
            )
        n = len(order)
        stop = n - n % self.batch_size if drop_last and n >= self.batch_size else n
        return [(order[i : i + self.batch_size], self._round(int(lengths[order[i : i + self.batch_size]].max())))
                for i in range(0, stop, self.batch_size)]

    def epoch(self, rng: np.random.Generator, group_by_length: bool = True) -> list[tuple[np.ndarray, int]]:
        """One training epoch's batch plan: a seeded permutation, grouped by length, batches shuffled."""
        plan = self.plan(rng.permutation(len(self)), group_by_length, drop_last=True)
        if group_by_length:
            plan = [plan[i] for i in rng.permutation(len(plan))]
        return plan

    def in_length_order(self) -> list[tuple[np.ndarray, int]]:
        """Evaluation order: sorted by length, so padding is minimal; callers scatter results back."""
        return self.plan(np.argsort(self.data.lengths, kind="stable"), group_by_length=False, drop_last=False)

"""Result records, schema v1: one CSV row per (model, task, method, target sparsity, seed).

The columns and their order are the contract of DESIGN.md; `COLUMNS` is that list. A row is written
to its own file through a temporary file and ``os.replace`` (`benchmarks.atomic`), so a reader sees the
whole row or none.
JSON columns are written with sorted keys so that equal rows are equal bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .atomic import write_atomic  # noqa: F401  (re-exported: rows, sidecars and merges share it)

SCHEMA_VERSION = 1


@dataclass
class ResultRecord:
    schema_version: int  # 1
    run_id: str  # first 16 hex digits of config_hash: the same config is the same run
    method: str  # registry name
    method_params: str  # JSON of the method's parameters (+ facts it reports, under "_info")
    model: str  # model name as given (alias, hf:<id>, local:<dir>)
    task: str  # GLUE config name
    seed: int
    target_sparsity: float  # asked for, in [0, 1)
    achieved_sparsity: float  # measured zeros / encoder linear weights of the final model
    metric: str  # primary metric name(s) of `score`, e.g. "f1+accuracy"
    score: float  # primary GLUE score, 0-100
    metrics: str  # JSON: every GLUE metric of the task, fractions
    dense_score: float  # score of the dense fine-tuned model of the same (model, task, seed, recipe)
    data_source: str  # hub, glue_dir, embedded (+ a substitute-split suffix, e.g. ":qqp-train-subset"; data.SOURCE_SUFFIXES)
    train_examples: int  # training examples used
    params_total: int
    params_nonzero: int
    flops: int | None  # forward FLOPs per example at sequence length 128
    latency_ms: float | None  # batch 1, sequence length 128, median
    throughput: float | None  # examples/s at batch 32, sequence length 128
    peak_mem_mb: float | None  # CUDA only
    model_size_mb: float  # dense safetensors
    train_seconds: float  # wall time of the method's training phase (not the shared dense fine-tuning)
    device: str  # e.g. "cpu (2 threads)", "cuda: NVIDIA H100 80GB HBM3"
    torch_version: str
    transformers_version: str
    git_commit: str
    config_hash: str  # sha256 of everything that can move the score
    created_at: str  # UTC ISO 8601


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ResultRecord))


def dumps_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_csv_text(records: list[ResultRecord]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        row = asdict(record)
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return buf.getvalue()


def write_record(path: Path, record: ResultRecord) -> None:
    write_atomic(path, to_csv_text([record]))


def read_with_header(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]] | None:
    """The rows of a CSV whose header is exactly `columns`; None for any other header (the caller says why)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != columns:
            return None
        return list(reader)


def read_rows(path: Path) -> list[dict[str, str]]:
    rows = read_with_header(path, COLUMNS)
    if rows is None:
        raise ValueError(f"{path}: header is not schema v{SCHEMA_VERSION}")
    return rows

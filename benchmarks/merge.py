"""Per-run row files → one results CSV.

Every row file under a runs folder is read, checked against schema v1, and written, sorted by run
coordinates, into one CSV via a temporary file and rename. A run_id may appear once: two files holding
the same run (the same config) is an error naming both files, never a silent choice between them.
A row of another schema version is refused: a schema change means a new `results/vN/` folder.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import UsageError
from .records import COLUMNS, SCHEMA_VERSION, write_atomic

SORT_KEYS = ("model", "task", "method", "target_sparsity", "seed", "data_source", "run_id")


def read_run_file(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = tuple(reader.fieldnames or ())
        if "schema_version" not in header:
            raise UsageError(f"{path}: not a PruneBench result file (no schema_version column)")
        rows = list(reader)
    for row in rows:
        if row.get("schema_version") != str(SCHEMA_VERSION):
            raise UsageError(f"{path}: schema_version {row.get('schema_version')!r} cannot be merged into v{SCHEMA_VERSION} results")
    if header != COLUMNS:
        raise UsageError(f"{path}: columns differ from schema v{SCHEMA_VERSION}")
    return rows


def merge(run_files: list[Path], out: Path) -> int:
    """Write the rows of `run_files` to `out`; returns the number of rows."""
    seen: dict[str, Path] = {}
    rows = []
    for path in sorted(run_files):
        for row in read_run_file(path):
            if row["run_id"] in seen:
                raise UsageError(f"run {row['run_id']} is in both {seen[row['run_id']]} and {path}; remove one")
            seen[row["run_id"]] = path
            rows.append(row)
    rows.sort(key=lambda r: tuple(float(r[k]) if k in ("target_sparsity", "seed") else r[k] for k in SORT_KEYS))


    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out, text.getvalue())
    return len(rows)


def run_files_under(folder: Path) -> list[Path]:
    """Row files of a runs folder (temporary files of unfinished writes are skipped)."""
    return sorted(p for p in Path(folder).rglob("*.csv") if not p.name.startswith("."))

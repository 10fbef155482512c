"""Per-run row files → one results CSV.

Every row file under a runs folder is read, checked cell by cell against schema v1 (`validate_results`),
and written, sorted by run coordinates, into one CSV via a temporary file and rename. A bad row stops the
merge with its file and line named, and the previous merged CSV stays as it was. A run_id may appear
once: two files holding the same run (the same config) is an error naming both files, never a silent
choice between them. A row of another schema version is refused: a schema change means a new
`results/vN/` folder.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import UsageError
from .records import COLUMNS, write_atomic
from .validate_results import validate_results

SORT_KEYS = ("model", "task", "method", "target_sparsity", "seed", "data_source", "run_id")


def read_run_file(path: Path) -> list[dict[str, str]]:
    """The rows of one file, each checked cell by cell (`validate_results`); the first problem stops the merge."""
    report = validate_results(path)
    if report.problems:
        more = len(report.problems) - 1
        raise UsageError(f"{report.problems[0]}" + (f" (and {more} more problem(s))" if more else "")
                         + "; nothing was merged")
    return report.rows


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


# grids whose rows check the pipeline on small samples (`config/smoke.yaml`, ad-hoc `prunebench run`): they
# are git-ignored and must never reach a published results file, so a smoke workflow run on a fresh clone
# regenerates the report from the published rows alone. Merging such a folder by its own path still works.
CHECK_GRIDS = ("smoke", "cli")


def run_files_under(folder: Path) -> list[Path]:
    """Row files of a runs folder. Skipped: hidden files and folders (temporaries of unfinished writes), and
    the top-level check grids (`CHECK_GRIDS`)."""
    folder = Path(folder)

    def kept(path: Path) -> bool:
        parts = path.relative_to(folder).parts
        return not any(part.startswith(".") for part in parts) and not (len(parts) > 1 and parts[0] in CHECK_GRIDS)

    return sorted(p for p in folder.rglob("*.csv") if kept(p))

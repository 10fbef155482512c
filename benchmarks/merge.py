"""Per-run row files → one results CSV.

Every row file under a runs folder is read, checked cell by cell against schema v1 (`validate_results`),
and written, sorted by run coordinates, into one CSV via a temporary file and rename. A bad row stops the
merge with its file and line named, and the previous merged CSV stays as it was. A run_id may appear
once: two files holding the same run (the same config) is an error naming both files, never a silent
choice between them. A row of another schema version is refused: a schema change means a new
`results/vN/` folder.

Rows of sample-size runs (``max_train_samples`` or ``max_eval_samples`` set) and embedded-data runs check the
pipeline; they are not GLUE results. `merge` leaves them out unless asked (``keep_samples``), whatever folder or
tag they sit under, deciding from the row itself (`why_not_published`), so no copied config can publish them.
"""

from __future__ import annotations

import csv
import io
import json
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


# Rows of each task's full training split in the Hugging Face `glue` dataset (the same files as GLUE_DIR's
# MANIFEST.tsv `rows` column): a row of data source `hub` or `glue_dir` with fewer training examples was sampled.
FULL_TRAIN_ROWS = {"cola": 8551, "sst2": 67349, "mrpc": 3668, "stsb": 5749, "qqp": 363846, "mnli": 392702,
                   "qnli": 104743, "rte": 2490, "wnli": 635}
# the smallest training split a task trains on in any regime here: QQP's offline training subset (23,497 rows) and
# MNLI low-resource (dev-mismatched, 9,832 pairs), config/v2-minilm.yaml; a sample below it is a sample everywhere
SMALLEST_TRAIN_ROWS = {**FULL_TRAIN_ROWS, "qqp": 23497, "mnli": 9832}


def why_not_published(row: dict[str, str], path: Path) -> str | None:
    """Why a row may not enter a published results file, or None when it may.

    Decided from the row's own columns first: ``data_source`` ``embedded`` (the package's small sample), or
    fewer ``train_examples`` than the task's full training split (`FULL_TRAIN_ROWS`, for the plain sources
    ``hub`` and ``glue_dir``). The run's sidecar (``<row>.json``, its full config) then catches what a row
    cannot show: a sampled evaluation split (``max_eval_samples``), and sampling on a derived data regime
    (``glue_dir:qqp-subset``) whose full size is not in the table. A row of such a regime without its sidecar
    cannot be checked, so it is left out too.
    """
    source, task, n = row["data_source"], row["task"], int(row["train_examples"])
    if source.split(":")[0] == "embedded":
        return "embedded-data run (the package's small GLUE sample)"
    full = FULL_TRAIN_ROWS.get(task) if source in ("hub", "glue_dir") else None
    if full is not None and n < full:
        return f"sample-size run ({n} of {full} training examples)"
    sidecar = path.with_suffix(".json")
    try:
        train = json.loads(sidecar.read_text())["config"]["train"]
    except (OSError, ValueError, KeyError, TypeError):
        return None if full is not None else f"no readable {sidecar.name} to show that {source} data was not sampled"
    if train.get("max_eval_samples", 0):
        return f"sample-size run (max_eval_samples={train['max_eval_samples']})"
    if train.get("max_train_samples", 0) and n == train["max_train_samples"]:
        return f"sample-size run (max_train_samples={n})"
    return None


def merge(run_files: list[Path], out: Path, keep_samples: bool = False,
          left_out: list[tuple[Path, str]] | None = None) -> int:
    """Write the rows of `run_files` to `out`; returns the number of rows written.

    Rows `why_not_published` refuses are left out unless ``keep_samples`` (for a check grid merged in a
    scratch folder); each is appended to ``left_out`` as (file, reason) when a list is given.
    """
    seen: dict[str, Path] = {}
    rows = []
    for path in sorted(run_files):
        for row in read_run_file(path):
            reason = None if keep_samples else why_not_published(row, path)
            if reason is not None:
                if left_out is not None:
                    left_out.append((path, reason))
                continue
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


# grids whose rows are never published (`config/smoke.yaml`'s tag, ad-hoc `prunebench run` rows under cli/): they
# are git-ignored, and a folder merge skips them, so a smoke workflow run on a fresh clone regenerates the report
# from the published rows alone. Merging such a folder by its own path still works. This is a convenience: the
# guarantee that sample-size rows stay out of published files is `why_not_published`, whatever the folder.
CHECK_GRIDS = ("smoke", "cli")


def run_files_under(folder: Path) -> list[Path]:
    """Row files of a runs folder. Skipped: hidden files and folders (temporaries of unfinished writes), and
    the top-level check grids (`CHECK_GRIDS`)."""
    folder = Path(folder)

    def kept(path: Path) -> bool:
        parts = path.relative_to(folder).parts
        return not any(part.startswith(".") for part in parts) and not (len(parts) > 1 and parts[0] in CHECK_GRIDS)

    return sorted(p for p in folder.rglob("*.csv") if kept(p))


def check_grids_under(folder: Path) -> list[Path]:
    """The check-grid folders (`CHECK_GRIDS`) holding rows that `run_files_under(folder)` skips, so a caller can
    say so."""
    return [Path(folder) / grid for grid in CHECK_GRIDS if any((Path(folder) / grid).rglob("*.csv"))]

"""Build the small GLUE sample embedded in the package (benchmarks/embedded_glue/).

It is the last-resort data source, so that the smoke workflow and the tests run on a fresh clone with no
Hub and no GLUE_DIR. Rows are a fixed-seed sample of the GLUE_DIR files, in their original order; rows
trained on it say `data_source=embedded` and are never reported as GLUE results.

    python scripts/make_embedded_glue.py --glue-dir ../shared/data/glue
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

# MNLI's low-resource regime trains on validation_mismatched and scores on validation_matched
# (benchmarks/data.py, SUBSTITUTES): a few hundred rows of each keep the package small
LIMITS = {"train": 2000, "train_subset": 2000, "validation": 500, "validation_matched": 300, "validation_mismatched": 500}
TASK_SPLITS = {
    "sst2": ("train", "validation"),
    "cola": ("train", "validation"),
    "mrpc": ("train", "validation"),
    "stsb": ("train", "validation"),
    "rte": ("train", "validation"),
    "wnli": ("train", "validation"),
    "qqp": ("train_subset", "validation"),
    "mnli": ("validation_matched", "validation_mismatched"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "benchmarks" / "embedded_glue")
    args = parser.parse_args()
    rows = []
    for task, splits in TASK_SPLITS.items():
        for split in splits:
            df = pd.read_parquet(args.glue_dir / task / f"{split}.parquet")
            n = min(LIMITS[split], len(df))
            keep = np.sort(np.random.default_rng(0).choice(len(df), size=n, replace=False))
            out = args.out / task / f"{split}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            df.iloc[keep].reset_index(drop=True).to_parquet(out, compression="zstd", index=False)
            rows.append((task, split, n, hashlib.sha256(out.read_bytes()).hexdigest()))
    manifest = pd.DataFrame(rows, columns=["task", "split", "rows", "sha256"])
    manifest.to_csv(args.out / "MANIFEST.tsv", sep="\t", index=False)
    print(manifest.to_string(index=False))


if __name__ == "__main__":
    main()

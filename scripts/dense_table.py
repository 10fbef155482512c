"""The dense scores of a campaign next to the published dev scores of similar-sized models.

    python scripts/dense_table.py results/v2/results.csv --out results/v2/tables/dense.md

Per (model, task, regime): the dense rows' mean ± sample standard deviation over seeds (`analysis/results.py`
`dense_baselines`), and, for full-data rows only, the published GLUE dev score of MiniLM 6 x 384 (Wang et al. 2020)
and DistilBERT (Sanh et al. 2019) from `analysis/reference/published-dev.csv`, whose README says where each figure
was read and why they compare only loosely (another MiniLM, other recipes, MRPC/QQP metrics not stated). A
substitute regime (QQP's 23.5k-row subset, MNLI low-resource) never gets a published figure. Bad input (a missing
or malformed CSV) is one line and exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prunebench.analysis.reference import PUBLISHED_DEV, PUBLISHED_MODELS, load_published, published_score  # noqa: E402
from prunebench.analysis.results import ResultsError, dense_baselines, load_results  # noqa: E402
from prunebench.analysis.tables import Table, to_markdown, write_script_markdown  # noqa: E402

def shown(path: Path) -> str:
    """A path as the table prints it: relative to the repository where it lies inside it."""
    path = Path(path)
    return path.resolve().relative_to(ROOT).as_posix() if path.resolve().is_relative_to(ROOT) else str(path)


def dense_table(df: pd.DataFrame, published: pd.DataFrame) -> Table:
    labels = df.drop_duplicates(["model", "task", "regime"]).set_index(["model", "task", "regime"])
    rows = []
    for d in dense_baselines(df).itertuples(index=False):
        label = labels.loc[(d.model, d.task, d.regime)]
        spread = f" ± {d.std:.2f}" if d.n > 1 else ""
        rows.append([label["model_label"], label["task_label"], label["regime_label"], str(d.n),
                     f"{d.mean:.2f}{spread}", *(published_score(published, m, d.task, d.regime) for m in PUBLISHED_MODELS)])
    return Table(["Model", "Task", "Regime", "Seeds", "Dense (mean ± std)", *PUBLISHED_MODELS.values()], rows,
                 caption="Dense rows against published dev scores. Dense: the mean and sample standard deviation "
                         "over seeds (x100, the task's score as the other tables give it); published: GLUE dev scores "
                         "of other models of about this size (analysis/reference/README.md says where each was read).",
                 label="tab:dense-published")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a merged results CSV (prunebench merge)")
    parser.add_argument("--published", type=Path, default=PUBLISHED_DEV,
                        help="the published scores (default: analysis/reference/published-dev.csv; the workflow passes "
                             "it, so a change to it rebuilds the table)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file to write (default: print)")
    args = parser.parse_args(argv)
    try:
        df = load_results(args.results)
        published = load_published(args.published)
    except (OSError, ResultsError, ValueError) as exc:  # pandas' parse errors are ValueErrors
        print(f"dense_table: {exc}", file=sys.stderr)
        return 2
    body = (f"The dense rows of `{args.results}` per model, task and regime, against published dev scores "
            f"(`{shown(args.published)}`). The published models are not ours (ours: "
            "sentence-transformers/all-MiniLM-L6-v2, fine-tuned with the campaign's recipes), so the columns say "
            "where our dense model stands, not whether a run is right.\n\n" + to_markdown(dense_table(df, published), heading="##"))
    write_script_markdown("scripts/dense_table.py", argv if argv is not None else sys.argv[1:], str(args.results),
                          "Dense scores and published ones", body, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

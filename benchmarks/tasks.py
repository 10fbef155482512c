"""The nine GLUE tasks as data.

Names, text columns and splits are those of the Hugging Face ``glue`` dataset, so one entry serves the
Hub, a local ``GLUE_DIR`` copy and the embedded sample alike. ``primary`` metrics are averaged into the
``score`` column (0-100), following the GLUE paper (Wang et al., 2018): MCC for CoLA, the Pearson/Spearman
mean for STS-B, the F1/accuracy mean for MRPC and QQP, matched accuracy for MNLI, accuracy elsewhere.
Bump ``version`` on any change: it is part of every run's config hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import unknown


@dataclass(frozen=True)
class GlueTask:
    name: str  # HF `glue` config name = CLI value = Snakemake wildcard = CSV value
    fields: tuple[str, ...]  # text columns given to the tokenizer (one sentence or a pair)
    num_labels: int  # 1 = regression (stsb)
    metrics: tuple[str, ...]  # every metric written to the `metrics` JSON column
    primary: tuple[str, ...]  # averaged into `score`
    eval_splits: tuple[str, ...] = ("validation",)  # first one gives `score`; others add suffixed metrics
    train_split: str = "train"
    version: int = 1
    # class names in label order, as the Hugging Face `glue` dataset's ClassLabel gives them: what a fresh
    # head's id2label records (a foreign checkpoint's names may mean the opposite, e.g. RTE's 0 vs WNLI's 0)
    labels: tuple[str, ...] = ()

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @property
    def label_values(self) -> tuple[int, ...]:
        """Class indices a label column may hold (empty for regression)."""
        return () if self.is_regression else tuple(range(self.num_labels))


TASKS: dict[str, GlueTask] = {
    t.name: t
    for t in (
        GlueTask("cola", ("sentence",), 2, ("mcc", "accuracy"), ("mcc",), labels=("unacceptable", "acceptable")),
        GlueTask("sst2", ("sentence",), 2, ("accuracy",), ("accuracy",), labels=("negative", "positive")),
        GlueTask("mrpc", ("sentence1", "sentence2"), 2, ("f1", "accuracy"), ("f1", "accuracy"),
                 labels=("not_equivalent", "equivalent")),
        GlueTask("stsb", ("sentence1", "sentence2"), 1, ("pearson", "spearman"), ("pearson", "spearman"), labels=("similarity",)),
        GlueTask("qqp", ("question1", "question2"), 2, ("f1", "accuracy"), ("f1", "accuracy"),
                 labels=("not_duplicate", "duplicate")),
        GlueTask(
            "mnli",
            ("premise", "hypothesis"),
            3,
            ("accuracy",),
            ("accuracy",),
            eval_splits=("validation_matched", "validation_mismatched"),
            labels=("entailment", "neutral", "contradiction"),
        ),
        GlueTask("qnli", ("question", "sentence"), 2, ("accuracy",), ("accuracy",), labels=("entailment", "not_entailment")),
        GlueTask("rte", ("sentence1", "sentence2"), 2, ("accuracy",), ("accuracy",), labels=("entailment", "not_entailment")),
        GlueTask("wnli", ("sentence1", "sentence2"), 2, ("accuracy",), ("accuracy",), labels=("not_entailment", "entailment")),
    )
}


def get_task(name: str) -> GlueTask:
    if name not in TASKS:
        raise unknown("task", name, TASKS)
    return TASKS[name]

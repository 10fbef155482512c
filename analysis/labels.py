"""Display names and file-safe names.

Tables, figure titles and file names all go through these functions, so one model, task or regime is
spelled the same way everywhere. Unknown names are shown as they are: a new model or task needs no edit.
"""

from __future__ import annotations

import re

# GLUE's own spelling of its task names (Wang et al., 2018); keys are the CSV `task` values.
TASK_NAMES: dict[str, str] = {
    "cola": "CoLA",
    "sst2": "SST-2",
    "mrpc": "MRPC",
    "stsb": "STS-B",
    "qqp": "QQP",
    "mnli": "MNLI",
    "qnli": "QNLI",
    "rte": "RTE",
    "wnli": "WNLI",
}

# Names of the model aliases of benchmarks/models.py as the papers that released them spell them.
MODEL_NAMES: dict[str, str] = {
    "distilbert": "DistilBERT",
    "bert-base": "BERT-base",
    "minilm-l6": "MiniLM-L6",
}


def model_slug(model: str) -> str:
    """The CSV model name as one safe file-name component (aliases unchanged, Hub ids with '--', folders by name).

    Like ``benchmarks.paths.model_slug``, but from the name alone: a ``local:`` folder need not exist where the
    report is built.
    """
    name = model
    for prefix in ("hf:", "local:"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            if prefix == "local:":
                name = name.rstrip("/").rsplit("/", 1)[-1]
    return safe(name.replace("/", "--"))


def model_label(model: str) -> str:
    slug = model_slug(model)
    return MODEL_NAMES.get(slug, slug)


# Tasks trained or scored on a substitute for a split that is not offline (analysis/regimes.py, benchmarks/data.py
# SUBSTITUTES): their name says so in every table and figure, so they are never read as the full task.
VARIANT_TASK_NAMES: dict[str, str] = {
    "qqp-subset": "QQP subset",  # v1: the training sample split 90/10, scored on the held-out slice
    "qqp-train-subset": "QQP (23.5k-row training subset)",  # the whole 23,497-row sample, scored on the official dev set
    "mnli-train-mismatched": "MNLI, low-resource: trained on dev-mismatched",  # scored on dev-matched
}
# The footnote of every table of a variant's rows.
VARIANT_NOTES: dict[str, str] = {
    "qqp-subset": ("QQP subset: trained and evaluated on the 23,497-row QQP training-set sample (a held-out part of it "
                   "as evaluation split); not comparable with full-QQP results, published or ours."),
    "qqp-train-subset": ("QQP (23.5k-row training subset): trained on the 23,497-row sample of QQP's training set, "
                         "scored on the official dev set (40,430 pairs); not comparable with full-QQP results, nor with "
                         "v1's held-out-slice rows."),
    "mnli-train-mismatched": ("MNLI, low-resource: trained on dev-mismatched (9,832 pairs), scored on dev-matched "
                              "(9,815); never comparable with full-MNLI numbers."),
}
# Tasks that have no rows at all, and why (printed under the tables that leave them out).
MISSING_TASK_NOTES: dict[str, str] = {
    "qnli": ("QNLI has no rows: only its dev set is offline, so a run would have to train and be scored on parts "
             "of one split; MNLI's low-resource regime is the NLI task that can be run"),
}


def missing_tasks_note(present: set[str]) -> str:
    """The sentence saying why tasks without rows have none (``MISSING_TASK_NOTES``), for those not in `present`."""
    return " ".join(f"{note}." for task, note in MISSING_TASK_NOTES.items() if task not in present)


def variant_task_label(variant: str) -> str:
    return VARIANT_TASK_NAMES.get(variant, variant)


def task_label(task: str, variant: bool | str = "") -> str:
    """The task's name, or its variant's (``VARIANT_TASK_NAMES``) wherever rows trained or scored on a substitute
    split, so "QQP subset" or "MNLI, low-resource" is never read as the full task. ``True`` is v1's QQP subset."""
    if variant is True:
        variant = "qqp-subset"
    if variant:
        return variant_task_label(variant)
    return TASK_NAMES.get(task, task.upper())


def safe(text: str) -> str:
    """Letters, digits, '.', '_' and '-' only: names that work in every shell, URL and LaTeX \\includegraphics."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def percent(sparsity: float) -> str:
    """0.5 -> "50", 0.875 -> "87.5": sparsities as the tables print them."""
    return f"{100 * sparsity:.1f}".rstrip("0").rstrip(".")


def compression(sparsity: float) -> str:
    """Compression ratio of the prunable weights, 1 / (1 - s), as printed: 0.5 -> "2×", 0.7 -> "3.3×"."""
    ratio = 1.0 / (1.0 - sparsity)
    return f"{ratio:.1f}".rstrip("0").rstrip(".") + "×"

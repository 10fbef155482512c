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


def task_label(task: str, qqp_subset: bool = False) -> str:
    """"QQP subset" wherever QQP rows come from the training-set sample, so it is never read as full QQP."""
    name = TASK_NAMES.get(task, task.upper())
    return f"{name} subset" if qqp_subset else name


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

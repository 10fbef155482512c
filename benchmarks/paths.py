"""File names derived from run coordinates, formatted in one place (Snakemake wildcards use the same)."""

from __future__ import annotations

from pathlib import Path

RESULTS_DIR = Path("results/v1")


def format_sparsity(s: float) -> str:
    """0.5 -> "0.50", 0.875 -> "0.875": at least two decimals, never rounded away."""
    text = f"{s:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def model_slug(model: str) -> str:
    """A model name as one path component: aliases as they are, Hub ids with '--', folders by name."""
    if model.startswith("hf:"):
        model = model[3:]
    if model.startswith("local:") or "/" in model and Path(model).is_dir():
        model = Path(model.removeprefix("local:")).name
    return model.replace("/", "--")


def run_path(model: str, task: str, method: str, sparsity: float, seed: int, run_id: str) -> Path:
    return RESULTS_DIR / "runs" / model_slug(model) / task / method / f"s{format_sparsity(sparsity)}-seed{seed}-{run_id}.csv"

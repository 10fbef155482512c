"""The report end to end: every notebook executed headless on a fixture CSV, as the workflow runs it.

Each output must be a function of the CSV alone: running the notebooks again, from another folder and on a
copy of the CSV, gives the same bytes (figures included). The tests then read the generated files as a
reader would: a LaTeX table parsed back against the CSV, "—" cells, the QQP-subset labels, the paper build.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

from prunebench.analysis.run import execute_notebook  # noqa: E402
from analysis_fixture import write_fixture  # noqa: E402

# notebook -> its parameters (output paths relative to the folder it runs in), as report.smk passes them
NOTEBOOKS = {
    "sparsity_curves": {"figures": "paper/figures"},
    "three_phases": {"phases_csv": "results/v1/phases.csv", "phases_md": "results/v1/tables/phases.md",
                     "phases_tex": "paper/tables/phases.tex"},
    "comparison_tables": {"comparison_md": "results/v1/tables/comparison.md",
                          "comparison_tex": "paper/tables/comparison.tex", "pending_tex": "paper/generated/pending.tex"},
    "efficiency": {"efficiency_md": "results/v1/tables/efficiency.md", "efficiency_tex": "paper/tables/efficiency.tex"},
    "leaderboard": {"leaderboard_csv": "results/v1/leaderboard.csv", "leaderboard_md": "LEADERBOARD.md",
                    "leaderboard_tex": "paper/tables/leaderboard.tex"},
    "paper_numbers": {"numbers_tex": "paper/generated/numbers.tex"},
    # no efficiency.csv in the fixture folder: the outputs must say that nothing was measured
    "efficiency_speedup": {"speedup_figure": "paper/generated/speedup.pdf", "speedup_md": "results/v1/tables/speedup.md",
                           "speedup_tex": "paper/generated/speedup.tex", "runtimes_figure": "paper/generated/runtimes.pdf"},
    "paper_report": {"out": "paper/report"},
}
REPORT_RULES = ["sparsity_curves", "three_phases", "comparison_tables", "efficiency_table", "efficiency_speedup", "leaderboard",
                "readme_leaderboard", "paper_numbers", "all"]


def run_report(folder: Path, csv: Path) -> dict[str, bytes]:
    """Execute every notebook in `folder` on `csv`; return the outputs by relative path."""
    for name, params in NOTEBOOKS.items():
        execute_notebook(name, {"results": str(csv), **params}, cwd=folder)
    return outputs(folder)


def outputs(folder: Path) -> dict[str, bytes]:
    skip = ("results/v1/results.csv", "logs/", ".snakemake", ".cache/")
    files = {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}
    return {k: p.read_bytes() for k, p in sorted(files.items()) if not k.startswith(skip)
            and not k.endswith(".snakemake_timestamp")}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    run_report(folder, write_fixture(folder / "results/v1/results.csv"))
    return folder


def test_every_output_is_written(report):
    files = outputs(report)
    expected = {p for params in NOTEBOOKS.values() for p in params.values() if p not in ("paper/figures", "paper/report")}
    expected |= {f"paper/report/{name}.tex" for name in ("families", "pareto", "sweeps", "main_table", "leaderboard", "phases",
                                                          "efficiency", "appendix_tables", "hub", "report_numbers")}
    assert expected <= set(files)
    figures = sorted(f for f in files if f.startswith("paper/figures/curves_"))
    assert figures == [f"paper/figures/curves_minilm-l6_{key}.{ext}"
                       for key in ("qqp_qqp-subset-n1000", "rte_n1000", "sst2_n1000") for ext in ("pdf", "png")]


def test_outputs_are_a_function_of_the_csv_only(report, tmp_path):
    """Delete everything, rerun elsewhere on a copy of the CSV: the same bytes come back."""
    csv = tmp_path / "elsewhere" / "copy.csv"
    csv.parent.mkdir()
    shutil.copy(report / "results/v1/results.csv", csv)
    again = run_report(tmp_path / "rerun", csv)
    first = outputs(report)
    assert sorted(again) == sorted(first)
    changed = [name for name in first if first[name] != again[name]]
    assert not changed, f"outputs differ between two runs on the same CSV: {changed}"


def latex_rows(tex: str, label: str) -> list[list[str]]:
    """The body rows of the table float with `label`."""
    float_ = tex[: tex.index(rf"\label{{{label}}}")].rsplit(r"\begin{table}", 1)[1] + tex[tex.index(rf"\label{{{label}}}"):]
    body = float_.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    header = float_.split(r"\toprule", 1)[1].split(r"\midrule", 1)[0].strip().rstrip("\\").strip()
    return [[c.strip() for c in header.split("&")]] + [
        [c.strip() for c in line.rstrip().removesuffix(r"\\").split("&")] for line in body.strip().splitlines()]


def test_a_latex_table_parsed_back_matches_the_csv(report):
    rows = latex_rows((report / "paper/tables/comparison.tex").read_text(), "tab:comparison-minilm-l6-rte-n1000")
    header, body = rows[0], rows[1:]
    csv = pd.read_csv(report / "results/v1/results.csv")
    rte = csv[csv["task"] == "rte"]
    checked = 0
    for row in body:
        method = row[0].replace(r"\_", "_")
        for column, cell in zip(header[1:], row[1:]):
            sparsity = float(column.split(r"\%")[0]) / 100
            if cell == "":  # the dense score lives in its own row's 0% column only
                assert (method == "dense") != (sparsity == 0)
                continue
            scores = rte[(rte["method"] == method) & ((rte["target_sparsity"] - sparsity).abs() < 1e-9)]["score"]
            if cell == "---":
                assert scores.empty, f"{method} at {sparsity}: the CSV has rows but the table shows ---"
                continue
            mean, _, std = cell.partition(r" $\pm$ ")
            assert float(mean) == pytest.approx(scores.mean(), abs=0.005)
            assert float(std) == pytest.approx(scores.std(ddof=1), abs=0.005)
            checked += 1
    assert checked == 1 + 3 * 3 - 2  # dense, then three methods at three sparsities; layer-wise 90% and user-method 70% missing


def test_missing_cells_are_dashes_and_the_pending_runs_are_named(report):
    md = (report / "results/v1/tables/comparison.md").read_text()
    assert "| magnitude-layerwise |  | 88.00 ± 0.00 | 81.00 ± 1.00 | — |" in md
    pending = md.split("## Pending runs", 1)[1]
    assert "- MiniLM-L6 · RTE (1,000-example sample): magnitude-layerwise at 90%; user-method at 70% [grid]" in pending
    assert "- DistilBERT · SST-2 (full data): dense; magnitude-global at 50, 55" in pending
    tex = (report / "paper/generated/pending.tex").read_text()
    assert r"\item DistilBERT $\cdot$ QQP (full data)" in tex


def test_qqp_subset_is_labelled_everywhere(report):
    figures = (report / "paper/figures/figures.tex").read_text()
    assert "MiniLM-L6 · QQP subset (1,000 train, held-out eval)" in figures.replace("$\\cdot$", "·")
    phases = (report / "results/v1/tables/phases.md").read_text()
    assert "| QQP subset | 1,000 train, held-out eval | magnitude-global |" in phases
    assert "## Leaderboard of MiniLM-L6, QQP subset" in (report / "LEADERBOARD.md").read_text()


def test_phase_csv_has_one_row_per_curve(report):
    phases = pd.read_csv(report / "results/v1/phases.csv")
    assert len(phases) == 7  # 3 methods on SST-2 and RTE, 1 on the QQP subset
    sst2 = phases[(phases["task"] == "sst2") & (phases["method"] == "magnitude-global")].iloc[0]
    assert (sst2["safe_end"], sst2["knee"], sst2["over_start"], sst2["over_rule"]) == (0.5, 0.7, 0.9, "chance")
    assert math.isnan(phases[(phases["task"] == "sst2") & (phases["method"] == "magnitude-layerwise")]["safe_end"].iloc[0])


def test_the_paper_quotes_only_generated_numbers(report):
    numbers = (report / "paper/generated/numbers.tex").read_text()
    keys = set(re.findall(r"\\pbset\{([a-z0-9-]+)\}", numbers + (report / "paper/report/report_numbers.tex").read_text()))
    prose = re.sub(r"(?<!\\)%.*", "", (ROOT / "paper/main.tex").read_text())  # without comments
    used = set(re.findall(r"\\pb\{([a-z0-9-]+)\}", prose))
    assert used and used <= keys, f"main.tex quotes keys nobody generates: {sorted(used - keys)}"
    assert r"\pbset{n-rows}{51}" in numbers  # the fixture's row count


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed (see paper/README.md for the apt line)")
def test_the_paper_builds(report):
    shutil.copy(ROOT / "paper/main.tex", report / "paper/main.tex")
    done = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-outdir=build", "main.tex"],
                          cwd=report / "paper", capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"})
    assert done.returncode == 0, done.stdout[-3000:]
    log = (report / "paper/build/main.log").read_text(errors="replace")
    assert "undefined" not in log.split("Output written")[-1].lower()
    assert (report / "paper/build/main.pdf").stat().st_size > 10_000


@pytest.mark.workflow
def test_the_workflow_rebuilds_a_deleted_output_from_the_csv(tmp_path):
    """Snakemake with only the report rules allowed: outputs from results.csv, and again after one is deleted."""
    write_fixture(tmp_path / "results/v1/results.csv")

    def snakemake(*args: str) -> subprocess.CompletedProcess:
        targets = [r for r in REPORT_RULES if r != "all"]  # the default target also asks for the grid's rows
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               *targets, *args, "--cores", "2", "--allowed-rules", *REPORT_RULES]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    done = snakemake()
    assert done.returncode == 0, done.stderr[-3000:]
    first = outputs(tmp_path)
    (tmp_path / "paper/tables/phases.tex").unlink()
    shutil.rmtree(tmp_path / "paper/figures")
    done = snakemake()
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = done.stderr[done.stderr.index("Job stats:"):]  # snakemake reports on stderr
    assert re.search(r"three_phases\s+1", jobs) and re.search(r"sparsity_curves\s+1", jobs)
    assert not re.search(r"comparison_tables\s+1", jobs), "an untouched output was rebuilt"
    assert outputs(tmp_path) == first


def test_every_method_on_a_figure_has_its_own_colour_and_marker():
    from prunebench.analysis.plots import method_styles

    styles = method_styles([f"method-{i:02d}" for i in range(25)])  # more methods than the palette has colours
    assert len({(tuple(colour), marker) for colour, marker in styles.values()}) == 25


def test_crowded_sparsity_ticks_keep_readable_labels_and_always_the_highest():
    from prunebench.analysis.plots import tick_labels

    ticks = np.array([0.0, 0.083, 0.167, 0.333, 0.5, 0.55, 0.6, 0.65, 0.667, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9])
    labels = tick_labels(ticks)
    assert labels[:5] == ["0", "8.3", "16.7", "33.3", "50"]
    assert labels[7:9] == ["65", ""]  # 66.7 would touch 65
    assert labels[-3:] == ["85", "", "90"]  # 88 touches both
    shown = [t for t, label in zip(ticks, labels) if label]
    assert min(np.diff(shown)) >= 0.045
    # the highest sparsity is what a reader looks for: it keeps its label and its neighbour gives way
    assert tick_labels(np.array([0.0, 0.5, 0.85, 0.87])) == ["0", "50", "", "87"]

"""The committed paper as a reader gets it: built with LaTeX, every page rendered to PNG and looked at.

Checks that the main text ends by page 10 (the appendix starts on page 11 at the latest), that no line, table
or figure runs into the margin (TeX's "Overfull \\hbox" above ``OVERFULL_PT`` in the log, and ink in the
outer margins of the rendered pages), and that no generated table is shrunk to fit (``\\resizebox``), which
is how the old 20-column tables hid their width. A second test shows the check failing on such a table.
Skips, with the reason, where latexmk or pdftoppm is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "paper"
MAX_MAIN_PAGES = 10
OVERFULL_PT = 2.0  # a table cell or word that sticks out by more than this is visible on paper
DPI = 30
MARGIN_CM = 1.6  # the text block starts 2.2 cm from the edge (geometry); ink within 1.6 cm of it is an overflow

pytestmark = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdftoppm") is None,
                                reason="latexmk or pdftoppm is not installed (apt line in paper/README.md; .ci/run)")


def build(folder: Path, main: str = "main.tex") -> Path:
    """latexmk the document `main` of `folder` into `folder`/build; returns the build folder."""
    done = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-outdir=build", main],
                          cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"})
    assert done.returncode == 0, done.stdout[-3000:]
    return folder / "build"


def overfull(log: str) -> list[str]:
    """Overfull \\hbox messages wider than ``OVERFULL_PT``, with the input lines they name."""
    found = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\) (.*)", log)
    return [f"{pt}pt {where}" for pt, where in found if float(pt) > OVERFULL_PT]


def inked_margins(pdf: Path, out: Path) -> list[str]:
    """Pages whose left or right outer margin strip holds any non-white pixel."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", pdf, out / "page"], check=True, timeout=300)
    from PIL import Image

    bad = []
    strip = round(MARGIN_CM / 2.54 * DPI)
    for png in sorted(out.glob("page-*.pgm")) + sorted(out.glob("page-*.png")):
        pixels = np.asarray(Image.open(png).convert("L"))
        if (pixels[:, :strip] < 200).any() or (pixels[:, -strip:] < 200).any():
            bad.append(png.name)
    return bad


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("paper") / "paper"
    shutil.copytree(PAPER, folder, ignore=shutil.ignore_patterns("main.pdf"))
    return build(folder)


def test_the_main_text_is_at_most_ten_pages(paper):
    aux = (paper / "main.aux").read_text()
    page = int(re.search(r"\\newlabel\{app:tables\}\{\{[^}]*\}\{(\d+)\}", aux).group(1))
    assert page <= MAX_MAIN_PAGES + 1, f"the appendix starts on page {page}"


def test_no_table_or_figure_overflows_the_page(paper, tmp_path):
    log = (paper / "main.log").read_text(errors="replace")
    assert overfull(log) == []
    assert "Float too large" not in log
    assert inked_margins(paper / "main.pdf", tmp_path) == []


def test_no_generated_table_is_scaled_to_fit():
    scaled = [p.name for p in (PAPER / "report").glob("*.tex") if r"\resizebox" in p.read_text()]
    assert scaled == []


def test_the_check_fails_on_a_twenty_column_table(tmp_path):
    """The old comparison tables' shape, unscaled: both the log check and the margin check see it."""
    cells = " & ".join(["88.12 $\\pm$ 0.31"] * 19)
    (tmp_path / "wide.tex").write_text(
        "\\documentclass[11pt]{article}\\usepackage[margin=2.2cm]{geometry}\\begin{document}\n"
        f"\\begin{{table}}\\begin{{tabular}}{{l{'r' * 19}}}method & {cells}\\\\\\end{{tabular}}\\end{{table}}\n"
        "\\end{document}\n")
    build_dir = build(tmp_path, "wide.tex")
    assert overfull((build_dir / "wide.log").read_text(errors="replace")) != []
    (tmp_path / "png").mkdir()
    assert inked_margins(build_dir / "wide.pdf", tmp_path / "png") == ["page-1.pgm"]

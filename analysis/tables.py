"""Tables as data, rendered to markdown (README, results/v1/tables/) and LaTeX booktabs (the paper).

A ``Table`` holds plain-text cells; each renderer does its own escaping, so a builder writes "88.42 ± 0.31",
"—" or "3.3×" once and both formats come out right. Missing values are always ``MISSING`` ("—"), never 0
or an empty cell, so a reader can tell "not measured" from "measured as zero".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .params import PUBLISHED_RESULTS, progress_note

MISSING = "—"

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "—": "---",
    "–": "--",
    "±": r"$\pm$",
    "−": r"$-$",
    "…": r"\ldots{}",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
}


def latex_escape(text: str) -> str:
    """Plain text -> LaTeX source that pdflatex prints as the same text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def number(value: float, digits: int = 2) -> str:
    """A value with fixed decimals, or "—" for NaN/None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.{digits}f}"


def mean_std(mean: float, std: float, digits: int = 2) -> str:
    """"mean ± std" (sample std over seeds); the mean alone when there is one seed."""
    if mean is None or math.isnan(mean):
        return MISSING
    if std is None or math.isnan(std):
        return number(mean, digits)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def sparsity_text(value: float) -> str:
    """A sparsity as percent, or "—" when there is none."""
    from .labels import percent

    if value is None or math.isnan(value):
        return MISSING
    return f"{percent(value)}%"


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    label: str  # LaTeX \label and markdown anchor, e.g. "tab:comparison-minilm-l6-sst2-n1000"
    notes: list[str] = field(default_factory=list)  # printed under the table
    align: str = ""  # column spec such as "llrr"; default: see `alignment`

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"{self.label}: row {row} has {len(row)} cells for {len(self.columns)} columns")


def _numeric(text: str) -> bool:
    head = str(text).strip()[:1]
    return head.isdigit() or head in (MISSING, "-", "+", ".")


def alignment(table: Table) -> list[str]:
    """"l" or "r" per column: right for columns whose cells all read as numbers (or "—"), left otherwise."""
    if table.align:
        return [c for c in table.align if c in "lrc"]
    cols = list(zip(*table.rows)) if table.rows else [()] * len(table.columns)
    return ["l" if i == 0 or not all(_numeric(c) for c in col) else "r" for i, col in enumerate(cols)]


def _md_cell(text: str) -> str:
    return str(text).replace("|", r"\|")


def to_markdown(table: Table, heading: str = "###") -> str:
    """A GitHub markdown section: heading (the caption's first sentence), the table, then the notes."""
    title, _, rest = table.caption.partition(". ")
    lines = [f"{heading} {title.rstrip('.')}", ""]
    if rest:
        lines += [rest, ""]
    columns = table.columns
    lines.append("| " + " | ".join(_md_cell(c) for c in columns) + " |")
    lines.append("|" + "|".join(":--" if a == "l" else "--:" for a in alignment(table)) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    if table.notes:
        lines.append("")
        lines += [f"{note}  " for note in table.notes[:-1]] + [table.notes[-1]]
    return "\n".join(lines) + "\n"


LONG_ROWS = 35  # more rows than this do not fit a page: such a table becomes a longtable that breaks across pages


def to_latex(table: Table, resize: bool | None = None) -> str:
    """A booktabs table float; wide tables (more than 7 columns by default) are scaled to the text width.

    A table longer than ``LONG_ROWS`` becomes a ``longtable`` instead, since a float cannot break across pages.
    """
    if len(table.rows) > LONG_ROWS:
        return to_longtable(table)
    align = "".join(alignment(table))
    resize = len(table.columns) > 7 if resize is None else resize
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small"]
    lines.append(rf"\caption{{{latex_escape(table.caption)}}}")
    lines.append(rf"\label{{{table.label}}}")
    if resize:
        lines.append(r"\resizebox{\linewidth}{!}{%")
    lines.append(rf"\begin{{tabular}}{{{align}}}")
    lines.append(r"\toprule")
    lines.append(" & ".join(latex_escape(c) for c in table.columns) + r" \\")
    lines.append(r"\midrule")
    for row in table.rows:
        lines.append(" & ".join(latex_escape(c) for c in row) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if resize:
        lines.append("}")
    if table.notes:
        lines.append(r"\par\smallskip\footnotesize")
        lines.append(r"\begin{minipage}{\linewidth}")
        lines.append(r" \\ ".join(latex_escape(n) for n in table.notes))
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_longtable(table: Table) -> str:
    """A booktabs longtable (package ``longtable``): the header repeats on every page."""
    align = "".join(alignment(table))
    header = " & ".join(latex_escape(c) for c in table.columns) + r" \\"
    lines = [r"{\small", rf"\begin{{longtable}}{{{align}}}",
             rf"\caption{{{latex_escape(table.caption)}}}\label{{{table.label}}} \\",
             r"\toprule", header, r"\midrule", r"\endfirsthead", r"\toprule", header, r"\midrule", r"\endhead",
             r"\bottomrule", r"\endfoot"]
    for row in table.rows:
        lines.append(" & ".join(latex_escape(c) for c in row) + r" \\")
    lines.append(r"\end{longtable}}")
    if table.notes:
        lines.append(r"{\footnotesize " + r" \\ ".join(latex_escape(n) for n in table.notes) + r"\par}")
    return "\n".join(lines) + "\n"


# {results}: the CSV the file was made from (`params.results_label`: results/<version>/results.csv); {source}: the code
GENERATED_MD = "<!-- generated by `snakemake` from {results} ({source}); do not edit -->\n"
GENERATED_TEX = "% generated by `snakemake` from {results} ({source}); do not edit\n"


def markdown_document(title: str, intro: str, sections: list[str], source: str, results: str = PUBLISHED_RESULTS) -> str:
    """A whole markdown file: provenance comment (the results CSV and the code it came from), title, the campaign's
    progress where it is not complete (`params.progress_note`), intro, sections."""
    note = f"**{progress}**\n\n" if (progress := progress_note()) else ""
    return GENERATED_MD.format(source=source, results=results) + f"# {title}\n\n{note}{intro}\n\n" + "\n".join(sections)


def latex_document(parts: list[str], source: str, results: str = PUBLISHED_RESULTS) -> str:
    """A LaTeX fragment for \\input: provenance comment then the parts."""
    return GENERATED_TEX.format(source=source, results=results) + "\n".join(parts)


def write_script_markdown(script: str, argv: list[str], results: str, title: str, body: str, out=None) -> None:
    """Write (or, with no `out`, print) the markdown file of a script run by hand, such as scripts/gap_table.py: its
    first line is the exact shell-quoted command that made it, so a reader (and a test) can run it again and get
    the same file. Written atomically; a script's input is checked before this is called."""
    import shlex
    from pathlib import Path

    from prunebench.benchmarks.records import write_atomic

    command = shlex.join(["python", script, *argv])
    text = f"<!-- generated by `{command}` from {results}; do not edit -->\n# {title}\n\n{body}"
    if out is None:
        print(text)
        return
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(out), text)
    print(f"{Path(script).stem}: wrote {out}")

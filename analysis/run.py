"""Run the report: execute an analysis notebook headless, or regenerate the README's leaderboard block.

The workflow (``workflow/rules/report.smk``) calls this file by path, from whatever folder Snakemake works
in, so it puts the repository on ``sys.path`` itself and hands the same path to the notebook kernel
(``PYTHONPATH``): ``analysis`` is importable with no install step.

    python analysis/run.py notebook sparsity_curves --param results=results/v1/results.csv \\
        --param figures=paper/figures --executed logs/report/sparsity_curves.ipynb
    python analysis/run.py readme --leaderboard LEADERBOARD.md --readme README.md

A notebook is the jupytext ``py:percent`` file ``analysis/notebooks/NAME.py``; each ``--param key=value``
becomes the environment variable its parameters cell reads (``analysis.params``). A failing cell fails the
command with the cell's traceback; ``--executed`` keeps the executed notebook (outputs included) for the log.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOTEBOOKS = ROOT / "analysis" / "notebooks"
TIMEOUT_S = 600


def notebook_path(name: str) -> Path:
    path = NOTEBOOKS / f"{name}.py"
    if not path.exists():
        known = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))
        raise SystemExit(f"analysis/run.py: no notebook {name!r}; known: {', '.join(known)}")
    return path


def execute_notebook(name: str, params: dict[str, str], executed: Path | None = None, cwd: Path | None = None) -> None:
    """Execute notebook `name` in a fresh kernel, with `params` in its environment and `cwd` as its folder."""
    import jupytext
    from nbclient import NotebookClient

    from prunebench.analysis.params import TEXT_PARAMS, env_name

    cwd = Path(cwd or Path.cwd()).resolve()
    cwd.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(notebook_path(name))
    saved = dict(os.environ)
    try:
        for key, value in params.items():
            os.environ[env_name(key)] = value if key in TEXT_PARAMS else str(Path(cwd, value)) if value else ""
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), saved.get("PYTHONPATH", "")) if p)
        os.environ["MPLBACKEND"] = "Agg"
        client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
        try:
            client.execute()
        finally:
            if executed is not None:
                import nbformat

                executed.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, executed)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _pairs(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"analysis/run.py: --param wants key=value, got {item!r}")
        params[key] = value
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="analysis/run.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nb = sub.add_parser("notebook", help="execute analysis/notebooks/NAME.py headless")
    nb.add_argument("name")
    nb.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    nb.add_argument("--executed", type=Path, help="write the executed notebook here")
    rd = sub.add_parser("readme", help="regenerate README.md's leaderboard block from LEADERBOARD.md")
    rd.add_argument("--leaderboard", type=Path, required=True)
    rd.add_argument("--readme", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "notebook":
        execute_notebook(args.name, _pairs(args.param), args.executed)
        print(f"executed analysis/notebooks/{args.name}.py")
        return 0
    from prunebench.analysis.readme import update_readme

    done = update_readme(args.readme, args.leaderboard)
    print(f"{args.readme}: leaderboard block {'regenerated' if done else 'skipped (no such file here)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

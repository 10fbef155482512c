"""One import namespace: installing PruneBench adds the package `prunebench` and nothing else at the top level.

Generic names (`benchmarks`, `methods`, `analysis`) would shadow, or be shadowed by, a user's own folders of the
same name, depending on the working directory; these tests pin that they are never installed or picked up.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _top_level_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = {name.split("/", 1)[0] for name in archive.namelist()}
    return {name for name in names if not name.endswith((".dist-info", ".data"))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (found,) = out.glob("prunebench-*.whl")
    return found


def test_the_wheel_installs_one_top_level_package(wheel):
    assert _top_level_names(wheel) == {"prunebench"}


def test_the_wheel_carries_the_code_and_data_of_every_subpackage(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for expected in ("prunebench/benchmarks/cli.py", "prunebench/methods/registry.py", "prunebench/analysis/tables.py",
                     "prunebench/methods/README.md", "prunebench/benchmarks/embedded_glue/MANIFEST.tsv",
                     "prunebench/analysis/notebooks/leaderboard.py"):
        assert expected in names, expected


def test_the_console_script_points_into_the_namespace(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "prunebench = prunebench.benchmarks.cli:main" in text


def test_a_users_own_analysis_package_does_not_change_which_code_runs(tmp_path):
    """A folder `analysis/` (and `methods/`) in the working directory, as a researcher's project has, is never
    imported by PruneBench: its code would raise if it were."""
    for name in ("analysis", "methods", "benchmarks"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise RuntimeError('the user\\'s own {name} was imported')\n")
    code = ("import prunebench.analysis.tables as t, prunebench.methods.registry as r, prunebench.benchmarks.cli as c\n"
            "r.get('random'); print(t.__file__); print(c.__file__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(ROOT), line
    listed = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "methods", "random"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("random")


def test_the_old_top_level_names_are_not_importable_from_outside_the_repository(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import methods"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'methods'" in done.stderr

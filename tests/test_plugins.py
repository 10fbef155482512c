"""Methods from other installed packages: the `prunebench.methods` entry-point group, with test doubles of
`importlib.metadata.entry_points` and with a real (tiny) distribution found on the path by a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prunebench.benchmarks.cli import main
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.workflow_config import check_config, load_yaml
from prunebench.methods import registry

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''
"""A plugin method for the tests: global magnitude under another name."""
from prunebench.methods.magnitude import GlobalMagnitude


class Outside(GlobalMagnitude):
    """Global magnitude, registered from outside the repository."""

    name = "outside-magnitude"
'''


class FakeEntryPoint:
    """What the registry reads of an `importlib.metadata.EntryPoint`: name, value and the distribution's name."""

    def __init__(self, name: str, value: str, dist: str):
        self.name, self.value, self.group = name, value, registry.ENTRY_POINT_GROUP
        self.dist = type("Dist", (), {"name": dist})()


@pytest.fixture
def entry_points(monkeypatch, tmp_path):
    """Install test-double entry points: call with (name, "module:Class", distribution) triples."""
    (tmp_path / "outside_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(*triples):
        eps = [FakeEntryPoint(*t) for t in triples]

        def fake(group=None, **_):
            return [ep for ep in eps if group == ep.group]

        monkeypatch.setattr("importlib.metadata.entry_points", fake)

    return install


def test_a_plugin_joins_the_registry_and_says_where_it_comes_from(entry_points, capsys):
    entry_points(("outside-magnitude", "outside_plugin:Outside", "outside-dist"))
    assert registry.list_methods("outside-*") == ["outside-magnitude"]
    assert registry.get("outside-magnitude").kind == "unstructured"
    assert registry.source("outside-magnitude") == "plugin outside-dist" and registry.source("random") == "built-in"
    assert main(["methods", "outside-*"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("Global magnitude, registered from outside the repository. [plugin outside-dist]")


def test_a_plugin_is_not_imported_until_asked_for(entry_points):
    entry_points(("never-loaded", "no_such_module_anywhere:Nothing", "broken-dist"))
    assert "never-loaded" in registry.list_methods()  # listing by name imports nothing
    with pytest.raises(UsageError, match=r"method 'never-loaded': entry point no_such_module_anywhere:Nothing of "
                                         r"plugin broken-dist does not load \(ModuleNotFoundError"):
        registry.get("never-loaded")


def test_a_plugin_that_does_not_load_is_reported_without_hiding_the_others(entry_points, capsys):
    entry_points(("outside-magnitude", "outside_plugin:Outside", "outside-dist"),
                 ("never-loaded", "no_such_module_anywhere:Nothing", "broken-dist"))
    assert main(["methods"]) == 1
    out, err = capsys.readouterr()
    assert "outside-magnitude" in out and "magnitude-global" in out and "never-loaded" not in out
    assert err.startswith("prunebench: error: method 'never-loaded': entry point no_such_module_anywhere:Nothing of "
                          "plugin broken-dist does not load (ModuleNotFoundError")


@pytest.mark.parametrize("entry, message", [
    # the entry point's name must be the class's `name`: rows, configs and the leaderboard use the one name
    (("other-name", "outside_plugin:Outside", "outside-dist"),
     "method 'other-name': entry point outside_plugin:Outside of plugin outside-dist loads a class named "
     "'outside-magnitude'; the entry point's name and the class's `name` must be the same: rename one"),
    (("not-a-method", "textwrap:TextWrapper", "odd-dist"),
     "method 'not-a-method': entry point textwrap:TextWrapper of plugin odd-dist is not a subclass of "
     "prunebench.methods.base.Method"),
])
def test_a_plugin_of_the_wrong_name_or_class_is_one_line_and_the_others_still_list(entry_points, capsys, entry, message):
    entry_points(entry)
    with pytest.raises(UsageError) as raised:
        registry.get(entry[0])
    assert str(raised.value) == message
    assert main(["methods"]) == 1
    out, err = capsys.readouterr()
    assert "magnitude-global" in out and err == f"prunebench: error: {message}\n"


def test_a_plugin_may_not_shadow_a_built_in(entry_points):
    entry_points(("random", "outside_plugin:Outside", "outside-dist"))
    with pytest.raises(UsageError, match=r"method 'random' of outside-dist \(entry point outside_plugin:Outside\) "
                                         r"clashes with the built-in 'random' \(prunebench.methods.random_mask:RandomMask\)"):
        registry.get("magnitude-global")  # any lookup: the clash is an error, never a silent choice


def test_two_plugins_of_one_name_are_refused(entry_points):
    entry_points(("outside-magnitude", "outside_plugin:Outside", "first-dist"),
                 ("outside-magnitude", "other_plugin:Other", "second-dist"))
    with pytest.raises(UsageError, match="declared by first-dist .* and by second-dist"):
        registry.list_methods()


def test_a_plugin_joins_every_study_config_and_validates(entry_points, tmp_path):
    entry_points(("outside-magnitude", "outside_plugin:Outside", "outside-dist"))
    for name in ("paper.yaml", "leaderboard.yaml"):
        config = check_config(load_yaml(ROOT / "config" / name))
        assert config["methods"]["outside-magnitude"]["sparsities"] == config["all_methods"]["kinds"]["unstructured"]["sparsities"]
    config = load_yaml(ROOT / "config" / "leaderboard.yaml")
    config["all_methods"]["exclude"] = ["outside-magnitude"]
    assert "outside-magnitude" not in check_config(config)["methods"]


@pytest.mark.parametrize("change, message", [
    ({"exclude": ["outsde-magnitude"]}, "all_methods.exclude: unknown method 'outsde-magnitude' (did you mean 'outside-magnitude'?)"),
    ({"kinds": {"unstructred": {"sparsities": [0.5]}}}, "all_methods.kinds: unknown kind 'unstructred' (did you mean 'unstructured'?)"),
    ({"kinds": {"structured": {"sparsities": [0.5]}}},
     "all_methods: method 'magnitude-global' is of kind 'unstructured', which has no grid; add all_methods.kinds.unstructured"),
])
def test_all_methods_mistakes_are_named(entry_points, change, message):
    entry_points(("outside-magnitude", "outside_plugin:Outside", "outside-dist"))
    config = load_yaml(ROOT / "config" / "leaderboard.yaml")
    config["all_methods"].update(change)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        check_config(config)


def write_distribution(site: Path, module: str, source: str, dist: str, entries: dict[str, str]) -> None:
    """A distribution as an installer leaves it: the module and a `<dist>-<version>.dist-info` folder beside it."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")


def test_an_installed_distribution_is_found_by_a_fresh_interpreter(tmp_path):
    """No test double: `importlib.metadata` reads the dist-info folder on the path, as after `pip install`."""
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site, "outside_plugin", PLUGIN, "outside-dist", {"outside-magnitude": "outside_plugin:Outside"})
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "methods", "outside-*"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    # the distribution's release too: a row's provenance must say which version of a plugin made it
    assert done.stdout.split()[:2] == ["outside-magnitude", "unstructured"] and "[plugin outside-dist 0.1]" in done.stdout

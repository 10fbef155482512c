"""Files from others are data, never code: weights only from safetensors, no checkpoint's own code, YAML
through `safe_load`, and a config cannot point a run at a model folder outside the places allowed for it.

The source scan reads the syntax tree of every module of the harness, the methods, the analysis and the
scripts (and the text of the Snakemake rules), so a new `torch.load` or `trust_remote_code=True` fails here.
"""

from __future__ import annotations

import ast
import json
import pickle
import re
import shutil
from pathlib import Path

import pytest
import yaml

from _figures import count
from prunebench.benchmarks.cli import main
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.benchmarks.workflow_config import check_config

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("benchmarks", "methods", "analysis", "scripts")
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
UNSAFE_YAML = {"unsafe_load", "unsafe_load_all", "full_load", "full_load_all", "Loader", "UnsafeLoader", "FullLoader"}


def _name(node: ast.AST) -> str:
    """`a.b.c` for an attribute chain, '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _kw(call: ast.Call, key: str):
    for kw in call.keywords:
        if kw.arg == key:
            return kw.value
    return None


def _is(node, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def violations(source: str, where: str) -> list[str]:
    """Every way `source` could load code or pickles from a file it is handed."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{line}: imports {m}" for m in modules if m.split(".")[0] in UNSAFE_MODULES]
        if isinstance(node, ast.Attribute) and _name(node.value) == "yaml" and node.attr in UNSAFE_YAML:
            found.append(f"{line}: yaml.{node.attr}")
        if not isinstance(node, ast.Call):
            continue
        func = _name(node.func)
        if func in ("torch.load",) and not _is(_kw(node, "weights_only"), True):
            found.append(f"{line}: torch.load without weights_only=True")
        if func in ("np.load", "numpy.load") and _kw(node, "allow_pickle") is not None and not _is(_kw(node, "allow_pickle"), False):
            found.append(f"{line}: np.load with allow_pickle")
        if func.endswith("read_pickle"):
            found.append(f"{line}: {func}")
        if func in ("yaml.load", "yaml.load_all"):
            loader = _kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            if _name(loader) not in ("yaml.SafeLoader", "yaml.CSafeLoader", "SafeLoader", "CSafeLoader"):
                found.append(f"{line}: {func} without a safe loader")
        if func in ("eval", "exec"):
            found.append(f"{line}: {func}()")
        remote = _kw(node, "trust_remote_code")
        if remote is not None and not _is(remote, False):
            found.append(f"{line}: trust_remote_code is not False")
        if func.endswith(".from_pretrained") and re.search(r"(AutoModel|For[A-Z]\w*|Model)\.from_pretrained$", func) \
                and not _is(_kw(node, "use_safetensors"), True):
            found.append(f"{line}: {func} without use_safetensors=True")
    return found


def sources() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))


def test_the_source_loads_no_pickle_no_remote_code_no_unsafe_yaml():
    files = sources()
    assert len(files) > 40 and ROOT / "benchmarks" / "models.py" in files
    found = [v for path in files for v in violations(path.read_text(), str(path.relative_to(ROOT)))]
    rules = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    pattern = re.compile(r"torch\.load\(|pickle|yaml\.(unsafe_|full_)?load\(|trust_remote_code\s*=\s*True|\beval\(|\bexec\(")
    found += [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in rules
              for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_the_scan_finds_each_kind_of_unsafe_load():
    bad = """
import pickle
from dill import loads
import torch, yaml, numpy as np, pandas as pd
torch.load("w.pt")
torch.load("w.pt", weights_only=False)
np.load("a.npy", allow_pickle=True)
pd.read_pickle("x.pkl")
yaml.load(text)
yaml.load(text, Loader=yaml.FullLoader)
yaml.unsafe_load(text)
AutoTokenizer.from_pretrained(path, trust_remote_code=True)
AutoModelForSequenceClassification.from_pretrained(path)
eval("1 + 1")
"""
    flagged = {int(v.split(":")[1]) for v in violations(bad, "bad.py")}
    assert flagged == set(range(2, 15)) - {4}, "every line but the plain imports is unsafe"
    good = """
torch.load("w.pt", weights_only=True)
np.load("a.npz", allow_pickle=False)
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
AutoTokenizer.from_pretrained(path, trust_remote_code=False)
AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True, trust_remote_code=False)
model.eval()
"""
    assert violations(good, "good.py") == []


# --- model folders handed over by someone else --------------------------------------------------------

class _Marker:
    """Unpickling this creates a file: the proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


@pytest.fixture
def foreign(tmp_path, tiny_bert_dir):
    """A copy of the tiny model, as received from someone else, and a marker no load may create."""
    folder = tmp_path / "received"
    shutil.copytree(tiny_bert_dir, folder)
    return folder, tmp_path / "code-ran"


def _run(folder: Path, tmp_path: Path) -> list[str]:
    return ["run", "--model", f"local:{folder}", "--task", "rte", "--method", "dense", "--sparsity", "0",
            "--data-source", "embedded", "--device", "cpu", "--out", str(tmp_path / "out" / "row.csv")]


def _refused(argv, capsys, message: str, tmp_path: Path) -> None:
    capsys.readouterr()  # what the test printed before
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    count("inputs")


def test_pickle_weights_are_never_loaded(foreign, tmp_path, capsys):
    folder, marker = foreign
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": _Marker(marker)}))
    load_model(resolve(f"local:{folder}"), get_task("rte"))  # safetensors beside it: that one is read
    (folder / "model.safetensors").unlink()
    _refused(_run(folder, tmp_path), capsys, "has no model.safetensors (only safetensors weights are loaded)", tmp_path)
    assert not marker.exists()


def test_code_shipped_with_a_checkpoint_is_never_run(foreign, tmp_path, capsys):
    folder, marker = foreign
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w')\nfrom transformers import BertConfig as EvilConfig\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    load_model(resolve(f"local:{folder}"), get_task("rte"))  # a built-in model_type: the built-in code loads it
    config["model_type"] = "evil-bert"
    (folder / "config.json").write_text(json.dumps(config))
    _refused(_run(folder, tmp_path), capsys, "model_type 'evil-bert' is not built into transformers", tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0.5, 0.999, 0.0001])
def test_truncated_weights_are_refused_before_anything_runs(foreign, tmp_path, capsys, cut):
    folder, _ = foreign
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: int(weights.stat().st_size * cut)])
    _refused(_run(folder, tmp_path), capsys, f"{weights}: ", tmp_path)


# --- paths in configs ---------------------------------------------------------------------------------

def _config(model: str, tag: str = "t") -> dict:
    return {"tag": tag, "models": [model], "tasks": ["rte"], "seeds": [0], "methods": {"dense": {"sparsities": [0.0]}},
            "train": {}}


@pytest.fixture
def outside(tmp_path_factory, tiny_bert_dir, monkeypatch):
    """A valid model folder that is neither in the project, nor in the cache, nor in PRUNEBENCH_MODELS_DIRS."""
    base = tmp_path_factory.mktemp("elsewhere")
    shutil.copytree(tiny_bert_dir, base / "model")
    allowed = tmp_path_factory.mktemp("allowed")
    monkeypatch.setenv("PRUNEBENCH_MODELS_DIRS", str(allowed))
    monkeypatch.setenv("PRUNEBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    return base / "model", allowed


def test_a_config_model_outside_the_allowed_folders_is_refused(outside, monkeypatch):
    model, allowed = outside
    with pytest.raises(UsageError, match=r"is outside the allowed folders .* add its parent to PRUNEBENCH_MODELS_DIRS"):
        check_config(_config(f"local:{model}"))
    (allowed / "link").symlink_to(model, target_is_directory=True)  # a link inside does not lead out
    with pytest.raises(UsageError, match="is outside the allowed folders"):
        check_config(_config(f"local:{allowed / 'link'}"))
    monkeypatch.setenv("PRUNEBENCH_MODELS_DIRS", str(model.parent))
    check_config(_config(f"local:{model}"))
    count("inputs", 2)


def test_relative_model_folders_resolve_from_the_working_folder_and_may_not_climb(outside, monkeypatch, tmp_path):
    model, allowed = outside
    shutil.copytree(model, allowed / "tiny")
    monkeypatch.chdir(allowed)
    check_config(_config("local:tiny"))
    check_config(_config("tiny"))  # an existing folder without the prefix is a folder too
    monkeypatch.chdir(allowed / "tiny")
    for name in ("local:..", "local:../tiny", f"local:{allowed}/tiny/../tiny"):
        with pytest.raises(UsageError, match="a model folder may not contain '..'"):
            check_config(_config(name))
        count("inputs")


@pytest.mark.parametrize("model", ["minilm-l6;touch x", "minilm-l6 --force", "$(touch x)", "local:a b", "minilm-l6\n"])
def test_model_names_cannot_carry_shell_syntax(model):
    with pytest.raises(UsageError, match="may only hold letters, digits"):
        check_config(_config(model))
    count("inputs")


@pytest.mark.parametrize("tag", ["../x", "..", "a/b", "/abs", "x\n", "Up"])
def test_a_tag_cannot_name_another_folder(tag, tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config("minilm-l6", tag=tag)))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"prunebench: error: {path}: tag: ") and len(err.splitlines()) == 1
    count("inputs")


def test_yaml_tags_that_build_objects_are_refused(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(f"!!python/object/apply:os.system ['touch {tmp_path / 'ran'}']\n")
    assert main(["validate", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err and not (tmp_path / "ran").exists()
    count("inputs")

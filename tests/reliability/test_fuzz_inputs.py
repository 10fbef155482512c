"""Property-based fuzzing of everything a user types or hands over: `prunebench run` arguments, workflow
configs (`prunebench validate`), result CSVs (`prunebench validate`, `prunebench merge`).

Every generated input is malformed by construction (an unknown name, an out-of-range number, a broken
structure), judged from the documented rules and never by asking the code under test. The property: the
command returns 2, stderr holds only `prunebench...: error:` lines (exactly one, except for the
per-problem report of a results file), no traceback, and nothing is written: the working folder, the
cache and the given --out stay as they were. Hypothesis runs derandomized, so CI tries the same inputs
every time; each one is counted in the closing figures.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _figures import count
from prunebench.benchmarks.cli import main
from prunebench.benchmarks.config import TrainConfig
from prunebench.benchmarks.data import SOURCES
from prunebench.benchmarks.models import ALIASES
from prunebench.benchmarks.records import COLUMNS
from prunebench.benchmarks.tasks import TASKS
from prunebench.methods.base import KINDS
from prunebench.methods.registry import METHODS

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results/v1/results.csv"
ERROR_LINE = re.compile(r"^prunebench( [a-z]+)?: error: \S")
LAST_ERR = [""]  # stderr of the last refused command, for checks beyond the shared ones


def fuzz(examples: int):
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.filter_too_much, HealthCheck.data_too_large])


@contextmanager
def sandbox(bad_outs: bool = False):
    """A fresh working folder with its own cache; yields it and restores the old folder and environment.

    With ``bad_outs`` it holds the folder and the file of SANDBOX_FILES, at which no output can be written."""
    before_cwd, before_cache = os.getcwd(), os.environ.get("PRUNEBENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="prunebench-fuzz-") as folder:
        os.chdir(folder)
        if bad_outs:
            (Path(folder) / "adir").mkdir()
            (Path(folder) / "afile").write_text("")
        os.environ["PRUNEBENCH_CACHE"] = str(Path(folder) / "cache")
        try:
            yield Path(folder)
        finally:
            os.chdir(before_cwd)
            if before_cache is None:
                os.environ.pop("PRUNEBENCH_CACHE", None)
            else:
                os.environ["PRUNEBENCH_CACHE"] = before_cache


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_refused(argv: list[str], capsys, folder: Path, before: set[str], one_line: bool = True) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, f"exit {code} for {argv!r}: {err[-500:]}"
    assert lines and all(ERROR_LINE.match(line) for line in lines), f"{argv!r} -> {err!r}"
    assert len(lines) == 1 or not one_line, f"{argv!r} -> {len(lines)} lines: {err!r}"
    assert "Traceback" not in err and out == "", f"{argv!r} -> {out!r}"
    LAST_ERR[0] = err
    assert listing(folder) == before, f"{argv!r} wrote {sorted(listing(folder) - before)}"
    count("inputs")


# --- `prunebench run` ------------------------------------------------------------------------------

# the sandbox of the run fuzz holds a folder and a file; no row can be written at these paths
SANDBOX_FILES = {"adir", "afile"}
BAD_OUTS = ["adir", "afile/row.csv", "afile/sub/row.csv", ".", ""]
VALID_RUN = {"--model": "minilm-l6", "--task": "rte", "--method": "magnitude-global", "--sparsity": "0.5",
             "--seed": "0", "--data-source": "embedded", "--device": "cpu"}
REQUIRED = ("--model", "--task", "--method", "--sparsity")
OPTIONS = ("--model", "--task", "--method", "--sparsity", "--seed", "--max-train-samples", "--max-eval-samples",
           "--param", "--set", "--data-source", "--device", "--out", "--force", "--threads", "--help", "--verbose")

text = st.text(st.characters(blacklist_characters="\x00"), max_size=24)  # argv never holds NUL


def _float_or_none(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _int_or_none(s: str) -> int | None:
    try:
        return int(s.strip(), 10)
    except ValueError:
        return None


not_a_number = text.filter(lambda s: _float_or_none(s) is None)
not_an_int = text.filter(lambda s: _int_or_none(s) is None)
any_float = st.floats(allow_nan=True, allow_infinity=True)
# the documented valid ranges of TrainConfig (README, benchmarks/config.py comments); values outside are bad
INT_VALID = {"max_len": (8, 512), "batch_size": (1, None), "eval_batch_size": (1, None), "max_train_samples": (0, None),
             "max_eval_samples": (0, None), "pad_to_multiple": (0, None), "bench_repeats": (1, None)}
FLOAT_VALID = {"lr": lambda x: 0 < x < 1, "recovery_lr": lambda x: 0 < x < 1, "epochs": lambda x: 0 < x < math.inf,
               "recovery_epochs": lambda x: 0 <= x < math.inf, "warmup_ratio": lambda x: 0 <= x < 1,
               "weight_decay": lambda x: 0 <= x < math.inf, "max_grad_norm": lambda x: 0 <= x < math.inf}
LITERALS = {"schedule": ("linear", "polynomial", "constant"), "step_mode": ("auto", "auto-compile", "eager", "compile", "cuda-graphs"),
            "attention": ("sdpa", "eager")}
BOOLS = ("group_by_length", "bf16", "progress")
BOOL_WORDS = {"true", "false", "1", "0", "yes", "no"}
assert set(INT_VALID) | set(FLOAT_VALID) | set(LITERALS) | set(BOOLS) == {f for f in TrainConfig.__dataclass_fields__}


def bad_int(low: int, high: int | None) -> st.SearchStrategy[str]:
    out_of_range = st.integers(max_value=low - 1) if high is None else st.integers(max_value=low - 1) | st.integers(min_value=high + 1)
    return out_of_range.map(str) | not_an_int


def bad_train_pair() -> st.SearchStrategy[str]:
    """One `key=value` that no TrainConfig accepts."""
    cases = [st.tuples(st.just(k), bad_int(*r)) for k, r in INT_VALID.items()]
    cases += [st.tuples(st.just(k), any_float.filter(lambda x, ok=ok: not ok(x)).map(repr) | not_a_number)
              for k, ok in FLOAT_VALID.items()]
    cases += [st.tuples(st.just(k), text.filter(lambda s, o=o: s.strip() not in o)) for k, o in LITERALS.items()]
    cases += [st.tuples(st.just(k), text.filter(lambda s: s.strip().lower() not in BOOL_WORDS)) for k in BOOLS]
    pairs = st.one_of(cases).map(lambda kv: f"{kv[0]}={kv[1]}")
    unknown_key = st.tuples(text.filter(lambda s: "=" not in s and s.strip() and s.strip() not in TrainConfig.__dataclass_fields__),
                            text).map(lambda kv: f"{kv[0]}={kv[1]}")
    no_pair = text.filter(lambda s: "=" not in s or not s.partition("=")[0].strip())
    return pairs | unknown_key | no_pair


def unknown(names) -> st.SearchStrategy[str]:
    return text.filter(lambda s: s not in names)


def bad_model() -> st.SearchStrategy[str]:
    # neither an alias, nor a Hub id (hf:..., org/name), nor an existing folder (the sandbox is empty)
    plain = text.filter(lambda s: s not in ALIASES and not s.startswith("hf:") and "/" not in s and not Path(s).exists())
    folder = text.map(lambda s: f"local:{s}").filter(lambda s: not (Path(s[6:]) / "config.json").exists())
    return plain | folder


RUN_MUTATIONS = [
    bad_model().map(lambda v: ("set", "--model", v)),
    unknown(TASKS).map(lambda v: ("set", "--task", v)),
    unknown(METHODS).map(lambda v: ("set", "--method", v)),
    any_float.filter(lambda x: not 0 <= x < 1).map(lambda v: ("set", "--sparsity", repr(v))),
    not_a_number.map(lambda v: ("set", "--sparsity", v)),
    st.floats(0.001, 0.999).map(lambda v: ("dense", "--sparsity", repr(v))),  # dense does not prune
    st.integers(max_value=-1).map(lambda v: ("set", "--seed", str(v))),
    not_an_int.map(lambda v: ("set", "--seed", v)),
    st.integers(max_value=-1).map(lambda v: ("set", "--max-train-samples", str(v))),
    st.integers(max_value=-1).map(lambda v: ("set", "--max-eval-samples", str(v))),
    bad_train_pair().map(lambda v: ("append", "--set", v)),
    text.filter(lambda s: "=" not in s or not s.partition("=")[0].strip()).map(lambda v: ("append", "--param", v)),
    st.tuples(text.filter(lambda s: s.strip() and "=" not in s), text).map(lambda kv: ("append", "--param", f"{kv[0]}={kv[1]}")),
    unknown(SOURCES).map(lambda v: ("set", "--data-source", v)),
    text.filter(lambda s: s not in ("auto", "cpu") and not s.startswith("cuda")).map(lambda v: ("set", "--device", v)),
    st.integers(max_value=0).map(lambda v: ("set", "--threads", str(v))),
    st.sampled_from(REQUIRED).map(lambda k: ("drop", k, None)),
    text.filter(lambda s: s and not s.startswith("-")).map(lambda v: ("extra", None, v)),
    text.filter(lambda s: not any(o.startswith("--" + s) for o in OPTIONS)).map(lambda v: ("extra", None, f"--{v}")),
    st.sampled_from(BAD_OUTS).map(lambda v: ("out", None, v)),
]


def run_argv(mutations, out: Path) -> list[str]:
    args, extra = dict(VALID_RUN), []
    for kind, key, value in mutations:
        if kind == "out":
            out = value
        elif kind == "set":
            args[key] = value
        elif kind == "dense":
            args["--method"], args["--sparsity"] = "dense", value
        elif kind == "append":
            extra += [key, value]
        elif kind == "drop":
            args.pop(key, None)
        elif kind == "extra":
            extra.append(value)
        else:
            raise ValueError(kind)
    if args.get("--method") == "dense" and "--sparsity" in args and _float_or_none(args["--sparsity"]) == 0.0:
        args["--sparsity"] = "0.5"  # another mutation changed the method back; keep dense's input bad
    return ["run", *[x for kv in args.items() for x in kv], *extra, "--out", str(out)]


@fuzz(400)
@given(mutations=st.lists(st.one_of(RUN_MUTATIONS), min_size=1, max_size=3))
def test_malformed_run_arguments_fail_in_one_line_and_write_nothing(mutations, capsys):
    with sandbox(bad_outs=True) as folder:
        argv = run_argv(mutations, folder / "out" / "row.csv")
        assert_refused(argv, capsys, folder, before=SANDBOX_FILES)


PREPARE_MUTATIONS = [
    bad_model().map(lambda v: ["--model", v]),
    unknown(TASKS).map(lambda v: ["--task", v]),
    (st.integers(max_value=-1).map(str) | not_an_int).map(lambda v: ["--seed", v]),
    st.integers(max_value=-1).map(lambda v: ["--max-train-samples", str(v)]),
    bad_train_pair().map(lambda v: ["--set", v]),
    unknown(SOURCES).map(lambda v: ["--data-source", v]),
    st.sampled_from(BAD_OUTS).map(lambda v: ["--out", v]),
    text.filter(lambda s: s and not s.startswith("-")).map(lambda v: [v]),
]


@fuzz(100)
@given(mutations=st.lists(st.one_of(PREPARE_MUTATIONS), min_size=1, max_size=2))
def test_malformed_prepare_arguments_fail_in_one_line(mutations, capsys):
    """`prepare` (the workflow's first step) checks the same way, and its --out before any tokenising."""
    with sandbox(bad_outs=True) as folder:
        argv = ["prepare", "--model", "minilm-l6", "--task", "rte", "--data-source", "embedded", "--out", "summary.json"]
        for change in mutations:
            argv += change  # a later --model, --task, ... wins over the valid one
        assert_refused(argv, capsys, folder, before=SANDBOX_FILES)


@pytest.mark.parametrize("out", BAD_OUTS)
def test_merge_refuses_an_output_it_could_not_write(out, capsys):
    with sandbox(bad_outs=True) as folder:
        assert_refused(["merge", str(RESULTS), "--out", out], capsys, folder, before=SANDBOX_FILES)


# --- `prunebench validate CONFIG` -------------------------------------------------------------------

def valid_config() -> dict:
    return {
        "tag": "fuzz",
        "models": ["minilm-l6"],
        "tasks": ["rte", "sst2"],
        "seeds": [0, 1],
        "data_source": "embedded",
        "methods": {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5, 0.7]},
                    "distillation": {"sparsities": [0.5], "params": {"temperature": 2.0}}},
        "train": {"max_train_samples": 64, "epochs": 1},
        "task_train": {"rte": {"lr": 3e-5}},
    }


json_values = st.recursive(st.none() | st.booleans() | st.integers() | any_float | text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8)
TOP_TYPES = {"tag": str, "models": list, "tasks": list, "seeds": list, "data_source": str, "methods": dict,
             "train": dict, "task_train": dict}


def _wrong_type(key: str):
    want = TOP_TYPES[key]
    return json_values.filter(lambda v: not isinstance(v, want))


def _set_path(config: dict, path: tuple, value) -> dict:
    node = config
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return config


def _del_path(config: dict, path: tuple) -> dict:
    node = config
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return config


bad_tag = text.filter(lambda s: not re.fullmatch(r"[a-z0-9][a-z0-9-]*", s)) | st.sampled_from(["../x", "..", "a/b", "A", "-x", "", "smoke\n"])
unsafe = st.sampled_from([" ", ";", "|", "&", "$", "`", "'", '"', "\n", "(", ">", "<", "*", "\\", "\t"])
CONFIG_MUTATIONS = [
    st.sampled_from(["tag", "models", "tasks", "seeds", "methods", "train"]).map(lambda k: ("del", (k,), None)),
    text.filter(lambda s: s not in TOP_TYPES).flatmap(lambda k: json_values.map(lambda v: ("set", (k,), v))),
    st.sampled_from(sorted(TOP_TYPES)).flatmap(lambda k: _wrong_type(k).map(lambda v: ("set", (k,), v))),
    bad_tag.map(lambda v: ("set", ("tag",), v)),
    unknown(TASKS).map(lambda v: ("set", ("tasks", 1), v)),
    st.just(("set", ("tasks",), [])),
    st.just(("set", ("tasks",), ["rte", "rte"])),
    bad_model().map(lambda v: ("set", ("models", 0), v)),
    st.tuples(st.sampled_from(sorted(ALIASES)), unsafe, text).map(lambda t: ("set", ("models", 0), t[0] + t[1] + t[2])),
    text.map(lambda s: ("set", ("models", 0), f"local:../{s}")),
    st.integers(max_value=-1).map(lambda v: ("set", ("seeds", 0), v)),
    (any_float.filter(lambda x: not x.is_integer() if math.isfinite(x) else True) | text | st.booleans()).map(lambda v: ("set", ("seeds", 0), v)),
    st.just(("set", ("seeds",), [0, 0])),
    unknown(SOURCES).map(lambda v: ("set", ("data_source",), v)),
    unknown(METHODS).map(lambda v: ("set", ("methods", v), {"sparsities": [0.5]})),
    any_float.filter(lambda x: not 0 <= x < 1).map(lambda v: ("set", ("methods", "magnitude-global", "sparsities", 0), v)),
    (text | st.none() | st.booleans()).map(lambda v: ("set", ("methods", "magnitude-global", "sparsities", 1), v)),
    st.just(("set", ("methods", "magnitude-global", "sparsities"), [])),
    st.just(("del", ("methods", "magnitude-global", "sparsities"), None)),
    st.just(("set", ("methods",), {})),
    st.floats(0.001, 0.999).map(lambda v: ("set", ("methods", "dense", "sparsities"), [v])),
    text.filter(lambda s: s not in ("sparsities", "params")).map(lambda k: ("set", ("methods", "magnitude-global", k), 1)),
    text.filter(lambda s: s not in ("temperature", "kd_weight", "hidden_weight", "base")).map(
        lambda k: ("set", ("methods", "distillation", "params", k), 1.0)),
    any_float.filter(lambda x: not x > 0).map(lambda v: ("set", ("methods", "distillation", "params", "temperature"), v)),
    bad_train_pair().filter(lambda p: "=" in p and p.partition("=")[0].strip() == p.partition("=")[0]).map(
        lambda p: ("set", ("train", p.partition("=")[0]), p.partition("=")[2])),
    st.sampled_from(sorted(INT_VALID)).flatmap(lambda k: bad_int(*INT_VALID[k]).filter(lambda s: _int_or_none(s) is not None)
                                                .map(lambda v, k=k: ("set", ("train", k), int(v)))),
    unknown(["rte", "sst2"]).map(lambda t: ("set", ("task_train", t), {})),
    text.filter(lambda s: s not in TrainConfig.__dataclass_fields__).map(lambda k: ("set", ("task_train", "rte", k), 1)),
    st.just(("set", ("train", "lr"), "3e-5 ; touch x")),
    st.sampled_from([1, None, 2.5, True]).map(lambda k: ("set", ("methods", k), {"sparsities": [0.5]})),
]


def mutated_config(mutations) -> dict:
    config = valid_config()
    for kind, path, value in mutations:
        try:
            if kind == "set":
                _set_path(config, path, value)
            else:
                _del_path(config, path)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or retyped the parent: that one already breaks the config
    return config


def changed(config: dict) -> bool:
    return config != valid_config()


@fuzz(400)
@given(mutations=st.lists(st.one_of(CONFIG_MUTATIONS), min_size=1, max_size=3).map(mutated_config).filter(changed))
def test_malformed_workflow_configs_fail_in_one_line(mutations, capsys):
    with sandbox() as folder:
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(mutations, allow_unicode=True))
        assert_refused(["validate", str(path)], capsys, folder, before={"config.yaml"})


RAW_YAML = [
    text.filter(lambda s: not s.strip().startswith("tag")),  # anything else is at best a mapping missing `tag`
    st.binary(min_size=1, max_size=64).map(lambda b: b"\x80" + b),  # not UTF-8
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),  # deep nesting
    st.just("a: &x [*x]\n"),  # a list that contains itself
    st.just("tag: t\nmodels: &m [*m]\ntasks: [rte]\nseeds: [0]\nmethods: {dense: {sparsities: [0.0]}}\ntrain: {}\n"),
    st.just("!!python/object/apply:os.system ['touch pwned']\n"),  # code, refused by safe_load
    st.just("tag: t\nmodels: [minilm-l6]\ntasks: [rte]\nseeds: [0]\nmethods: {dense: {sparsities: [.nan]}}\ntrain: {}\n"),
    st.just("{1: 2}\n"),
    st.just(""),
]


@fuzz(150)
@given(raw=st.one_of(RAW_YAML))
def test_unparsable_or_hostile_yaml_fails_in_one_line(raw, capsys):
    with sandbox() as folder:
        path = folder / "config.yaml"
        path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
        assert_refused(["validate", str(path)], capsys, folder, before={"config.yaml"})
        assert not (folder / "pwned").exists()


def test_validate_of_a_folder_or_a_missing_file_is_one_line(capsys):
    with sandbox() as folder:
        (folder / "dir.yaml").mkdir()
        assert_refused(["validate", "dir.yaml"], capsys, folder, before={"dir.yaml"})
        assert_refused(["validate", "missing.yaml"], capsys, folder, before={"dir.yaml"})
        assert_refused(["validate", "missing.csv"], capsys, folder, before={"dir.yaml"})


# --- `prunebench validate RESULTS.csv` and `prunebench merge` ----------------------------------------

def committed_rows() -> list[list[str]]:
    with open(RESULTS, newline="") as f:
        return list(csv.reader(f))[1:]


ROWS = committed_rows()
INT_COLUMNS = ("schema_version", "seed", "train_examples", "params_total", "params_nonzero", "flops")
FLOAT_COLUMNS = ("target_sparsity", "achieved_sparsity", "score", "dense_score", "latency_ms", "throughput",
                 "peak_mem_mb", "model_size_mb", "train_seconds")


def _json_object(s: str) -> bool:
    try:
        return isinstance(json.loads(s), dict)
    except ValueError:
        return False


def _cell(column: str) -> st.SearchStrategy[str]:
    """A value no schema-v1 row may hold in `column`."""
    if column in INT_COLUMNS:
        bad = text.filter(lambda s: not re.fullmatch(r"[+-]?[0-9]+", s) and (column != "flops" or s != ""))
        if column == "schema_version":
            bad |= st.integers().filter(lambda v: v != 1).map(str)
        if column in ("seed", "flops"):
            bad |= st.integers(max_value=-1).map(str)
        if column in ("train_examples", "params_total"):
            bad |= st.integers(max_value=0).map(str)
        return bad
    if column in FLOAT_COLUMNS:
        optional = column in ("latency_ms", "throughput", "peak_mem_mb")
        bad = text.filter(lambda s: (_float_or_none(s) is None or not math.isfinite(_float_or_none(s))) and (s != "" or not optional))
        if column in ("target_sparsity", "achieved_sparsity"):
            bad |= any_float.filter(lambda x: not 0 <= x < 1).map(repr)
        elif column in ("score", "dense_score"):
            bad |= st.floats(100.0, exclude_min=True).map(repr) | st.floats(max_value=-100.0, exclude_max=True).map(repr)
        else:
            bad |= st.floats(max_value=-1e-9).map(repr)
        return bad
    if column in ("method_params", "metrics"):
        return text.filter(lambda s: not _json_object(s)) | st.lists(st.integers(), max_size=2).map(json.dumps)
    if column == "task":
        return unknown(TASKS)
    if column == "run_id":
        return text.filter(lambda s: not re.fullmatch(r"[0-9a-f]{16}", s))
    if column == "config_hash":
        return text.filter(lambda s: not re.fullmatch(r"[0-9a-f]{64}", s))
    if column == "created_at":
        return text.filter(lambda s: not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)", s))
    if column == "data_source":
        return text.filter(lambda s: not re.fullmatch(r"(hub|glue_dir|embedded)(:qqp-subset)?", s))
    return st.just("")  # other text columns: empty is the malformed value


def _write(rows: list[list[str]], header=COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@st.composite
def corrupted_csv(draw) -> str:
    rows = [list(r) for r in draw(st.lists(st.sampled_from(ROWS), min_size=1, max_size=4, unique_by=lambda r: r[1]))]
    kind = draw(st.sampled_from(["cell", "truncate", "duplicate", "fields", "header", "blank"]))
    if kind == "cell":
        i, column = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(COLUMNS))
        rows[i][COLUMNS.index(column)] = draw(_cell(column))
        return _write(rows)
    if kind == "duplicate":
        return _write([*rows, rows[draw(st.integers(0, len(rows) - 1))]])
    if kind == "fields":
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i][: draw(st.integers(0, len(COLUMNS) - 1))] if draw(st.booleans()) else [*rows[i], draw(text)]
        return _write(rows)
    if kind == "header":
        header = list(COLUMNS)
        j = draw(st.integers(0, len(header) - 1))
        header[j] = draw(text.filter(lambda s: s != COLUMNS[j]))
        return _write(rows, header)
    if kind == "blank":
        lines = _write(rows).splitlines(keepends=True)
        lines.insert(draw(st.integers(1, len(lines))), "\n")
        return "".join(lines)
    full = _write(rows)  # truncate: cut strictly inside the last row, so a partial row remains
    start = full.rstrip("\n").rfind("\n") + 1
    return full[: draw(st.integers(start + 1, len(full) - 2))]


@fuzz(300)
@given(content=corrupted_csv())
def test_corrupted_results_are_reported_with_line_numbers(content, capsys):
    with sandbox() as folder:
        path = folder / "results.csv"
        path.write_text(content, encoding="utf-8")
        assert_refused(["validate", str(path)], capsys, folder, before={"results.csv"}, one_line=False)
        assert re.search(rf"^prunebench: error: {re.escape(str(path))}:\d+: ", LAST_ERR[0], re.M)


@fuzz(150)
@given(content=corrupted_csv())
def test_merge_refuses_a_corrupted_row_file_and_keeps_the_old_csv(content, capsys):
    with sandbox() as folder:
        runs = folder / "runs"
        (runs / "a").mkdir(parents=True)
        (runs / "a" / "bad.csv").write_text(content, encoding="utf-8")
        (folder / "results.csv").write_text("previous\n")
        before = listing(folder)
        assert_refused(["merge", str(runs), "--out", str(folder / "results.csv")], capsys, folder, before)
        assert (folder / "results.csv").read_text() == "previous\n"


@fuzz(100)
@given(kind=unknown(KINDS) | st.none(), pattern=text.filter(lambda s: not any(c in s for c in "*?[")) | st.none())
def test_methods_with_no_match_fail_in_one_line(kind, pattern, capsys):
    from prunebench.methods.registry import list_methods

    if kind is None and (pattern is None or list_methods(pattern)):
        kind = "no-such-kind"  # keep the input malformed by construction: the listing would succeed
    argv = ["methods", *([pattern] if pattern is not None else []), *(["--kind", kind] if kind is not None else [])]
    with sandbox() as folder:
        assert_refused(argv, capsys, folder, before=set())

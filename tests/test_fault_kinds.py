"""The fault kinds of issue 17, one section each: every case is a failure people have reported in public about
pruning and fine-tuning BERT-family models on GLUE, tried against PruneBench, and every test asserts the right
outcome (not merely "no crash").

Kinds: (1) a start's classification head must be fresh for the task; (2) a ratio over a dense score near or below
zero; (3) a composite method must refuse what its parts refuse; (4) a value the model or the data cannot take
fails up front; (5) a time or size claim without a measurement; and two single faults (a single-class evaluation split, the `methods` listing's columns).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch

from _tiny import one_thread  # noqa: F401  (autouse fixture: one intra-op thread)
from conftest import FAST_TRAIN, _tokenizer_into
from prunebench.benchmarks.cli import main
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
RTE_LABELS = {0: "entailment", 1: "not_entailment"}


def _cache_files(kind: str) -> set[Path]:
    """Every file under one part of the session's PruneBench cache (`dense`, `tokens`)."""
    import os

    folder = Path(os.environ["PRUNEBENCH_CACHE"]) / kind
    return set(folder.rglob("*")) if folder.exists() else set()


# --- kind 1: a checkpoint's classification head is kept instead of a fresh one --------------------------------

@pytest.fixture(scope="module")
def rte_bert_dir(tmp_path_factory) -> Path:
    """A tiny BERT 'fine-tuned on RTE': a 2-label head of weight 0.5, bias [3, -3], RTE's label names."""
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("rte-bert")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=160, num_labels=2, id2label=RTE_LABELS,
                        label2id={v: k for k, v in RTE_LABELS.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.fill_(0.5)
        model.classifier.bias.copy_(torch.tensor([3.0, -3.0]))
    model.save_pretrained(folder, safe_serialization=True)
    _tokenizer_into(folder)
    return folder


@pytest.fixture(scope="module")
def mnli_distilbert_dir(tmp_path_factory) -> Path:
    """A tiny DistilBERT with a 3-label head (MNLI-like) whose two head layers are all 0.5."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    folder = tmp_path_factory.mktemp("mnli-distilbert")
    config = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=160,
                              num_labels=3)
    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(config)
    with torch.no_grad():
        for layer in (model.pre_classifier, model.classifier):
            layer.weight.fill_(0.5)
            layer.bias.fill_(0.5)
    model.save_pretrained(folder, safe_serialization=True)
    _tokenizer_into(folder)
    return folder


def test_a_checkpoints_head_of_the_same_size_is_replaced_by_a_fresh_one(rte_bert_dir):
    """Kind 1 (stale head): an RTE head loaded for WNLI (same label count, opposite label 0) is re-initialised
    as the config's initializer does (normal, std = initializer_range; bias 0) and carries WNLI's label names."""
    torch.manual_seed(0)
    model = load_model(resolve(f"local:{rte_bert_dir}"), get_task("wnli"))
    weight, bias = model.classifier.weight.detach(), model.classifier.bias.detach()
    assert not torch.any(weight == 0.5)
    assert float(weight.std()) == pytest.approx(model.config.initializer_range, rel=0.35)
    assert bias.tolist() == [0.0, 0.0]
    assert model.config.id2label == {0: "not_entailment", 1: "entailment"}
    assert model.config.label2id == {"not_entailment": 0, "entailment": 1}


def test_every_layer_of_a_two_layer_head_is_fresh(mnli_distilbert_dir):
    """Kind 1 (stale head): DistilBERT's head is pre_classifier + classifier; a 3-label checkpoint loaded for SST-2
    must not keep its 32x32 pre_classifier (same shape, so it was loaded) next to a fresh 2-label classifier."""
    torch.manual_seed(0)
    model = load_model(resolve(f"local:{mnli_distilbert_dir}"), get_task("sst2"))
    for layer in (model.pre_classifier, model.classifier):
        assert not torch.any(layer.weight == 0.5) and layer.bias.abs().max() == 0
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_the_dense_fine_tuned_checkpoint_keeps_its_trained_head(rte_bert_dir):
    """Kind 1 (stale head), the exception: a run's own fine-tuned checkpoint (`location=`) is loaded as trained."""
    model = load_model(resolve(f"local:{rte_bert_dir}"), get_task("rte"), location=str(rte_bert_dir))
    assert model.classifier.bias.tolist() == [3.0, -3.0]
    assert bool(torch.all(model.classifier.weight == 0.5))


def test_a_headless_start_is_seeded_as_before(tiny_bert_dir):
    """Kind 1 (stale head): a start without a head (a pre-trained release) still gets the seeded fresh head, the
    same one for the same seed, so rows made before this fix stay reproducible."""
    heads = []
    for _ in range(2):
        torch.manual_seed(0)
        heads.append(load_model(resolve(f"local:{tiny_bert_dir}"), get_task("rte")).classifier.weight.detach())
    assert torch.equal(heads[0], heads[1])
    assert float(heads[0].std()) == pytest.approx(0.02, rel=0.35)


def test_the_dense_checkpoint_records_the_tasks_label_meaning(rte_bert_dir, run_cli):
    """Kind 1 (stale head): every start path goes through `load_model` (the dense fine-tune, and the pre-trained
    starts of lottery ticket, LoRA, SNIP, GraSP, movement via `Run.pretrained`); the dense checkpoint a WNLI run
    saves names WNLI's labels, not the RTE ones of the folder it started from."""
    code, out = run_cli(rte_bert_dir, task="wnli", method="dense", sparsity=0.0)
    assert code == 0
    folder = Path(json.loads(out.with_suffix(".json").read_text())["dense_checkpoint"])
    saved = json.loads((folder / "config.json").read_text())
    assert saved["id2label"] == {"0": "not_entailment", "1": "entailment"}


def test_pretrained_starts_get_the_fresh_head(rte_bert_dir):
    """Kind 1 (stale head): `Run.pretrained` (lottery ticket, LoRA, SNIP, GraSP, movement, layer-drop) loads the
    start with a fresh head too."""
    from prunebench.benchmarks.config import RunConfig, TrainConfig, parse_overrides
    from prunebench.benchmarks.runner import Run, prepare

    cfg = RunConfig(f"local:{rte_bert_dir}", "rte", "snip", 0.5, train=parse_overrides(TrainConfig(), FAST_TRAIN),
                    data_source="embedded")
    model = Run(prepare(cfg), torch.device("cpu")).pretrained()
    assert model.classifier.bias.tolist() == [0.0, 0.0] and not torch.any(model.classifier.weight == 0.5)


# --- kind 2: a ratio with a non-positive or tiny denominator ------------------------------------------------------

@pytest.fixture(scope="module")
def collapsed_cola_csv(tmp_path_factory) -> Path:
    """The published results with CoLA's dense model collapsed: the three dense rows score MCC 0 (metrics kept
    consistent) and every CoLA row records dense_score 0."""
    import pandas as pd

    df = pd.read_csv(ROOT / "results" / "v1" / "results.csv", dtype=str, keep_default_na=False)
    cola = df["task"] == "cola"
    dense = cola & (df["method"] == "dense")
    assert dense.sum() >= 1 and cola.sum() > dense.sum()
    df.loc[cola, "dense_score"] = "0.0"
    df.loc[dense, "score"] = "0.0"
    df.loc[dense, "metrics"] = [json.dumps({**json.loads(m), "mcc": 0.0}, sort_keys=True) for m in df.loc[dense, "metrics"]]
    path = tmp_path_factory.mktemp("collapsed") / "results.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    return path


def test_validate_warns_about_rows_whose_ratio_is_undefined(collapsed_cola_csv, capsys):
    """Kind 2 (ratio over a dense score <= 0 or tiny): `validate` still accepts the file (exit 0) but warns, on
    stderr, that the CoLA rows' retained score is undefined and will be left out."""
    assert main(["validate", str(collapsed_cola_csv)]) == 0
    captured = capsys.readouterr()
    assert "rows, OK" in captured.out
    warnings = [line for line in captured.err.splitlines() if line.startswith("prunebench: warning:")]
    assert warnings and all("dense_score" in line for line in warnings)
    import pandas as pd

    cola = int((pd.read_csv(collapsed_cola_csv, usecols=["task"])["task"] == "cola").sum())
    assert f"{cola} row(s) of minilm-l6 cola" in captured.err


def test_the_leaderboard_leaves_out_a_task_whose_dense_score_is_not_positive(collapsed_cola_csv):
    """Kind 2 (ratio over a dense score <= 0 or tiny): no `inf`, no silently skipped cell; the task is left out of
    every ratio metric for every method, so the ranking equals the ranking over the other tasks, and a note
    names it."""
    import pandas as pd

    from prunebench.analysis.ranking import leaderboard, leaderboard_tables
    from prunebench.analysis.results import load_results

    collapsed = load_results(collapsed_cola_csv)
    board = leaderboard(collapsed)
    numbers = board.select_dtypes("number")
    assert not numbers.isin([math.inf, -math.inf]).any().any()
    without = leaderboard(collapsed[collapsed["task"] != "cola"])
    full = board[board["regime_family"] == "full"]
    expected = without[without["regime_family"] == "full"]
    pd.testing.assert_frame_equal(full.reset_index(drop=True), expected.reset_index(drop=True))  # intervals too
    assert not any("cola" in t.split() for t in full["tasks"])
    notes = " ".join(n for t in leaderboard_tables(board) for n in t.notes)
    assert "cola" in notes and "left out" in notes


def test_retained_is_undefined_below_the_documented_dense_floor():
    """Kind 2 (ratio over a dense score <= 0 or tiny): one function decides; a dense score at or below the floor
    (negative, zero, tiny) gives NaN for every seed of the task, never inf or a sign flip."""
    import pandas as pd

    from prunebench.analysis.retained import MIN_DENSE_SCORE, retained

    df = pd.DataFrame({"model": "m", "task": ["cola"] * 3 + ["sst2"] * 2, "regime": "full",
                       "score": [10.0, 20.0, 30.0, 45.0, 90.0],
                       "dense_score": [-4.0, 40.0, 40.0, 90.0, 90.0]})
    out = retained(df)
    assert out[:3].isna().all()  # one seed's dense model collapsed: the task's ratio is undefined for all seeds
    assert out[3:].tolist() == [0.5, 1.0]
    tiny = df.assign(dense_score=[MIN_DENSE_SCORE / 2, 40.0, 40.0, 90.0, 90.0])
    assert retained(tiny)[:3].isna().all()


# --- kind 3: composite methods skip their parts' checks ---------------------------------------------------------

@pytest.mark.parametrize("params, sparsity, message", [
    (["base=magnitude-2of4"], 0.7, "method 'magnitude-2of4' prunes to a fixed sparsity: got 0.7, valid: 0.5"),
    (["base=dense"], 0.5, "method 'dense' does not prune: use --sparsity 0"),
])
def test_distillation_refuses_what_its_base_refuses(params, sparsity, message, tiny_bert_dir, run_cli, capsys):
    """Kind 3 (composite skips its parts' checks): one line, exit 2, before the dense model is fine-tuned."""
    dense_before = _cache_files("dense")
    extra = [x for p in params for x in ("--param", p)]
    code, out = run_cli(tiny_bert_dir, method="distillation", sparsity=sparsity, extra=extra)
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert "distillation" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and _cache_files("dense") == dense_before


def test_validate_refuses_a_composite_variant_its_base_refuses(tmp_path, capsys):
    """Kind 3 (composite skips its parts' checks): `prunebench validate` (and the workflow, which runs the same
    check_config) refuses the variant, naming the config key."""
    path = tmp_path / "c.yaml"
    path.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0]\ntrain: {}\nmethods:\n"
                    "  distillation@x: {params: {base: magnitude-2of4}, sparsities: [0.7]}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "methods.distillation@x" in err and "valid: 0.5" in err and len(err.strip().splitlines()) == 1


def test_a_future_composite_method_gets_its_parts_checked_for_free():
    """Kind 3 (composite skips its parts' checks): a method that declares its parts through `parts()` is checked
    by the one function `check_method`, part by part, with no code of its own."""
    from dataclasses import dataclass

    from prunebench.methods.base import Method, check_method

    @dataclass(frozen=True)
    class WrapperParams:
        inner: str = "magnitude-global"

    class Wrapper(Method):
        """A toy composite."""

        name, kind, Params = "wrapper", "combined", WrapperParams

        @classmethod
        def parts(cls, params):
            return {"inner": params.inner}

    assert check_method(Wrapper, 0.7, {}).inner == "magnitude-global"
    with pytest.raises(ValueError, match="inner=magnitude-2of4: method 'magnitude-2of4' prunes to a fixed sparsity"):
        check_method(Wrapper, 0.7, {"inner": "magnitude-2of4"})
    assert check_method(Wrapper, 0.5, {"inner": "magnitude-2of4"}).inner == "magnitude-2of4"


def _refusal(cls, sparsity: float, params: dict) -> str | None:
    from prunebench.methods.base import check_method

    try:
        check_method(cls, sparsity, params)
    except ValueError as exc:
        return str(exc)
    return None


def _bases() -> list[str]:
    from prunebench.methods.registry import list_methods

    return [name for name in list_methods() if name != "distillation"]


@pytest.mark.parametrize("base", _bases())
def test_distillation_refuses_exactly_what_each_base_refuses(base):
    """Kind 3 (composite skips its parts' checks), over the whole registry: every method, including ones added
    later (SparseGPT, oBERT, plugins), is refused as a base exactly where it is refused alone."""
    from prunebench.methods.registry import get

    for sparsity in (0.0, 0.5, 0.7):
        alone, wrapped = _refusal(get(base), sparsity, {}), _refusal(get("distillation"), sparsity, {"base": base})
        assert (alone is None) == (wrapped is None), (sparsity, alone, wrapped)
        assert alone is None or alone in wrapped


def test_every_registered_composite_declares_its_parts():
    """Kind 3 (composite skips its parts' checks): distillation names its base; a part must itself be registered."""
    from prunebench.methods.registry import get

    distillation = get("distillation")
    assert distillation.parts(distillation.parse_params({"base": "snip"})) == {"base": "snip"}
    for name in ("magnitude-global", "lora-prune", "prune-lora", "lottery-ticket"):
        cls = get(name)
        assert cls.parts(cls.Params()) == {}, f"{name} runs no other registered method"


# --- kind 4: a value the model or the data cannot take fails late -----------------------------------------------

def _refused(run_cli, capsys, model, **kwargs) -> str:
    tokens_before, dense_before = _cache_files("tokens"), _cache_files("dense")
    code, out = run_cli(model, **kwargs)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert _cache_files("tokens") == tokens_before and _cache_files("dense") == dense_before, "nothing may be written"
    return err


def test_max_len_beyond_the_models_position_embeddings_is_refused(tiny_bert_dir, run_cli, capsys):
    """Kind 4 (value the model cannot take): max_len 512 on a model with 160 position embeddings."""
    err = _refused(run_cli, capsys, tiny_bert_dir, train=[*FAST_TRAIN, "max_len=512"])
    assert "max_len 512" in err and "160 position embeddings" in err and "valid: 8 to 160" in err


@pytest.mark.parametrize("method, sparsity, params, message", [
    ("layer-drop", 0.9, [], "layer-drop at sparsity 0.9 drops 2 of 2 layers"),
    ("layer-drop", 0.1, [], "layer-drop at sparsity 0.1 drops 0 of 2 layers"),
    ("head-pruning", 0.9, [], "head-pruning at sparsity 0.9 removes 7 of 8 heads"),
    ("ffn-pruning", 0.001, [], "ffn-pruning at sparsity 0.001 removes 0 of 128 FFN neurons"),
    ("snip", 0.5, ["batches=9"], "snip batches=9: the training split gives 4 batches"),
    ("grasp", 0.5, ["batches=9"], "grasp batches=9: the training split gives 4 batches"),
    ("head-pruning", 0.5, ["importance_batches=9"], "head-pruning importance_batches=9: the training split gives 4 batches"),
    ("lottery-ticket", 0.5, ["rewind=early", "rewind_epochs=2"], "lottery-ticket rewind_epochs=2"),
    ("distillation", 0.9, ["base=layer-drop"], "layer-drop at sparsity 0.9 drops 2 of 2 layers"),
])
def test_a_method_value_the_model_or_data_cannot_take_is_refused(method, sparsity, params, message, tiny_bert_dir,
                                                                   run_cli, capsys):
    """Kind 4 (value the model or the split cannot take): checked against the model's config (layers, heads, FFN
    width) and the training split (64 examples in batches of 16 = 4 batches) before anything runs; the one line
    names the value, the limit and the valid range."""
    extra = [x for p in params for x in ("--param", p)]
    err = _refused(run_cli, capsys, tiny_bert_dir, method=method, sparsity=sparsity, extra=extra)
    assert message in err and "valid" in err


def test_a_default_scoring_size_adapts_to_a_small_split(tiny_bert_dir):
    """Kind 4 (value the split cannot take), the exception: only an explicit ask is refused; SNIP's default of 4
    batches on a 2-batch split takes what there is (methods/README.md: defaults must work on small data)."""
    from prunebench.benchmarks.config import RunConfig, TrainConfig, parse_overrides
    from prunebench.benchmarks.runner import prepare

    train = parse_overrides(TrainConfig(), [*FAST_TRAIN, "max_train_samples=32"])
    assert prepare(RunConfig(f"local:{tiny_bert_dir}", "sst2", "snip", 0.5, train=train, data_source="embedded"))
    with pytest.raises(ValueError, match="snip batches=3: the training split gives 2 batches"):
        prepare(RunConfig(f"local:{tiny_bert_dir}", "sst2", "snip", 0.5, method_params={"batches": "3"}, train=train,
                          data_source="embedded"))


def test_a_model_type_without_a_pruning_role_map_is_refused(tmp_path, run_cli, capsys):
    """Kind 4 (architecture the methods cannot take): no role map means no prunable weights, found mid-run before."""
    from transformers import ElectraConfig, ElectraModel

    folder = tmp_path / "electra"
    ElectraModel(ElectraConfig(vocab_size=30522, embedding_size=32, hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=32)).save_pretrained(folder)
    _tokenizer_into(folder)
    capsys.readouterr()  # the save's progress bar
    err = _refused(run_cli, capsys, folder)
    assert "model_type 'electra'" in err and "bert, distilbert" in err


def test_validate_checks_the_recipe_against_each_model(tiny_bert_dir, tmp_path, capsys):
    """Kind 4 (value the model cannot take): a workflow config is checked against each model's config too."""
    path = tmp_path / "c.yaml"

    def config(sparsities: str, max_len: int) -> str:  # built whole: the model's path may hold any digits
        return (f"tag: t\nmodels: ['local:{tiny_bert_dir}']\ntasks: [sst2]\nseeds: [0]\n"
                f"methods: {{layer-drop: {{sparsities: [{sparsities}]}}}}\ntrain: {{max_len: {max_len}}}\n")

    path.write_text(config("0.5, 0.9", 128))
    assert main(["validate", str(path)]) == 2
    assert "methods.layer-drop" in capsys.readouterr().err
    path.write_text(config("0.5", 256))
    assert main(["validate", str(path)]) == 2
    assert "max_len 256" in capsys.readouterr().err


# --- single faults ------------------------------------------------------------------------------------------------

def test_an_evaluation_split_with_one_class_is_refused_for_mcc(tiny_bert_dir, run_cli, capsys):
    """Single-class evaluation split: MCC is 0 for any prediction when the gold labels hold one class (F1 likewise
    without a positive example), so such a split is refused for CoLA up front, not reported as a score of 0."""
    from prunebench.benchmarks.metrics import check_eval_labels

    cola = get_task("cola")
    with pytest.raises(ValueError, match="one class"):
        check_eval_labels(cola, [1, 1, 1], "validation")
    check_eval_labels(cola, [0, 1, 1], "validation")
    with pytest.raises(ValueError, match="no positive"):
        check_eval_labels(get_task("mrpc"), [0, 0, 0], "validation")
    check_eval_labels(get_task("sst2"), [1, 1, 1], "validation")  # accuracy is defined on one class
    err = _refused(run_cli, capsys, tiny_bert_dir, task="cola", train=[*FAST_TRAIN[:-1], "max_eval_samples=1"])
    assert "mcc" in err and "cola" in err


class LongNamedMethod:
    """Stand-in for a plugin with a long name (used through the registry's lazy "module:Class" string)."""


def test_methods_listing_aligns_columns_for_long_names(capsys, monkeypatch):
    """Misaligned listing: the kind column starts at the same position on every line, whatever the name length."""
    from prunebench.methods import registry
    from prunebench.methods.magnitude import GlobalMagnitude

    long = "magnitude-global-with-a-much-longer-name"
    monkeypatch.setitem(globals(), "LongNamedMethod", type("LongNamedMethod", (GlobalMagnitude,), {"name": long}))
    monkeypatch.setitem(registry.METHODS, long, f"{__name__}:LongNamedMethod")
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(long + " ") for line in lines)
    starts = set()
    for line in lines:
        name = line.split()[0]
        rest = line[len(name):]
        starts.add(len(name) + len(rest) - len(rest.lstrip()))
    assert starts == {len(long) + 2}


# --- kind 5: time, size and speed claims that do not hold ---------------------------------------------------------

CLAIM = re.compile(r"\b(\d[\d.,]*\s*(min|minutes?|seconds?|hours?|MB|MiB|GB|GiB)|minutes|a minute|seconds|hours|instant(ly)?)\b",
                   re.IGNORECASE)
MEASUREMENTS = ("results/timing.md", "results/v1/README.md", "paper/README.md")  # committed records of measurements


def test_every_time_or_size_claim_in_the_docs_names_its_measurement():
    """Kind 5 (unbacked time claim): a README paragraph, config comment or the project metadata that states a time
    or size also names the committed file that measured it; help text states none."""
    unbacked = []
    for path in ["README.md", "Snakefile", "pyproject.toml", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config").glob("*.yaml"))]:
        for block in re.split(r"\n\s*\n", (ROOT / path).read_text()):
            if CLAIM.search(block) and not any(source in block for source in MEASUREMENTS):
                unbacked.append(f"{path}: {CLAIM.search(block).group(0)!r} in {block[:80]!r}")
    assert unbacked == []
    from prunebench.benchmarks.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    helps = [parser.format_help(), *(sub.format_help() for sub in commands.values())]
    assert [CLAIM.search(h).group(0) for h in helps if CLAIM.search(h)] == []
    assert "quiet" in (ROOT / "results" / "timing.md").read_text()


def test_count_work_counts_the_steps_a_config_asks_for(tiny_bert_dir, tmp_path):
    """Kind 5 (unbacked time claim): the smoke grid's claim rests on counted work, so the count must be right:
    64 training examples in batches of 16 = 4 steps an epoch; the dense checkpoint (1 epoch) is counted once for
    the two runs that share it, and each magnitude run trains 1 recovery epoch."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("count_work", ROOT / "scripts" / "count_work.py")
    count_work = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(count_work)
    config = tmp_path / "c.yaml"
    config.write_text(f"tag: t\nmodels: ['local:{tiny_bert_dir}']\ntasks: [sst2]\nseeds: [0]\ndata_source: embedded\n"
                      "methods: {dense: {sparsities: [0.0]}, magnitude-global: {sparsities: [0.5, 0.7]}}\n"
                      "train: {epochs: 1, recovery_epochs: 1, batch_size: 16, max_train_samples: 64, max_eval_samples: 48,"
                      " bench_repeats: 1}\n")
    work = count_work.count(config)
    assert work["runs"] == 3
    assert work["dense fine-tuning steps"] == 4 and work["method training steps"] == 8
    assert work["training examples"] == 3 * 64 and work["evaluation examples"] == 3 * 48

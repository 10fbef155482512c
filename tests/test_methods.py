"""The method registry and plugin contract, tested over every registered method."""

import dataclasses

import pytest

from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods import _structure
from prunebench.methods.base import KINDS, Method
from prunebench.methods.registry import get, list_methods


def test_registry_lists_the_first_methods():
    assert {"dense", "magnitude-global", "magnitude-layerwise"} <= set(list_methods())
    assert list_methods("magnitude-*") == ["magnitude-global", "magnitude-layerwise", "magnitude-2of4", "magnitude-pretrained"]
    assert list_methods(kind="baseline") == ["dense"]


@pytest.mark.parametrize("name", list_methods())  # built-ins and installed plugins
def test_every_method_declares_the_contract(name):
    cls = get(name)
    assert issubclass(cls, Method) and cls.name == name
    method = cls(cls.Params())
    assert cls.kind in KINDS and method.starts_from in ("finetuned", "pretrained")
    assert cls.describe(), f"{name} needs a one-line docstring: it is what `prunebench methods` prints"
    assert dataclasses.is_dataclass(cls.Params)


def test_unknown_method_suggests_the_near_name():
    with pytest.raises(UsageError, match=r"unknown method 'magnitude-globl' \(did you mean 'magnitude-global'\?\)"):
        get("magnitude-globl")


def test_method_params_are_checked_by_name():
    with pytest.raises(UsageError, match=r"method 'magnitude-global' parameter: unknown key 'scope'"):
        get("magnitude-global").parse_params({"scope": "layer"})


@pytest.mark.parametrize("folder", ["tiny_bert_dir", "tiny_distilbert_dir"])
def test_prunable_weights_are_the_six_encoder_linears_per_layer(folder, request):
    model = load_model(resolve(str(request.getfixturevalue(folder))), get_task("sst2"))
    names = list(_structure.prunable_weights(model))
    assert len(names) == 6 * 2  # both tiny models have two layers
    assert not any("embeddings" in n or "classifier" in n or "pooler" in n or "pre_classifier" in n for n in names)
    roles = {_structure.role_of(model, n.removesuffix(".weight")) for n in names}
    assert roles == {"query", "key", "value", "attn_out", "ffn_in", "ffn_out"}


def test_a_misspelt_parameter_key_gets_the_near_name():
    with pytest.raises(UsageError, match=r"method 'random' parameter: unknown key 'scop' \(did you mean 'scope'\?\); "
                                         r"valid keys: scope"):
        get("random").parse_params({"scop": "layer"})


def test_a_bad_bool_lists_the_accepted_spellings():
    from prunebench.benchmarks.config import TrainConfig, parse_overrides

    with pytest.raises(UsageError, match=r"--set bf16: 'maybe' is not a valid bool; write one of true, 1, yes, false, 0, no"):
        parse_overrides(TrainConfig(), ["bf16=maybe"])
    assert parse_overrides(TrainConfig(), ["bf16=No"]).bf16 is False

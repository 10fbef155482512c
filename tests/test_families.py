"""Method families (the paper's panel columns and the page's filter) come from the registry, not from names."""

from __future__ import annotations

import pytest

from prunebench.analysis import families, ranking
from prunebench.analysis.families import (COMBINED, LEARNED, MAGNITUDE, PRUNE_AT_START, STRUCTURED, family_columns,
                                          method_family)
from prunebench.methods.base import Method


@pytest.mark.parametrize("method, family", [
    ("magnitude-global", MAGNITUDE), ("magnitude-2of4", MAGNITUDE), ("random", MAGNITUDE),
    ("gradual-magnitude-layerwise", MAGNITUDE), ("snip", PRUNE_AT_START), ("grasp", PRUNE_AT_START),
    ("lottery-ticket", PRUNE_AT_START), ("movement", LEARNED), ("soft-movement", LEARNED), ("lora-prune", COMBINED),
    ("distillation(base=magnitude-global)", COMBINED), ("head-pruning", STRUCTURED), ("layer-drop", STRUCTURED),
    ("dense", None), ("someone-elses-method", MAGNITUDE),
])
def test_registered_methods_land_in_their_family(method, family):
    assert method_family(method) == family


def test_a_new_method_is_placed_by_what_its_class_says(monkeypatch):
    class AtStart(Method):
        name, kind, starts_from = "new-at-start", "unstructured", "pretrained"

    class Declared(Method):
        name, kind, family = "new-declared", "unstructured", LEARNED

    class SecondOrder(Method):  # e.g. SparseGPT / oBERT: prunes the fine-tuned model by a weight criterion
        name, kind = "new-second-order", "unstructured"

    classes = {c.name: c for c in (AtStart, Declared, SecondOrder)}
    monkeypatch.setattr(ranking, "registered", lambda m: classes.get(m))
    assert [method_family(n) for n in classes] == [PRUNE_AT_START, LEARNED, MAGNITUDE]


def test_no_panel_draws_more_than_its_share_of_curves():
    methods = ["magnitude-global", "magnitude-layerwise", "magnitude-2of4", "random", "gradual-magnitude-global",
               "gradual-magnitude-layerwise", "someone-elses-method", "snip", "layer-drop"]
    columns = family_columns(methods, per_panel=6)
    assert [title for title, _ in columns] == [f"{MAGNITUDE} (1/2)", f"{MAGNITUDE} (2/2)", PRUNE_AT_START, STRUCTURED]
    assert [len(names) for _, names in columns] == [6, 1, 1, 1]
    assert columns[1][1] == ["someone-elses-method"]  # sorted by name within the family
    assert families.FAMILIES.index(STRUCTURED) == len(families.FAMILIES) - 1

"""The method table. Adding a method = one module in `methods/` + one line here.

Entries are lazy ``"module:Class"`` strings, so listing methods imports only what is asked for.
"""

from __future__ import annotations

import fnmatch
import importlib

from prunebench.benchmarks.errors import unknown

METHODS: dict[str, str] = {
    "dense": "prunebench.methods.dense:Dense",
    "magnitude-global": "prunebench.methods.magnitude:GlobalMagnitude",
    "magnitude-layerwise": "prunebench.methods.magnitude:LayerwiseMagnitude",
    "magnitude-2of4": "prunebench.methods.magnitude_2of4:Magnitude2of4",
    "magnitude-pretrained": "prunebench.methods.magnitude:PretrainedMagnitude",
    "random": "prunebench.methods.random_mask:RandomMask",
    "gradual-magnitude-global": "prunebench.methods.gradual_magnitude:GradualMagnitudeGlobal",
    "gradual-magnitude-layerwise": "prunebench.methods.gradual_magnitude:GradualMagnitudeLayerwise",
    "movement": "prunebench.methods.movement:Movement",
    "soft-movement": "prunebench.methods.movement:SoftMovement",
    "snip": "prunebench.methods.snip:Snip",
    "grasp": "prunebench.methods.grasp:GraSP",
    "lottery-ticket": "prunebench.methods.lottery_ticket:LotteryTicket",
    "head-pruning": "prunebench.methods.head_pruning:HeadPruning",
    "ffn-pruning": "prunebench.methods.ffn_pruning:FFNPruning",
    "layer-drop": "prunebench.methods.layer_drop:LayerDrop",
    "distillation": "prunebench.methods.distillation:Distillation",
    "lora-prune": "prunebench.methods.lora_prune:LoraPrune",
    "prune-lora": "prunebench.methods.lora_prune:PruneLora",  # the same recipe in the reverse order, its own leaderboard line
}


def get(name: str):
    """The method class registered as `name`; an unknown name raises naming the valid ones."""
    if name not in METHODS:
        raise unknown("method", name, METHODS)
    module, _, attr = METHODS[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if cls.name != name:
        raise TypeError(f"{METHODS[name]} declares name {cls.name!r}, not {name!r}")
    return cls


def list_methods(pattern: str = "*", kind: str | None = None) -> list[str]:
    names = [n for n in METHODS if fnmatch.fnmatch(n, pattern)]
    return [n for n in names if kind is None or get(n).kind == kind]

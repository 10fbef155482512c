"""The method table. Adding a method = one module in `methods/` + one line here.

Entries are lazy ``"module:Class"`` strings, so listing methods imports only what is asked for.

Methods from other installed packages join through the entry-point group ``prunebench.methods``
(``name = "module:Class"`` in the package's ``pyproject.toml``): read when a name is looked up, never
imported until that method is asked for, and never allowed to shadow a built-in name.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata

from prunebench.benchmarks.errors import UsageError, unknown

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
    "sparsegpt": "prunebench.methods.sparsegpt:SparseGPT",
    "sparsegpt-2of4": "prunebench.methods.sparsegpt:SparseGPT2of4",
    "obert": "prunebench.methods.obert:OBert",
}


ENTRY_POINT_GROUP = "prunebench.methods"


def plugins() -> dict[str, tuple[str, str]]:
    """Methods of other installed packages: name -> (``"module:Class"``, the distribution that declares it).

    Read from the ``prunebench.methods`` entry points on every call (a few milliseconds), so a package
    installed after start-up is found; nothing of the plugin is imported here. A plugin named like a
    built-in method, or two plugins of one name, raise a UsageError naming both sources (pytest refuses
    two plugins of one name the same way): a published name never changes meaning silently.
    """
    found: dict[str, tuple[str, str]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "an unnamed distribution"
        version = getattr(getattr(ep, "dist", None), "version", None)
        dist = f"{dist} {version}" if version else dist  # the row's provenance names the plugin's release
        if ep.name in METHODS:
            raise UsageError(f"method {ep.name!r} of {dist} (entry point {ep.value}) clashes with the built-in "
                             f"{ep.name!r} ({METHODS[ep.name]}); rename the plugin's entry point")
        if ep.name in found and found[ep.name][0] != ep.value:
            raise UsageError(f"method {ep.name!r} is declared by {found[ep.name][1]} ({found[ep.name][0]}) and by "
                             f"{dist} ({ep.value}); uninstall one")
        found[ep.name] = (ep.value, dist)
    return found


def available() -> dict[str, str]:
    """Every method name -> ``"module:Class"``: the built-in table, then the plugins in name order."""
    return {**METHODS, **{name: target for name, (target, _) in sorted(plugins().items())}}


def source(name: str) -> str:
    """Where a method comes from: ``"built-in"`` or ``"plugin <distribution>"`` (what `prunebench methods` shows)."""
    if name in METHODS:
        return "built-in"
    found = plugins()
    if name not in found:
        raise unknown("method", name, available())
    return f"plugin {found[name][1]}"


def get(name: str):
    """The method class registered as `name` (built-in or plugin); an unknown name raises naming the valid ones,
    and a plugin that cannot be imported, is not a `Method`, or whose class's `name` is not its entry point's
    raises UsageError naming its distribution and entry point."""
    table = available()
    if name not in table:
        raise unknown("method", name, table)
    module, _, attr = table[name].partition(":")
    if name in METHODS:
        cls = getattr(importlib.import_module(module), attr)
    else:
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"method {name!r}: entry point {table[name]} of {source(name)} does not load "
                             f"({type(exc).__name__}: {exc})") from None
    declared = getattr(cls, "name", None)
    if name in METHODS:  # the built-in table and its classes disagreeing is a bug of this repository
        if declared != name:
            raise TypeError(f"{table[name]} declares name {declared!r}, not {name!r}")
        return cls
    # a plugin's mistakes are its author's input: one line naming the package, and the other methods still load
    from .base import Method

    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise UsageError(f"method {name!r}: entry point {table[name]} of {source(name)} is not a subclass of "
                         "prunebench.methods.base.Method")
    if declared != name:
        raise UsageError(f"method {name!r}: entry point {table[name]} of {source(name)} loads a class named "
                         f"{declared!r}; the entry point's name and the class's `name` must be the same: rename one")
    return cls


def list_methods(pattern: str = "*", kind: str | None = None) -> list[str]:
    """Registered names matching a shell pattern (built-ins first, in table order, then plugins), of one kind."""
    names = [n for n in available() if fnmatch.fnmatch(n, pattern)]
    return [n for n in names if kind is None or get(n).kind == kind]

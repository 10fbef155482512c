"""Method families: which panel of the paper's small multiples, and which filter of the leaderboard page, a
method belongs to.

A family is read from what the method registry says about the method's class, never from a list of names,
so a method added to ``methods/`` lands in a family with no edit here:

1. a class attribute ``family`` (one of ``FAMILIES``), if the method declares one, wins;
2. registry ``kind`` ``structured`` -> *structured* (heads, FFN neurons or layers removed);
3. kinds ``combined`` and ``distillation`` -> *combined & distillation* (pruning inside another recipe:
   LoRA, a teacher);
4. a method that trains parameters of its own besides the weights (it overrides ``Method.param_groups``:
   movement pruning's mask scores, Sanh et al. 2020, Sec. 3) -> *learned masks*;
5. a method that starts from the pre-trained encoder (``starts_from == "pretrained"``: SNIP, GraSP, lottery
   tickets) -> *prune-at-start*;
6. every other pruning method, which prunes the fine-tuned dense model by a weight criterion (magnitude,
   one-shot or gradual, 2:4, random, second-order) -> *magnitude & post-training*.

A name the registry does not know (rows merged from elsewhere) falls back on rule 6 with kind "". The dense
baseline has no family (``None``): it is drawn in every panel as the dense band.
"""

from __future__ import annotations

from .results import DENSE

MAGNITUDE = "magnitude & post-training"
PRUNE_AT_START = "prune-at-start"
LEARNED = "learned masks"
COMBINED = "combined & distillation"
STRUCTURED = "structured"
FAMILIES = (MAGNITUDE, PRUNE_AT_START, LEARNED, COMBINED, STRUCTURED)  # the panels' column order


def method_family(method: str) -> str | None:
    """The family of a shown method name (a variant ``distillation(base=...)`` is its method's), or None for
    the dense baseline. Rules in the module docstring."""
    from prunebench.methods.base import RECIPE_KINDS, Method

    from .ranking import registered

    if method == DENSE:
        return None
    cls = registered(method)
    declared = getattr(cls, "family", None)
    if declared in FAMILIES:
        return declared
    kind = str(getattr(cls, "kind", ""))
    if kind == "structured":
        return STRUCTURED
    if kind in RECIPE_KINDS:
        return COMBINED
    if cls is not None and getattr(cls, "param_groups", None) is not Method.param_groups:
        return LEARNED
    if cls is not None and getattr(cls, "starts_from", "finetuned") == "pretrained":
        return PRUNE_AT_START
    return MAGNITUDE


def family_columns(methods: list[str], per_panel: int) -> list[tuple[str, list[str]]]:
    """Panel columns of a small-multiples figure: (title, methods) per family in ``FAMILIES`` order, a family
    with more than `per_panel` methods split into consecutive columns ("family (1/2)", ...) so that no panel
    draws more than `per_panel` curves. Methods are sorted by name within a family."""
    by_family: dict[str, list[str]] = {f: [] for f in FAMILIES}
    for m in sorted(set(methods)):
        family = method_family(m)
        if family is not None:
            by_family[family].append(m)
    columns = []
    for family, names in by_family.items():
        chunks = [names[i:i + per_panel] for i in range(0, len(names), per_panel)]
        for i, chunk in enumerate(chunks):
            title = family if len(chunks) == 1 else f"{family} ({i + 1}/{len(chunks)})"
            columns.append((title, chunk))
    return columns

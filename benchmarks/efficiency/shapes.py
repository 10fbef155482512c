"""Random-weight models with a published architecture's shapes: `--model shape:<name>` of the efficiency bench.

Speed depends on shapes and zero patterns, not on weight values, so whether a speed path pays off at
BERT-base size can be measured where those weights cannot be fetched (the GPU machine has no Hub, and a call
carries 64 MiB, a third of BERT-base in fp16). The sizes are those of the published configs (Devlin et al.
2019 for BERT; Sanh et al. 2019 for DistilBERT). Only the bench takes these names: a random model's accuracy
means nothing, so `prunebench run` never sees them.
"""

from __future__ import annotations

from prunebench.benchmarks.errors import UsageError, choices

PREFIX = "shape:"
BERT_VOCAB = 30522
SHAPES: dict[str, dict] = {
    "bert-base": {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "intermediate_size": 3072, "vocab_size": BERT_VOCAB, "max_position_embeddings": 512, "type_vocab_size": 2},
    "bert-large": {"model_type": "bert", "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                   "intermediate_size": 4096, "vocab_size": BERT_VOCAB, "max_position_embeddings": 512, "type_vocab_size": 2},
    # all-MiniLM-L6-v2's config (the model the offline campaign trains; Wang et al. 2020 for MiniLM): for checks of
    # speed paths at the campaign's own shape on a machine that has no weights yet
    "minilm-l6": {"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
                  "intermediate_size": 1536, "vocab_size": BERT_VOCAB, "max_position_embeddings": 512, "type_vocab_size": 2},
    "distilbert": {"model_type": "distilbert", "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072,
                   "vocab_size": BERT_VOCAB, "max_position_embeddings": 512},
}


def is_shape(name: str) -> bool:
    return name.startswith(PREFIX)


def check(name: str) -> None:
    """Refuse an unknown shape before anything is built."""
    if name.removeprefix(PREFIX) not in SHAPES:
        raise UsageError(f"unknown model shape {name!r}; valid shapes: {choices(PREFIX + s for s in SHAPES)}")


def build(name: str, num_labels: int = 2, seed: int = 0):
    """The architecture with seeded random weights and a classification head, fp32, in eval mode."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    check(name)
    fields = dict(SHAPES[name.removeprefix(PREFIX)])
    config = AutoConfig.for_model(fields.pop("model_type"), num_labels=num_labels, **fields)
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(config).float().eval()

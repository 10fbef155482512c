"""LoRA + pruning in both orders: adapters only on encoder linears, sparsity kept after the merge."""

import pytest

from prunebench.benchmarks.records import read_rows
from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods.lora_prune import lora_wrap


@pytest.mark.parametrize("folder", ["tiny_bert_dir", "tiny_distilbert_dir"])
def test_adapters_go_on_the_encoder_linears_only(folder, request):
    model = load_model(resolve(str(request.getfixturevalue(folder))), get_task("sst2"))
    wrapped = lora_wrap(model, rank=2, alpha=4, dropout=0.0)
    adapted = {n.split(".lora_A")[0] for n, _ in wrapped.named_parameters() if ".lora_A." in n}
    assert len(adapted) == 12 and not any("pooler" in n or "classifier" in n for n in adapted)
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert any("classifier" in n for n in trainable) and not any("embeddings" in n for n in trainable)


@pytest.mark.parametrize("order", ["lora-first", "prune-first"])
def test_both_orders_end_at_the_target_sparsity(order, tiny_bert_dir, run_cli):
    code, out = run_cli(tiny_bert_dir, method="lora-prune", sparsity=0.6, extra=["--param", f"order={order}"])
    (row,) = read_rows(out)
    assert code == 0 and abs(float(row["achieved_sparsity"]) - 0.6) <= 0.005
    assert f'"order":"{order}"' in row["method_params"]

"""GraSP: S = -θ ⊙ Hg against hand-computed and full-Hessian values, the sign of the mask, and the
double backward through a Hugging Face encoder's attention."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from prunebench.benchmarks.models import load_model, resolve
from prunebench.benchmarks.tasks import get_task
from prunebench.methods.base import PruneContext
from prunebench.methods.grasp import grasp_scores, tempered_loss
from prunebench.methods.registry import get
from prunebench.methods.snip import scoring_mode


def _squared_error(model, batch):
    return 0.5 * ((model(batch["x"]).squeeze(-1) - batch["y"]) ** 2).mean()


def test_linear_model_by_hand():
    # out = w.x, L = (w.x - y)^2 / 2: g = r x with r = w.x - y, H = x x^T, so Hg = r (x.x) x
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    batch = {"x": torch.tensor([[3.0, 1.0]]), "y": torch.tensor([0.0])}  # r = 1, x.x = 10, Hg = [30, 10]
    scores = grasp_scores(layer, [batch], _squared_error, weights={"w": layer.weight})
    assert torch.allclose(scores["w"], torch.tensor([[-30.0, 20.0]]))  # -w * Hg
    assert layer.weight.grad is None


class _Product(nn.Module):
    """out = a * b * x: two scalar weights whose Hessian has a cross term."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(a)), nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return (self.a * self.b * x).unsqueeze(-1)


def test_gradient_flow_spans_the_unscored_parameters_too():
    # a = 1, b = 2, x = 1, y = 1: r = abx - y = 1, g = (r b x, r a x) = (2, 1),
    # H = [[b²x², abx² + r x], [abx² + r x, a²x²]] = [[4, 3], [3, 1]], Hg = (11, 7)
    model = _Product(1.0, 2.0)
    batch = {"x": torch.tensor([1.0]), "y": torch.tensor([1.0])}
    both = grasp_scores(model, [batch], _squared_error, weights={"a": model.a, "b": model.b})
    assert torch.allclose(both["a"], torch.tensor(-11.0)) and torch.allclose(both["b"], torch.tensor(-14.0))
    # scoring only `a` still uses b's gradient through the cross term (Hg_a = 4 * 2 + 3 * 1)
    only_a = grasp_scores(model, [batch], _squared_error, weights={"a": model.a})
    assert torch.allclose(only_a["a"], torch.tensor(-11.0))


def test_matches_the_full_hessian_on_a_small_mlp_over_two_batches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    batches = [{"x": torch.randn(5, 3), "y": torch.randint(0, 2, (5,))} for _ in range(2)]

    def loss_fn(m, batch):
        return F.cross_entropy(m(batch["x"]) / 3.0, batch["y"])

    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def mean_loss(theta):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            params[name] = theta[start : start + shape.numel()].view(shape)
            start += shape.numel()
        return sum(loss_fn(lambda x: functional_call(model, params, (x,)), b) for b in batches) / len(batches)

    g = torch.autograd.functional.jacobian(mean_loss, flat)
    hessian = torch.autograd.functional.hessian(mean_loss, flat)
    expected = -flat * (hessian @ g)
    scores = grasp_scores(model, batches, loss_fn, weights=dict(model.named_parameters()))
    assert torch.allclose(torch.cat([scores[n].reshape(-1) for n in names]), expected, atol=1e-6, rtol=1e-4)


def _batches(n, seed=0, regression=False):
    generator = torch.Generator().manual_seed(seed)
    def labels():
        return torch.rand(4, generator=generator) * 5 if regression else torch.randint(0, 2, (4,), generator=generator)

    return [{"input_ids": torch.randint(1000, 2000, (4, 10), generator=generator),
             "attention_mask": torch.tensor([[1] * 10, [1] * 10, [1] * 7 + [0] * 3, [1] * 5 + [0] * 5]),
             "labels": labels()} for _ in range(n)]


def test_grasp_prunes_the_highest_scores_at_the_exact_count(tiny_bert_dir):
    # the tiny BERT uses SDPA attention, whose fused CPU kernel has no double backward: this also checks
    # that scoring gets through it (padding included)
    task = get_task("sst2")
    model = load_model(resolve(str(tiny_bert_dir)), task)
    batches = _batches(2)
    ctx = PruneContext(0.5, task, torch.device("cpu"), 0, None, lambda: iter(batches))
    method = get("grasp")(get("grasp").parse_params({"batches": 2}))
    with scoring_mode(model):
        scores = grasp_scores(model, batches, tempered_loss(task, 200.0))
    method.before_training(model, ctx)
    total = sum(m.numel() for m in ctx.masks.values())
    assert sum(int((m == 0).sum()) for m in ctx.masks.values()) == round(0.5 * total)
    kept = torch.cat([scores[n][m.bool()] for n, m in ctx.masks.items()])
    pruned = torch.cat([scores[n][~m.bool()] for n, m in ctx.masks.items()])
    assert pruned.min() >= kept.max()  # the paper removes the weights of highest S
    assert ctx.info["temperature_used"] == 200.0


def test_temperature_divides_the_logits_and_is_skipped_for_regression(tiny_bert_dir):
    task = get_task("sst2")
    model = load_model(resolve(str(tiny_bert_dir)), task).eval()
    (batch,) = _batches(1)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(tempered_loss(task, 4.0)(model, batch), F.cross_entropy(logits / 4.0, batch["labels"]))
    stsb = get_task("stsb")
    regressor = load_model(resolve(str(tiny_bert_dir)), stsb)
    batches = _batches(1, regression=True)
    ctx = PruneContext(0.3, stsb, torch.device("cpu"), 0, None, lambda: iter(batches))
    get("grasp")().before_training(regressor, ctx)
    assert ctx.info["temperature_used"] == 1.0

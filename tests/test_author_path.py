"""A method author's whole path, played from outside the repository: write a method in a package of one's own,
install it (a dist-info folder with a `prunebench.methods` entry point, as `pip install` leaves it), and take it
through `prunebench methods`, `prunebench run`, `prunebench validate`, a tiny workflow, the merge and the
leaderboard, without touching a file of this repository.

The method is methods/README.md's worked example: an activation-aware one-shot criterion, |W| times the norm
of each input feature over calibration tokens, ranked per output row (Wanda: Sun et al. 2023, "A Simple and
Effective Pruning Approach for Large Language Models", eq. 1 and sec. 3). If a step starts to need something
the guide does not say (a registry edit, a config entry, a file in this tree), this test fails there.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest
import torch

from _tiny import batches, context, one_thread, tiny_model  # noqa: F401  (one_thread: an autouse fixture)
from test_plugins import write_distribution
from test_workflow import ROWS_TARGET, snakemake, tiny_config

ROOT = Path(__file__).resolve().parent.parent

AUTHOR_METHOD = '''
"""Activation-aware one-shot pruning: |W| times input-feature norms, per output row (Wanda, Sun et al. 2023, eq. 1)."""
from dataclasses import dataclass

import torch

from prunebench.methods.base import Method
from prunebench.methods.calibration import calibration_batches, each_input, prunable_linears
from prunebench.methods.masks import masks_from_scores


@dataclass(frozen=True)
class Params:
    calibration_sequences: int = 128  # training sequences whose tokens are the calibration sample

    def check(self) -> None:
        if self.calibration_sequences < 1:
            raise ValueError(f"calibration_sequences must be >= 1, got {self.calibration_sequences}")


class ActivationAware(Method):
    """One-shot |W| x input norm per output row (Wanda), then recovery fine-tuning with the masks held."""

    name, kind, Params = "author-wanda", "unstructured", Params

    def before_training(self, model, ctx):
        linears = prunable_linears(model)  # module name -> nn.Linear; its weight is ctx.prunable's f"{name}.weight"
        squares = {name: torch.zeros(m.in_features, device=m.weight.device) for name, m in linears.items()}

        def add(name, x):  # x: [real tokens, in_features], padding already left out
            squares[name] += x.pow(2).sum(dim=0)

        each_input(model, linears, calibration_batches(ctx, self.params.calibration_sequences), add)
        scores = {f"{name}.weight": m.weight.detach().abs() * squares[name].sqrt() for name, m in linears.items()}
        ctx.set_masks(model, masks_from_scores(scores, ctx.target_sparsity, scope="row"))
'''


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """The author's package, installed: importable and with its entry point, here and in every subprocess."""
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site, "author_wanda", textwrap.dedent(AUTHOR_METHOD), "author-wanda",
                       {"author-wanda": "author_wanda:ActivationAware"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


def test_the_worked_example_keeps_half_of_every_output_row(installed, tiny_bert_dir):
    """The criterion itself, on a tiny model and hand-made padded batches: every output row of every prunable
    matrix keeps exactly half its weights (scope "row"), and a bad parameter is refused by Params.check."""
    from prunebench.methods.registry import get

    cls = get("author-wanda")
    model = tiny_model(tiny_bert_dir)
    ctx = context(0.5, batches(model, count=2))
    cls(cls.Params(calibration_sequences=6)).before_training(model, ctx)
    for name, weight in ctx.prunable(model).items():
        assert ((weight == 0).sum(dim=1) == weight.shape[1] // 2).all(), name
    with pytest.raises(ValueError, match="calibration_sequences must be >= 1, got 0"):
        cls.parse_params({"calibration_sequences": "0"})


@pytest.mark.workflow
def test_an_outside_method_runs_validates_and_reaches_the_leaderboard(installed, tmp_path, tiny_bert_dir, run_cli, capsys):
    from prunebench.analysis.ranking import leaderboard
    from prunebench.analysis.results import load_results
    from prunebench.benchmarks.cli import main
    from prunebench.benchmarks.merge import merge, run_files_under
    from prunebench.methods.registry import list_methods

    # 1. it is listed, with where it comes from
    assert main(["methods", "author-*"]) == 0
    assert "[plugin author-wanda 0.1]" in capsys.readouterr().out

    # 2. one run, with the fast settings every method test uses (64 training examples: defaults must cope)
    code, row_path = run_cli(tiny_bert_dir, method="author-wanda", sparsity=0.5, extra=["--param", "calibration_sequences=32"])
    assert code == 0
    with open(row_path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["method"] == "author-wanda" and abs(float(row["achieved_sparsity"]) - 0.5) < 0.005
    # the run's sidecar names the release of the plugin that made it
    assert json.loads(Path(row_path).with_suffix(".json").read_text())["method_source"] == "plugin author-wanda 0.1"

    # 3. a workflow grid that never names it: all_methods brings it in, every other method excluded
    others = [m for m in list_methods() if m not in ("dense", "author-wanda")]
    config = tiny_config(tmp_path / "c.yaml", tiny_bert_dir, methods={"dense": {"sparsities": [0.0]}},
                         all_methods={"kinds": {"unstructured": {"sparsities": [0.5]}}, "exclude": others})
    assert main(["validate", str(config)]) == 0
    assert "2 method(s), 2 runs" in capsys.readouterr().out
    done = snakemake(tmp_path, ROWS_TARGET, "--cores", "2", "--configfile", str(config))
    assert done.returncode == 0, done.stderr[-3000:]

    # 4. the merge: the check grid's own CSV holds both rows (merge_sample_rows), a publishing merge leaves them out
    board = leaderboard(load_results(tmp_path / ROWS_TARGET))
    assert "author-wanda" in set(board["method"]) and set(board.loc[board["method"] == "author-wanda", "kind"]) == {"unstructured"}
    left_out: list = []
    assert merge(run_files_under(tmp_path / "results/v1/runs"), tmp_path / "published.csv", left_out=left_out) == 0
    assert len(left_out) == 2 and all("sample-size run" in reason or "embedded" in reason for _, reason in left_out)


def test_the_guide_shows_this_exact_module():
    """methods/README.md's worked example is the module this file installs, so the guide cannot go stale."""
    guide = (ROOT / "methods/README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in guide.split("```python\n")[1:]]
    assert textwrap.dedent(AUTHOR_METHOD).strip() in [b.strip() for b in blocks]

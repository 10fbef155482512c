"""Tables, leaderboard, pending runs and the README block, built in memory from the fixture CSV."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

from prunebench.analysis.comparison import comparison_tables  # noqa: E402
from prunebench.analysis.grid import pending_cells, pending_lines  # noqa: E402
from prunebench.analysis.ranking import leaderboard, normalised_auc  # noqa: E402
from prunebench.analysis.readme import END, START, replace_block, update_readme  # noqa: E402
from prunebench.analysis.reference import REFERENCE_LABEL, load_design, load_reported  # noqa: E402
from prunebench.analysis.results import load_results  # noqa: E402
from prunebench.analysis.tables import MISSING, Table, latex_escape, mean_std, to_latex, to_markdown  # noqa: E402
from analysis_fixture import write_fixture  # noqa: E402
from prunebench.methods.registry import list_methods  # noqa: E402


@pytest.fixture
def results(tmp_path) -> pd.DataFrame:
    return load_results(write_fixture(tmp_path / "results.csv"))


@pytest.fixture
def tables(results) -> dict[str, Table]:
    design = load_design()
    built = comparison_tables(results, load_reported(), design, pending_cells(results, design))
    return {t.label: t for t in built}


def test_cell_formats():
    assert mean_std(89.6, 0.1) == "89.60 ± 0.10"
    assert mean_std(78.0, math.nan) == "78.00"  # one seed: no "± nan"
    assert mean_std(math.nan, math.nan) == MISSING
    assert latex_escape("50% ± 1 × a_b & —") == r"50\% $\pm$ 1 $\times$ a\_b \& ---"


def test_a_sparsity_a_method_did_not_run_is_a_dash_and_is_listed_as_pending(tables, results):
    table = tables["tab:comparison-minilm-l6-sst2-n1000"]
    rows = {r[0]: dict(zip(table.columns, r)) for r in table.rows}
    assert rows["magnitude-layerwise"]["90% (10×)"] == MISSING
    assert rows["user-method"]["70% (3.3×)"] == MISSING
    assert rows["magnitude-global"]["90% (10×)"] == "53.00 ± 1.00"
    assert any("magnitude-layerwise at 90%" in n and "user-method at 70%" in n for n in table.notes)
    lines = pending_lines(pending_cells(results, load_design()))
    assert "MiniLM-L6 · SST-2 (1,000-example sample): magnitude-layerwise at 90%; user-method at 70% [grid]" in lines


def test_seed_003_runs_without_rows_are_tables_of_dashes_above_the_reported_row(tables):
    table = tables["tab:comparison-distilbert-mnli-full"]
    assert table.rows[-1][0] == REFERENCE_LABEL
    ours = [cell for row in table.rows[:-1] for cell in row[1:] if cell]
    assert ours and set(ours) == {MISSING}
    reported = load_reported().query("task == 'mnli'").set_index("sparsity")["accuracy"]
    for column, cell in zip(table.columns[1:], table.rows[-1][1:]):
        s = float(column.split("%")[0]) / 100
        assert cell == (f"{reported[s]:.2f}" if s in reported.index else MISSING)
    assert any("Pending: dense; magnitude-global at 50, 55, 60" in n for n in table.notes)


def test_qqp_subset_tables_are_labelled_and_never_get_the_reported_column(tables):
    table = tables["tab:comparison-minilm-l6-qqp-qqp-subset-n1000"]
    assert "QQP subset" in table.caption and REFERENCE_LABEL not in [r[0] for r in table.rows]
    assert any("not comparable with full-QQP results" in n for n in table.notes)
    md = to_markdown(table)
    assert md.startswith("### MiniLM-L6 on QQP subset (1,000 train, held-out eval)")


def test_global_and_layerwise_sit_one_above_the_other_and_methods_come_from_the_csv(tables):
    table = tables["tab:comparison-minilm-l6-rte-n1000"]
    assert [r[0] for r in table.rows] == ["dense", "magnitude-global", "magnitude-layerwise", "user-method"]
    assert table.columns == ["Method", "0% (1×)", "50% (2×)", "70% (3.3×)", "90% (10×)"]
    assert table.rows[0][1] != "" and table.rows[0][2:] == ["", "", ""]  # dense lives in the 0% column only
    assert all(r[1] == "" for r in table.rows[1:])


def test_markdown_and_latex_render_the_same_cells(tables):
    table = tables["tab:comparison-minilm-l6-sst2-n1000"]
    md, tex = to_markdown(table), to_latex(table)
    assert "| magnitude-layerwise |  | 88.00 ± 0.00 | 81.00 ± 1.00 | — |" in md
    assert r"magnitude-layerwise &  & 88.00 $\pm$ 0.00 & 81.00 $\pm$ 1.00 & --- \\" in tex
    assert tex.count(r"\toprule") == 1 and r"\label{tab:comparison-minilm-l6-sst2-n1000}" in tex


def test_normalised_auc_by_hand():
    # trapezoids 0.2 * (1 + 0.8) / 2 + 0.2 * (0.8 + 0.4) / 2 = 0.30 over a range of 0.4
    assert normalised_auc(np.array([0.5, 0.7, 0.9]), np.array([1.0, 0.8, 0.4])) == pytest.approx(0.75)
    assert normalised_auc(np.array([0.5]), np.array([0.9])) == 0.9
    assert math.isnan(normalised_auc(np.array([]), np.array([])))


def test_leaderboard_ranks_complete_methods_first_and_includes_unregistered_ones(results):
    board = leaderboard(results).query("regime_family == 'n1000'").set_index("method")
    assert board.loc["magnitude-global", "rank"] == 1  # AUC 0.903 over 50-90% on both tasks
    # 0.900: its seed interval overlaps the leader's, so it shares rank 1 (analysis/intervals.py)
    assert board.loc["user-method", "rank"] == 1 and board.loc["user-method", "tied"] and board.loc["user-method", "kind"] == ""
    # layer-wise has the best AUC (0.933) but only over 50-70%: listed after the complete methods, unranked
    assert board.loc["magnitude-layerwise", "auc"] > board.loc["magnitude-global", "auc"]
    assert pd.isna(board.loc["magnitude-layerwise", "rank"]) and not board.loc["magnitude-layerwise", "complete"]
    assert list(board.index[-1:]) == ["magnitude-layerwise"]
    # sst2 89.6/90 (seed by seed: 89.5/89, 89.6/90, 89.7/91) and rte 62/62 (61/60, 62/62, 63/64), averaged
    sst2 = np.mean([89.5 / 89, 89.6 / 90, 89.7 / 91])
    rte = np.mean([61 / 60, 62 / 62, 63 / 64])
    assert board.loc["magnitude-global", "retained_50"] == pytest.approx((sst2 + rte) / 2)
    assert board.loc["magnitude-global", "max_safe_sparsity"] == 0.5
    assert board.loc["magnitude-layerwise", "max_safe_sparsity"] == 0.0  # 88 is 2 points below 90 on SST-2


def test_the_analysis_code_names_no_method():
    """Methods come from the CSV (and kinds from the registry): no method list is typed in analysis/."""
    sources = [*(ROOT / "analysis").glob("*.py"), *(ROOT / "analysis" / "notebooks").glob("*.py")]
    for name in list_methods():
        if name == "dense":  # the harness's baseline, named once in analysis/results.py as DENSE
            continue
        pattern = re.compile(rf"[\"']{re.escape(name)}[\"']")  # as a string literal
        for path in sources:
            assert not pattern.search(path.read_text()), f"{path.relative_to(ROOT)} names method {name!r}"


def test_readme_block_is_replaced_and_the_rest_is_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{START}\nstale\n{END}\n\n## After\n")
    board = tmp_path / "LEADERBOARD.md"
    board.write_text("<!-- generated -->\n# PruneBench leaderboard\n\nintro\n\n## Leaderboard of X\n\n| a |\n")
    assert update_readme(readme, board)
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n") and text.endswith(f"{END}\n\n## After\n")
    assert "stale" not in text and "### Leaderboard of X" in text and "# PruneBench leaderboard" not in text
    assert update_readme(readme, board) and readme.read_text() == text  # idempotent
    assert not update_readme(tmp_path / "absent.md", board)
    with pytest.raises(ValueError, match="no <!-- leaderboard:start -->"):
        replace_block("no markers here", "x")


def test_structured_methods_are_ranked_on_their_own_grid_and_nothing_partial_is_ranked(results):
    from prunebench.analysis.texnumbers import leaderboard_sentences

    # the fixture's user-method, renamed into a registered structured method: its own grid, complete there
    renamed = results.assign(method=results["method"].replace({"user-method": "head-pruning"}))
    board = leaderboard(renamed).query("regime_family == 'n1000'").set_index("method")
    assert board.loc["head-pruning", "grid"] == "structured" and board.loc["head-pruning", "rank"] == 1
    assert board.loc["magnitude-global", "grid"] == "weights" and board.loc["magnitude-global", "rank"] == 1
    text = leaderboard_sentences(leaderboard(renamed))
    assert "magnitude-global ranks first of 1 complete weight-pruning method " in text
    assert "head-pruning ranks first of 1 complete structured method " in text
    # without its RTE rows, global magnitude covers one task of two: no weight-pruning method is complete
    uneven = renamed[~((renamed["method"] == "magnitude-global") & (renamed["task"] == "rte"))]
    board = leaderboard(uneven).query("regime_family == 'n1000' and grid == 'weights'")
    assert board["rank"].isna().all()
    assert "none of the 2 weight-pruning methods measured has been run on every task" in leaderboard_sentences(board)


def test_complete_structured_methods_over_different_weight_ranges_are_listed_but_not_ranked(results):
    from prunebench.analysis.texnumbers import leaderboard_sentences

    # two structured methods at the same targets; layer dropping removes more weights at each target than
    # head pruning, so their AUCs cover different weight-sparsity ranges
    structured = results[results["method"].isin(["dense", "magnitude-global"]) & (results["regime_family"] == "n1000")]
    heads = structured.assign(method=structured["method"].replace({"magnitude-global": "head-pruning"}))
    layers = structured[structured["method"] != "dense"].assign(method="layer-drop",  # placed at its weight sparsity
                                                               target_sparsity=lambda d: d["target_units"] * 0.5)
    board = leaderboard(pd.concat([heads, layers], ignore_index=True)).set_index("method")
    assert board.loc[["head-pruning", "layer-drop"], "complete"].all()
    assert board.loc[["head-pruning", "layer-drop"], "rank"].isna().all()
    assert not board.loc[["head-pruning", "layer-drop"], "comparable"].any()
    assert "the 2 complete structured methods cover different weight-sparsity ranges, so none is ranked" in \
        leaderboard_sentences(board.reset_index())


def test_structured_methods_get_their_own_table_and_their_own_levels(results):
    # the fixture's user-method, renamed into a registered structured method, on its own grid
    renamed = results.assign(method=results["method"].replace({"user-method": "head-pruning"}))
    design = load_design()
    pending = pending_cells(renamed, design)
    built = {t.label: t for t in comparison_tables(renamed, load_reported(), design, pending)}
    weights, structured = built["tab:comparison-minilm-l6-sst2-n1000"], built["tab:comparison-minilm-l6-sst2-n1000-structured"]
    assert "head-pruning" not in [r[0] for r in weights.rows]
    assert [r[0] for r in structured.rows] == ["dense", "head-pruning"]
    assert structured.columns == ["Method", "0% (1×)", "50% (2×)", "90% (10×)"]  # its own levels, no 70%
    # its pending cells are at its own levels only; global magnitude's 70% is not one of them
    mine = pending[(pending["method"] == "head-pruning") & (pending["task"] == "sst2")]
    assert mine.empty


def test_a_method_with_fixed_sparsities_is_expected_only_there(results):
    renamed = results.assign(method=results["method"].replace({"user-method": "magnitude-2of4"}))
    renamed = renamed[~((renamed["method"] == "magnitude-2of4") & (renamed["target_sparsity"] > 0.5))]
    pending = pending_cells(renamed, None)
    assert pending[pending["method"] == "magnitude-2of4"].empty  # 2:4 is 50% by construction: nothing at 70 or 90%


def test_the_leaderboard_sentences_give_the_real_reason_nothing_is_ranked_and_name_ties():
    """On the published v1 rows the complete full-data methods have one seed (a rank needs three), and the two
    gradual methods tie on the QQP subset: the generated sentences say exactly that, not a coverage reason."""
    from prunebench.analysis.ranking import leaderboard
    from prunebench.analysis.results import load_results
    from prunebench.analysis.texnumbers import leaderboard_sentences

    text = leaderboard_sentences(leaderboard(load_results(ROOT / "results/v1/results.csv")))
    assert ("9 of the 9 complete weight-pruning methods have as few as 1 seed on a task, fewer than the 3 a rank "
            "needs, so none is ranked yet") in text
    assert "gradual-magnitude-global and gradual-magnitude-layerwise tie for first of 4 complete" in text


def test_a_report_of_a_campaign_in_progress_says_so_under_its_title(monkeypatch):
    from prunebench.analysis.params import env_name
    from prunebench.analysis.tables import markdown_document

    plain = markdown_document("Leaderboard", "Ranked methods.", [], source="x.py", results="results/v2/results.csv")
    assert plain.splitlines()[1:4] == ["# Leaderboard", "", "Ranked methods."]
    monkeypatch.setenv(env_name("progress"), "Campaign in progress: 247 of the 2,031 rows.")
    noted = markdown_document("Leaderboard", "Ranked methods.", [], source="x.py", results="results/v2/results.csv")
    assert noted.splitlines()[1:5] == ["# Leaderboard", "", "**Campaign in progress: 247 of the 2,031 rows.**", ""]

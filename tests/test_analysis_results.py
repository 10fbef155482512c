"""Loading, validation, regimes and seed aggregation of the results CSV, on fixtures checkable by hand."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


from prunebench.analysis.chance import EVAL_LABEL_COUNTS, QQP_SUBSET_LABEL_COUNTS, chance_score  # noqa: E402
from prunebench.analysis.curves import build_curves  # noqa: E402
from prunebench.analysis.labels import task_label  # noqa: E402
from prunebench.analysis.regimes import classify, family_label, from_key  # noqa: E402
from prunebench.analysis.results import ResultsError, aggregate, bootstrap_ci, dense_baselines, load_results  # noqa: E402
from analysis_fixture import fixture_records, write_fixture  # noqa: E402
from prunebench.benchmarks.records import to_csv_text  # noqa: E402


@pytest.fixture
def results(tmp_path) -> pd.DataFrame:
    return load_results(write_fixture(tmp_path / "results.csv"))


def test_seed_mean_and_sample_std(results):
    cells = aggregate(results).set_index(["task", "method", "target_sparsity"])
    dense = cells.loc[("sst2", "dense", 0.0)]
    assert (dense["mean"], dense["std"], dense["n"], dense["seeds"]) == (90.0, 1.0, 3, "0,1,2")  # 89, 90, 91
    assert cells.loc[("rte", "dense", 0.0), "std"] == 2.0  # 60, 62, 64
    assert np.isnan(cells.loc[("qqp", "dense", 0.0), "std"])  # one seed: no spread, not 0


def test_bootstrap_interval_by_hand():
    # two seeds 0 and 10: resampled means are 0, 5 or 10 (1/4, 1/2, 1/4), so the 95% interval is (0, 10)
    assert bootstrap_ci([0.0, 10.0]) == (0.0, 10.0)
    # three seeds 1, 2, 3: a mean of 1 (or 3) has probability 1/27 > 2.5%, so the interval is (1, 3)
    assert bootstrap_ci([1.0, 2.0, 3.0]) == (1.0, 3.0)
    assert bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    assert all(np.isnan(bootstrap_ci([7.0])))


def test_bootstrap_is_seeded_and_does_not_depend_on_other_cells(results):
    values = [86.0, 89.5, 90.25, 91.0]
    assert bootstrap_ci(values) == bootstrap_ci(values)
    alone = aggregate(results[results["task"] == "rte"]).set_index(["task", "method", "target_sparsity"])
    together = aggregate(results).set_index(["task", "method", "target_sparsity"])
    pd.testing.assert_frame_equal(alone, together.loc[alone.index])


def test_qqp_subset_is_its_own_regime_and_never_shares_a_curve_with_full_qqp(tmp_path):
    rows = fixture_records()
    full = [r for r in rows if r.task == "qqp"]
    for r in full:  # the same runs again, as if on the full QQP training set from the Hub
        rows.append(type(r)(**{**r.__dict__, "run_id": r.run_id + "-hub", "data_source": "hub",
                               "train_examples": 363846, "score": r.score + 5}))
    path = tmp_path / "results.csv"
    path.write_text(to_csv_text(rows))
    df = load_results(path)
    qqp = df[df["task"] == "qqp"]
    assert set(zip(qqp["regime"], qqp["task_label"])) == {("qqp-subset-n1000", "QQP subset"), ("full", "QQP")}
    curves = [c for c in build_curves(df) if c.task == "qqp"]
    assert sorted(c.regime for c in curves) == ["full", "qqp-subset-n1000"]
    for c in curves:  # each curve holds only its own regime's scores (the hub copy is 5 points higher)
        source = "hub" if c.regime == "full" else "glue_dir:qqp-subset"
        own = df[(df["task"] == "qqp") & (df["data_source"] == source) & (df["method"] == c.method)]
        assert list(c.mean) == list(own.groupby("target_sparsity")["score"].mean())
    assert set(dense_baselines(df).query("task == 'qqp'")["mean"]) == {80.0, 85.0}


@pytest.mark.parametrize(
    "task, source, n, key, label",
    [
        ("sst2", "glue_dir", 67349, "full", "full data"),
        ("sst2", "hub", 67349, "full", "full data"),
        ("sst2", "glue_dir", 1000, "n1000", "1,000-example sample"),
        ("rte", "embedded", 2000, "embedded-n2000", "embedded sample, 2,000 train"),
        ("qqp", "glue_dir:qqp-subset", 21147, "qqp-subset-n21147", "21,147 train, held-out eval"),
        ("qqp", "glue_dir:qqp-train-subset", 23497, "qqp-train-subset-n23497", "23,497 train, official dev set"),
        ("mnli", "glue_dir:mnli-train-mismatched", 9832, "mnli-train-mismatched-n9832",
         "9,832 train (dev-mismatched), scored on dev-matched"),
        ("mnli", "embedded:mnli-train-mismatched", 64, "embedded-mnli-train-mismatched-n64",
         "embedded sample, 64 train (dev-mismatched), scored on dev-matched"),
    ],
)
def test_regimes(task, source, n, key, label):
    regime = classify(task, source, n)
    assert (regime.key, regime.label) == (key, label)
    assert from_key(key) == regime


@pytest.mark.parametrize("source, family, task_name", [
    ("glue_dir:qqp-subset", "qqp-subset", "QQP subset"),
    ("glue_dir:qqp-train-subset", "qqp-train-subset", "QQP (23.5k-row training subset)"),
    ("hub", "full", "QQP"),
])
def test_the_two_qqp_regimes_and_full_qqp_are_three_families_with_their_own_names(source, family, task_name):
    """v1's held-out-slice rows, the rows scored on the official dev set and full-data rows never share a table
    or a leaderboard average: the family keeps them apart and the task's name says which is which."""
    regime = classify("qqp", source, 23497 if "train-subset" in source else 363846)
    assert regime.family == family and task_label("qqp", regime.variant) == task_name
    assert family_label(family) == ("full data" if family == "full" else task_name)


def test_mnli_low_resource_is_labelled_and_never_full_mnli():
    regime = classify("mnli", "glue_dir:mnli-train-mismatched", 392702)  # even at full-MNLI size it is its own regime
    assert regime.family == "mnli-train-mismatched" and not regime.qqp_subset
    assert task_label("mnli", regime.variant) == "MNLI, low-resource: trained on dev-mismatched"


def test_an_unknown_data_source_is_refused(tmp_path):
    rows = fixture_records()
    rows[0].data_source = "somewhere"
    path = tmp_path / "results.csv"
    path.write_text(to_csv_text(rows))
    with pytest.raises(ResultsError, match="unknown data_source 'somewhere'"):
        load_results(path)


def _edit(path: Path, row: int, column: str, value: str) -> None:
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    table[row][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    path.write_text(out.getvalue())


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("score", "high", "row 2, column score: 'high' is not a number"),
        ("score", "120", "score 120.0 is outside the 0-100 score range"),
        ("target_sparsity", "1.0", "target_sparsity 1.0 is outside [0, 1)"),
        ("schema_version", "2", "row 2 has schema_version '2'"),
        ("method", "", "row 2 has no method"),
    ],
)
def test_bad_rows_are_named(tmp_path, column, value, message):
    path = write_fixture(tmp_path / "results.csv")
    _edit(path, 0, column, value)
    with pytest.raises(ResultsError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_results(path)


def test_a_csv_of_another_layout_is_refused(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("model,task,score\nm,sst2,90\n")
    with pytest.raises(ResultsError, match="columns are not schema v1"):
        load_results(path)


def test_chance_levels_by_hand():
    sst2 = EVAL_LABEL_COUNTS["sst2"]
    assert chance_score("sst2") == pytest.approx(100 * max(sst2) / sum(sst2))
    p = QQP_SUBSET_LABEL_COUNTS[1] / sum(QQP_SUBSET_LABEL_COUNTS)  # all "duplicate": F1 = 2p/(1+p), accuracy = p
    assert chance_score("qqp", qqp_subset=True) == pytest.approx(100 * (2 * p / (1 + p) + p) / 2)
    assert chance_score("cola") == 0.0 and chance_score("stsb") == 0.0  # MCC, correlations
    assert np.isnan(chance_score("not-a-task"))


GLUE_DIR = Path(os.environ.get("GLUE_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "glue"))


@pytest.mark.skipif(not GLUE_DIR.is_dir(), reason="no GLUE_DIR copy of GLUE here to recount the labels from")
@pytest.mark.parametrize("task", sorted(EVAL_LABEL_COUNTS))
def test_label_counts_match_the_glue_files(task):
    split = {"mnli": "validation_matched", "qqp": "train_subset"}.get(task, "validation")
    path = GLUE_DIR / task / f"{split}.parquet"
    if not path.exists():
        pytest.skip(f"{path} is not in this GLUE_DIR")
    counts = pd.read_parquet(path, columns=["label"])["label"].value_counts().sort_index()
    expected = QQP_SUBSET_LABEL_COUNTS if task == "qqp" else EVAL_LABEL_COUNTS[task]
    assert tuple(int(c) for c in counts) == expected


def test_a_method_run_with_two_parameter_sets_is_two_methods():
    from prunebench.analysis.ranking import method_kind
    from prunebench.analysis.results import method_variants

    df = pd.DataFrame({"method": ["distillation", "distillation", "magnitude-global", "distillation"],
                       "method_params": ['{"alpha":0.5,"base":"magnitude-global","_info":{"x":1}}',
                                         '{"alpha":0.5,"base":"gradual-magnitude-global","_info":{"x":2}}',
                                         '{}', '{"alpha":0.5,"base":"magnitude-global","_info":{"x":3}}']})
    names = list(method_variants(df))
    assert names == ["distillation(base=magnitude-global)", "distillation(base=gradual-magnitude-global)",
                     "magnitude-global", "distillation(base=magnitude-global)"]  # what a run reports (_info) never splits
    assert method_kind(names[1]) == "distillation"
    assert list(method_variants(df.iloc[[0, 3]])) == ["distillation", "distillation"]  # one parameter set: its plain name


def test_a_variant_label_names_what_varies_not_the_parameters_that_come_with_it():
    from prunebench.analysis.results import method_variants

    params = ['{"base":"obert","base_params":"initial_fraction=0.5","kd_weight":2.0}',
              '{"base":"sparsegpt","base_params":"damp=0.1","kd_weight":2.0}',
              '{"base":"sparsegpt","base_params":"damp=0.1","kd_weight":1.0}']
    df = pd.DataFrame({"method": ["distillation"] * 3, "method_params": params})
    assert list(method_variants(df)) == ["distillation(base=obert, kd_weight=2.0)", "distillation(base=sparsegpt, kd_weight=2.0)",
                                         "distillation(base=sparsegpt, kd_weight=1.0)"]
    # base_params alone tells two rows apart: then it stays
    df = pd.DataFrame({"method": ["distillation"] * 2, "method_params": params[1:2] + [params[1].replace("0.1", "0.01")]})
    assert list(method_variants(df)) == ["distillation(base_params=damp=0.1)", "distillation(base_params=damp=0.01)"]

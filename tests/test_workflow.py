"""The Snakemake workflow: the grid it lists, config errors before any job, and resuming after kills."""

from __future__ import annotations

import csv
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from _figures import count, tally
from prunebench.benchmarks.errors import UsageError
from prunebench.benchmarks.workflow_config import check_config, load_yaml
from prunebench.methods.registry import list_methods

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.workflow


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `prunebench` in rules
    return env


def snakemake(workdir: Path, *args: str, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    if kw.pop("background", False):
        return subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)


def tiny_config(path: Path, model_dir: Path, **changes) -> Path:
    config = {
        "tag": "test",
        "models": [f"local:{model_dir}"],
        "tasks": ["rte"],
        "seeds": [0],
        "data_source": "embedded",
        "methods": {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5, 0.7]},
                    "magnitude-layerwise": {"sparsities": [0.5, 0.7]}},
        "train": {"max_train_samples": 64, "max_eval_samples": 48, "epochs": 1, "recovery_epochs": 1,
                  "batch_size": 16, "eval_batch_size": 32, "bench_repeats": 1},
        "merge_sample_rows": True,  # a check grid: its sample-size rows are what these tests read back
        **changes,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def rows(workdir: Path) -> list[dict]:
    with open(workdir / "results/v1/results.csv", newline="") as f:
        return list(csv.DictReader(f))


def job_counts(stdout: str) -> dict[str, int]:
    lines = stdout[stdout.index("Job stats:") :].splitlines()[3:]
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_paper_config_lists_the_whole_study(tmp_path):
    # all_methods adds every registered method paper.yaml does not list (a new method needs no edit there)
    config = check_config(load_yaml(ROOT / "config/paper.yaml"))
    assert set(config["methods"]) == set(list_methods()) - set(config["all_methods"]["exclude"])
    done = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(ROOT / "config/paper.yaml"))
    assert done.returncode == 0, done.stderr
    counts = job_counts(done.stdout)
    assert len(config["models"]) >= 2 and len(config["tasks"]) == 9 and config["seeds"] == [0, 1, 2]
    assert counts["dense_run"] == len(config["models"]) * 9 * 3
    pruning = sum(len(m["sparsities"]) for name, m in config["methods"].items() if name != "dense")
    assert counts["prune_run"] == len(config["models"]) * 9 * 3 * pruning


@pytest.mark.parametrize(
    "change, message",
    [
        ({"methods": {"movment": {"sparsities": [0.5]}}}, "methods: unknown method 'movment'"),
        ({"methods": {"magnitude-global": {"sparsities": [1.5]}}}, "1.5 is greater than or equal to the maximum of 1"),
        ({"seeds": None}, "seeds: None is not of type 'array'"),
        ({"tasks": ["sst2", "qqqp"]}, "tasks: unknown task 'qqqp'"),
        ({"models": ["local:../elsewhere"]}, "a model folder may not contain '..'"),
        ({"tag": "../elsewhere"}, "tag: '../elsewhere' does not match"),
    ],
)
@pytest.mark.reliability
def test_a_malformed_config_stops_before_any_job(tmp_path, tiny_bert_dir, change, message):
    done = snakemake(tmp_path, "--cores", "1", "--configfile", str(tiny_config(tmp_path / "c.yaml", tiny_bert_dir, **change)))
    assert done.returncode != 0
    err = done.stderr.strip().splitlines()
    assert err == [f"prunebench: config error: {err[0].split('config error: ', 1)[1]}"] and message in err[0]
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
    count("inputs")


def test_a_missing_key_is_named(tmp_path, tiny_bert_dir):
    path = tiny_config(tmp_path / "c.yaml", tiny_bert_dir)
    config = yaml.safe_load(path.read_text())
    del config["train"]
    path.write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "1", "--configfile", str(path))
    assert done.returncode != 0 and "'train' is a required property" in done.stderr


# the rows and their merge: what a kill can damage (the report is made from the merged CSV alone)
ROWS_TARGET = "results/v1/results.csv"
# a grid of three rows, killed at a (seeded) random moment inside the job after its first row (SIGKILL to the
# whole process group: nothing gets to clean up), resumed, killed again inside the job after the next row
# (SIGTERM to Snakemake alone), resumed to the end
KILL_GRID = {"methods": {"dense": {"sparsities": [0.0]}, "magnitude-global": {"sparsities": [0.5, 0.7]}}}
KILLS = (signal.SIGKILL, signal.SIGTERM)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_bert_dir):
    """The three-row grid run once without interruption, with its own cache."""
    workdir = tmp_path_factory.mktemp("reference")
    config = str(tiny_config(workdir / "c.yaml", tiny_bert_dir, **KILL_GRID))
    done = snakemake(workdir, ROWS_TARGET, "--cores", "2", "--configfile", config)
    assert done.returncode == 0, done.stderr[-2000:]
    return workdir


@pytest.mark.reliability
def test_a_workflow_killed_twice_resumes_with_the_same_rows(tmp_path, tiny_bert_dir, reference):
    config = str(tiny_config(tmp_path / "c.yaml", tiny_bert_dir, **KILL_GRID))
    runs = tmp_path / "results/v1/runs"
    finished, rng = {}, random.Random(11)
    for sig in KILLS:
        snakemake(tmp_path, "--unlock", "--cores", "1", "--configfile", config)
        # one job at a time, so the kill lands inside the job after a new row, never after the last row
        at_least = len(list(runs.rglob("*.csv"))) + 1
        proc = snakemake(tmp_path, ROWS_TARGET, "--cores", "1", "--ignore-incomplete", "--configfile", config, background=True)
        deadline = time.time() + 300
        while time.time() < deadline and len(list(runs.rglob("*.csv"))) < at_least:
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 1.0))  # a job needs several seconds, its interpreter start alone more than one
        os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
        proc.wait(timeout=120)
        present = {p: p.read_bytes() for p in runs.rglob("*.csv")}
        assert at_least <= len(present) < 3, "the kill should land mid-grid"
        for path, text in present.items():  # every row file present is complete, and earlier ones are kept
            assert len(text.decode().strip().splitlines()) == 2
            assert finished.get(path, text) == text, f"{path} was recomputed"
        finished.update(present)

    snakemake(tmp_path, "--unlock", "--cores", "1", "--configfile", config)
    # every output is written atomically, so an existing one is complete: Snakemake's "incomplete" flag on a
    # job killed after its row landed (but before Snakemake noted it) need not cost a recomputation
    done = snakemake(tmp_path, ROWS_TARGET, "--cores", "2", "--ignore-incomplete", "--configfile", config)
    assert done.returncode == 0, done.stderr[-2000:]

    assert all(p.read_bytes() == text for p, text in finished.items()), "finished runs were recomputed"
    assert not [p for p in runs.rglob("*") if p.name.startswith(".")], "temporary files left behind"
    ours, theirs = rows(tmp_path), rows(reference)
    tally(3, [r["run_id"] for r in ours])
    assert len(ours) == 3 and len({r["run_id"] for r in ours}) == 3
    key = lambda r: (r["run_id"], r["score"], r["dense_score"], r["achieved_sparsity"])  # noqa: E731
    assert sorted(map(key, ours)) == sorted(map(key, theirs))
    count("kills", len(KILLS))
    count("rows", len(ours))


def test_a_script_table_is_built_with_the_report_and_records_its_command(tmp_path, tiny_bert_dir, reference):
    """`script_tables`: a table of scripts/ (here the chance audit) made from the merged CSV by the workflow, its
    first line the same command a person would type in the repository."""
    workdir = tmp_path / "w"
    (workdir / "results/v1").mkdir(parents=True)
    (workdir / "results/v1/results.csv").write_bytes((reference / "results/v1/results.csv").read_bytes())
    tables = {"near-chance": ["scripts/chance_audit.py", "{results}"]}
    config = str(tiny_config(workdir / "c.yaml", tiny_bert_dir, **KILL_GRID, script_tables=tables, partial=True))
    done = snakemake(workdir, "results/v1/tables/near-chance.md", "--cores", "1", "--configfile", config)
    assert done.returncode == 0, done.stderr[-2000:]
    first = (workdir / "results/v1/tables/near-chance.md").read_text().splitlines()[0]
    assert first.startswith("<!-- generated by `python scripts/chance_audit.py results/v1/results.csv "
                            "--out results/v1/tables/near-chance.md` from results/v1/results.csv")


@pytest.mark.parametrize("tables, message", [
    ({"near-chance": ["scripts/no_such_script.py"]}, "script_tables.near-chance: scripts/no_such_script.py is not a script"),
    ({"phases": ["scripts/chance_audit.py", "{results}"]}, "not be one the report writes (comparison, phases"),
    ({"x": ["scripts/chance_audit.py", "--out", "elsewhere.md"]}, "leave --out out; the workflow writes tables/x.md"),
])
def test_a_bad_script_table_is_named_before_any_job(tiny_bert_dir, tmp_path, tables, message):
    config = yaml.safe_load(tiny_config(tmp_path / "c.yaml", tiny_bert_dir, script_tables=tables).read_text())
    with pytest.raises(UsageError, match=re.escape(message)):
        check_config(config)


def test_a_committed_results_csv_does_not_hide_missing_rows(tmp_path, tiny_bert_dir):
    """A fresh clone holds the published results.csv; the default target must still build its grid's rows."""
    (tmp_path / "results/v1").mkdir(parents=True)
    (tmp_path / "results/v1/results.csv").write_bytes((ROOT / "results/v1/results.csv").read_bytes())
    done = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(tiny_config(tmp_path / "c.yaml", tiny_bert_dir)))
    assert done.returncode == 0, done.stderr
    counts = job_counts(done.stdout)
    assert counts["dense_run"] == 1 and counts["prune_run"] == 4 and counts["merge_results"] == 1


def test_a_partial_report_merges_the_rows_present_and_runs_none(tmp_path, tiny_bert_dir):
    """A campaign in progress: `--config partial=True` builds the report from the rows there are; without it the
    same workflow plans every missing row."""
    config = tiny_config(tmp_path / "c.yaml", tiny_bert_dir)
    plan = snakemake(tmp_path, "-n", "-p", "--cores", "1", "--configfile", str(config), "--config", "partial=True")
    assert plan.returncode == 0, plan.stderr
    counts = job_counts(plan.stdout)
    assert "prune_run" not in counts and "dense_run" not in counts and counts["merge_results"] == 1
    # every report notebook is told, and says under its title, how much of the grid its tables cover
    assert "progress=Campaign in progress: 0 of the 5 rows of grid test are measured" in plan.stdout
    lowercase = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(config), "--config", "partial=true")
    assert lowercase.returncode != 0 and "partial=true: write --config partial=True" in lowercase.stderr
    full = job_counts(snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(config)).stdout)
    assert full["prune_run"] == 4 and full["dense_run"] == 1

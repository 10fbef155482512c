"""Bad input ends with one line naming the problem and the valid choices, exit code 2, nothing written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prunebench.benchmarks.cli import main

ROOT = Path(__file__).resolve().parent.parent

BAD_RUNS = [
    (["--model", "gpt-9"], "unknown model 'gpt-9'; valid models: bert-base, distilbert, minilm-l6, hf:<hub id>, local:<dir>"),
    (["--task", "sst3"], "unknown task 'sst3' (did you mean 'sst2'?); valid tasks: cola, mnli, mrpc, qnli, qqp, rte, sst2, stsb, wnli"),
    (["--method", "magnitude"], "unknown method 'magnitude'"),
    (["--sparsity", "1.0"], "sparsity must be in [0, 1), got 1.0"),
    (["--sparsity", "-0.1"], "sparsity must be in [0, 1), got -0.1"),
    (["--sparsity", "half"], "argument --sparsity: 'half' is not a number"),
    (["--set", "lr=fast"], "--set lr: 'fast' is not a valid float"),
    (["--set", "learning_rate=1e-5"], "--set: unknown key 'learning_rate'; valid keys: max_len"),
    (["--param", "scope=layer"], "method 'magnitude-global' parameter: unknown key 'scope'"),
    (["--method", "sparsegpt", "--param", "calibration_sequences=0"],
     "prunebench: error: method 'sparsegpt': calibration_sequences must be >= 1, got 0"),  # a range check says whose
    (["--data-source", "s3"], "unknown data source 's3'; valid data sources: auto, hub, glue_dir, embedded"),
    (["--device", "tpu"], "unknown device 'tpu'; valid devices: auto, cpu, cuda, cuda:<index>"),
    (["--model", "local:/nonexistent"], "model folder /nonexistent has no config.json"),
]


def _argv(overrides, out):
    args = {"--model": "minilm-l6", "--task": "sst2", "--method": "magnitude-global", "--sparsity": "0.5"}
    extra = []
    for key, value in zip(overrides[::2], overrides[1::2]):
        if key in args:
            args[key] = value
        else:
            extra += [key, value]
    return ["run", *[x for kv in args.items() for x in kv], *extra, "--out", str(out)]


@pytest.mark.parametrize("overrides, message", BAD_RUNS, ids=[m[:30] for _, m in BAD_RUNS])
def test_bad_run_input(overrides, message, tmp_path, capsys):
    out = tmp_path / "row.csv"
    assert main(_argv(overrides, out)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "nothing may be written for bad input"


def test_dense_refuses_a_sparsity(tmp_path, capsys):
    assert main(["run", "--model", "minilm-l6", "--task", "sst2", "--method", "dense", "--sparsity", "0.5", "--out", str(tmp_path / "x.csv")]) == 2
    assert "method 'dense' does not prune: use --sparsity 0" in capsys.readouterr().err


def test_missing_arguments_are_one_line(capsys):
    assert main(["run", "--task", "sst2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "prunebench run: error: the following arguments are required: --model, --method, --sparsity (see prunebench run --help)"


def test_methods_lists_the_registered_methods(capsys):
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines][:3] == ["dense", "magnitude-global", "magnitude-layerwise"]
    assert main(["methods", "--kind", "nonsense"]) == 2


def test_a_pattern_no_method_matches_lists_the_registered_ones(capsys):
    assert main(["methods", "zzz*"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("prunebench: error: no method matches 'zzz*'; registered: dense, magnitude-global, ")


def test_validate_names_a_missing_config_once(capsys):
    assert main(["validate", "config/nope.yaml"]) == 2
    assert capsys.readouterr().err.strip() == "prunebench: error: config/nope.yaml: no such file"


def test_validate_accepts_the_smoke_config(capsys):
    assert main(["validate", "config/smoke.yaml"]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, message",
    [
        ("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0]\nmethods: {movment: {sparsities: [0.5]}}\ntrain: {}\n", "methods: unknown method 'movment'"),
        ("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0]\nmethods: {magnitude-global: {sparsities: [1.5]}}\ntrain: {}\n", "methods.magnitude-global.sparsities.0: 1.5 is greater than or equal to the maximum of 1"),
        ("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0]\nmethods: {dense: {sparsities: [0.0]}}\n", "(top level): 'train' is a required property"),
        ("tag: t\nmodels: [minilm-l6]\ntasks: [sts]\nseeds: [0]\nmethods: {dense: {sparsities: [0.0]}}\ntrain: {}\n", "tasks: unknown task 'sts'"),
        ("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [0]\nmethods: {dense: {sparsities: [0.0]}}\ntrain: {lr: fast}\n", "train lr: 'fast' is not a valid float"),
        ("models: [minilm-l6\n", "not valid YAML"),
    ],
)
def test_validate_rejects_a_malformed_config(text, message, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_validate_names_the_file_and_every_schema_problem_on_one_line_then_goes_on(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseeds: [-1]\nmethods: {dense: {sparsities: [1.5]}}\n")
    assert main(["validate", str(bad), "config/smoke.yaml"]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == (f"prunebench: error: {bad}: (top level): 'train' is a required property; "
                           "methods.dense.sparsities.0: 1.5 is greater than or equal to the maximum of 1; "
                           "seeds.0: -1 is less than the minimum of 0")
    assert out.startswith("config/smoke.yaml: ok")  # the next file is still checked


def test_an_unknown_config_key_is_named_with_the_closest_valid_one(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tag: t\nmodels: [minilm-l6]\ntasks: [sst2]\nseedz: [0]\nmethods: {dense: {sparsities: [0.0]}}\n"
                   "train: {epochs: 1}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"prunebench: error: {bad}: (top level): unknown key 'seedz' (did you mean 'seeds'?); "
                          "valid keys: all_methods, data_source,")
    assert err.endswith("; (top level): 'seeds' is a required property") and len(err.splitlines()) == 1


def test_validate_warns_offline_of_the_runs_that_need_the_hub_or_missing_data(tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text("tag: t\nresults_version: v9\nmodels: [minilm-l6, distilbert]\ntasks: [rte, qnli]\nseeds: [0]\n"
                      "methods: {dense: {sparsities: [0.0]}, random: {sparsities: [0.5]}}\ntrain: {epochs: 1}\n")
    env = {**{k: v for k, v in os.environ.items() if k != "HF_DATASETS_OFFLINE"}, "HF_HUB_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "empty-hf-cache")}  # no cached Hub model
    proc = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "validate", str(config)], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{config}: ok (2 model(s), 2 task(s), 2 method(s), 8 runs")
    # 3 of the 4 (model, task) pairs: distilbert on both tasks, and minilm-l6 on qnli (validation split only offline)
    assert proc.stderr == (f"prunebench: warning: {config}: HF_HUB_OFFLINE is set: 6 of its 8 runs cannot run on this "
                           "machine: model(s) distilbert need the Hugging Face Hub; task(s) qnli have no local source of "
                           "every split (GLUE_DIR, the embedded sample)\n")
    online = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "validate", str(config)], cwd=ROOT,
                            capture_output=True, text=True, env={**env, "HF_HUB_OFFLINE": "0"})
    assert "HF_HUB_OFFLINE" not in online.stderr  # with the Hub on, anything may load: nothing to warn of
    # the datasets switch alone stops the GLUE download (the data loader reads it), not a model load
    data_off = subprocess.run([sys.executable, "-m", "prunebench.benchmarks.cli", "validate", str(config)], cwd=ROOT,
                              capture_output=True, text=True, env={**env, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "true"})
    assert data_off.stderr == (f"prunebench: warning: {config}: HF_DATASETS_OFFLINE is set: 4 of its 8 runs cannot run "
                               "on this machine: task(s) qnli have no local source of every split (GLUE_DIR, the "
                               "embedded sample)\n")


def test_leaderboard_check_on_a_missing_folder_says_so_once(tmp_path, capsys):
    assert main(["leaderboard-check", "magnitude-global", "--root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"prunebench: error: --root {tmp_path / 'nowhere'}: no such folder (it should hold results/<version>/runs/...)"

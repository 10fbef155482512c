"""A synthetic schema-v1 results CSV for the analysis tests, small enough to check by hand.

Scores are chosen so that every aggregate has a known value (dense seeds 89/90/91 -> mean 90, std 1) and so
that the fixture holds every case the report must handle: two methods side by side, a sparsity one method
did not run (a "—" cell), several seeds and one seed, a QQP-subset curve next to nothing it could be mixed
with, a method that is not in the registry (the analysis must not need a method list), and a DistilBERT
grid that is absent (seed 003's runs are pending).
"""

from __future__ import annotations

from pathlib import Path

from prunebench.benchmarks.records import ResultRecord, to_csv_text

# (task, data_source, train_examples) -> method -> sparsity -> scores by seed
SCORES = {
    ("sst2", "glue_dir", 1000): {
        "dense": {0.0: [89.0, 90.0, 91.0]},
        "magnitude-global": {0.5: [89.5, 89.6, 89.7], 0.7: [85.0, 86.0, 87.0], 0.9: [52.0, 53.0, 54.0]},
        "magnitude-layerwise": {0.5: [88.0, 88.0, 88.0], 0.7: [80.0, 81.0, 82.0]},  # no 0.9: a "—" cell
        "user-method": {0.5: [90.0, 90.0, 90.0], 0.9: [70.0, 70.0, 70.0]},  # not in the registry
    },
    ("rte", "glue_dir", 1000): {
        "dense": {0.0: [60.0, 62.0, 64.0]},
        "magnitude-global": {0.5: [61.0, 62.0, 63.0], 0.7: [58.0, 58.0, 58.0], 0.9: [53.0, 53.0, 53.0]},
        "magnitude-layerwise": {0.5: [60.0, 60.0, 60.0], 0.7: [55.0, 55.0, 55.0]},
        "user-method": {0.5: [62.0, 62.0, 62.0], 0.9: [50.0, 51.0, 52.0]},
    },
    ("qqp", "glue_dir:qqp-subset", 1000): {
        "dense": {0.0: [80.0]},
        "magnitude-global": {0.5: [78.0], 0.9: [40.0]},
    },
}
MODEL = "minilm-l6"
PARAMS = 22_713_986
PRUNABLE = 21_000_000


def fixture_records() -> list[ResultRecord]:
    records = []
    for (task, source, n), methods in SCORES.items():
        dense_by_seed = methods["dense"][0.0]
        for method, by_sparsity in methods.items():
            for s, scores in by_sparsity.items():
                for seed, score in enumerate(scores):
                    run_id = f"{task}-{method}-{s}-{seed}"
                    records.append(ResultRecord(
                        schema_version=1, run_id=run_id, method=method, method_params="{}", model=MODEL, task=task,
                        seed=seed, target_sparsity=s, achieved_sparsity=s, metric="accuracy", score=score,
                        metrics=f'{{"accuracy":{score / 100}}}', dense_score=dense_by_seed[seed], data_source=source,
                        train_examples=n, params_total=PARAMS, params_nonzero=PARAMS - int(PRUNABLE * s),
                        flops=2_000_000_000 + seed, latency_ms=10.0 + seed, throughput=100.0 - seed,
                        peak_mem_mb=None, model_size_mb=86.6, train_seconds=1.0, device="cpu (1 threads)",
                        torch_version="2.13.0+cpu", transformers_version="5.0", git_commit="0" * 40,
                        config_hash=run_id, created_at="2026-01-01T00:00:00+00:00"))
    return records


def write_fixture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv_text(fixture_records()))
    return path

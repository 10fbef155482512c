"""Runs started side by side on a several-GPU machine spread over its GPUs (`benchmarks.gpu_slots`)."""

import pytest

from prunebench.benchmarks.gpu_slots import claim


def test_runs_fill_one_slot_of_every_gpu_before_a_second_and_a_finished_run_frees_its_slot(tmp_path):
    held = [claim(2, tmp_path) for _ in range(5)]  # five runs at once on a two-GPU machine
    assert [gpu for gpu, _ in held] == [0, 1, 0, 1, 0]
    held[1][1].close()  # the second run (GPU 1) ends, or is killed: its lock goes with its open file
    again, handle = claim(2, tmp_path)
    assert again == 1
    for _, h in [*held, (again, handle)]:
        h.close()
    assert claim(2, tmp_path)[0] == 0  # every slot free again


def test_no_gpus_is_refused():
    with pytest.raises(ValueError, match="gpus must be >= 1"):
        claim(0, None)

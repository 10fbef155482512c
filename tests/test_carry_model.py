"""The packed carry model unpacks to the same bytes, a damaged pack is refused instead of loading other weights, and
weights carried in parts (or not at all) make the same model on one warm machine."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from carry_model import DIGEST, MAGIC, MODEL, PACKED, READY, WAITING, install, pack, part_name, sha256_of, split, unpack  # noqa: E402


def model_folder(tmp_path: Path, dtype=torch.float16) -> Path:
    torch.manual_seed(0)
    save_file({"a.weight": torch.randn(64, 32).to(dtype), "b.bias": torch.randn(32).to(dtype)}, tmp_path / MODEL,
              metadata={"format": "pt"})
    return tmp_path


def test_a_packed_model_unpacks_to_the_same_bytes(tmp_path):
    folder = model_folder(tmp_path)
    before, weights = (folder / MODEL).read_bytes(), load_file(folder / MODEL)
    pack(folder)
    assert not (folder / MODEL).exists() and (folder / PACKED).exists()
    unpack(folder)
    assert hashlib.sha256((folder / MODEL).read_bytes()).digest() == hashlib.sha256(before).digest()
    assert all(torch.equal(load_file(folder / MODEL)[k], v) for k, v in weights.items())


def test_a_damaged_pack_is_refused(tmp_path):
    folder = model_folder(tmp_path)
    pack(folder)
    data = bytearray((folder / PACKED).read_bytes())
    data[-1] ^= 0xFF  # one low byte of the last weight
    (folder / PACKED).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256 differs"):
        unpack(folder)
    assert not (folder / MODEL).exists()


def test_only_16_bit_weights_are_packed_and_the_cli_says_why_in_one_line(tmp_path):
    folder = model_folder(tmp_path, dtype=torch.float32)
    proc = subprocess.run([sys.executable, "scripts/carry_model.py", "pack", str(folder)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "only 16-bit tensors are packed" in proc.stderr
    assert (folder / MODEL).exists()


def carried_folder(tmp_path: Path) -> tuple[Path, str]:
    """A carry as make_carry.py writes it: the small files, the pack, and the model's recorded sha256."""
    (tmp_path / "carried").mkdir()
    folder = model_folder(tmp_path / "carried")
    digest = hashlib.sha256((folder / MODEL).read_bytes()).hexdigest()
    (folder / "config.json").write_text("{}")
    (folder / DIGEST).write_text(digest + "\n")
    pack(folder)
    return folder, digest


def part_carries(carried: Path, tmp_path: Path, n: int) -> list[Path]:
    """The carries of n calls, call k holding part k of n (make_carry.py --weights k/n)."""
    calls = []
    for k in range(1, n + 1):
        call = tmp_path / f"call{k}"
        shutil.copytree(carried, call)
        split(call, k, n)
        calls.append(call)
    return calls


def test_a_whole_pack_installs_in_one_call(tmp_path):
    carried, digest = carried_folder(tmp_path)
    code, _ = install(carried, tmp_path / "model")
    assert code == READY and sha256_of(tmp_path / "model" / MODEL) == digest
    assert (tmp_path / "model" / "config.json").is_file()


def test_parts_of_the_weights_join_across_calls_on_one_machine(tmp_path):
    """Call A carries part 1 of 2 and runs nothing; call B carries part 2, and the model is whole; call C carries
    no weights and uses it."""
    carried, digest = carried_folder(tmp_path)
    pack_bytes = (carried / PACKED).read_bytes()
    calls = part_carries(carried, tmp_path, 2)
    assert b"".join((c / part_name(k, 2)).read_bytes() for k, c in enumerate(calls, 1)) == pack_bytes
    code, said = install(calls[0], tmp_path / "model")
    assert code == WAITING and "[2] of 2 still to come" in said and not (tmp_path / "model" / MODEL).exists()
    code, _ = install(calls[1], tmp_path / "model")
    assert code == READY and sha256_of(tmp_path / "model" / MODEL) == digest
    data_only = tmp_path / "call3"
    shutil.copytree(carried, data_only)
    (data_only / PACKED).unlink()
    code, said = install(data_only, tmp_path / "model")
    assert code == READY and "from an earlier call" in said


def test_no_weights_on_a_fresh_machine_is_an_error_that_says_what_to_carry(tmp_path):
    carried, _ = carried_folder(tmp_path)
    (carried / PACKED).unlink()
    proc = subprocess.run([sys.executable, "scripts/carry_model.py", "install", str(carried), str(tmp_path / "model")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "a fresh machine; carry the weights" in proc.stderr


def test_parts_of_other_weights_or_another_split_are_never_joined(tmp_path):
    """Parts wait under the model's sha256: a part 2 of other weights does not complete this model's part 1, and a
    new split of the same weights starts the set anew."""
    carried, _ = carried_folder(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(carried, first)
    shutil.copytree(carried, second)
    split(first, 1, 2)
    (second / DIGEST).write_text("0" * 64 + "\n")  # other weights
    split(second, 2, 2)
    assert install(first, tmp_path / "model")[0] == WAITING
    code, said = install(second, tmp_path / "model")
    assert code == WAITING and "[1] of 2 still to come" in said and not (tmp_path / "model").exists()
    third = tmp_path / "c"
    shutil.copytree(carried, third)
    split(third, 3, 3)
    code, said = install(third, tmp_path / "model")
    assert code == WAITING and "dropped 1 part(s) of another split" in said and "[1, 2] of 3" in said


def test_a_damaged_pack_leaves_the_earlier_model_in_place(tmp_path):
    carried, digest = carried_folder(tmp_path)
    assert install(carried, tmp_path / "model")[0] == READY
    data = bytearray((carried / PACKED).read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the xz stream of the high bytes
    (carried / PACKED).write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "scripts/carry_model.py", "install", str(carried), str(tmp_path / "model")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert any(why in proc.stderr for why in ("damaged", "sha256 differs", "truncated", "not a pack"))
    assert sha256_of(tmp_path / "model" / MODEL) == digest


def test_a_damaged_part_drops_the_set_and_asks_for_every_part_again(tmp_path):
    carried, _ = carried_folder(tmp_path)
    calls = part_carries(carried, tmp_path, 2)
    last = calls[1] / part_name(2, 2)
    data = bytearray(last.read_bytes())
    data[-1] ^= 0xFF  # a low byte of the last weight: the join's sha256 check finds it
    last.write_bytes(bytes(data))
    assert install(calls[0], tmp_path / "model")[0] == WAITING
    with pytest.raises(ValueError, match="carry every part again"):
        install(calls[1], tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call1", "call2", "carried"]  # no parts, no half-built model


def test_a_damaged_header_is_one_line_not_a_traceback(tmp_path):
    folder = model_folder(tmp_path)
    pack(folder)
    data = bytearray((folder / PACKED).read_bytes())
    data[len(MAGIC) + 3] = ord("#")  # inside the JSON line
    (folder / PACKED).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged header"):
        unpack(folder)

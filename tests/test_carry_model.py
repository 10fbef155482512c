"""The packed carry model unpacks to the same bytes, and a damaged pack is refused instead of loading other weights."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from carry_model import MODEL, PACKED, pack, unpack  # noqa: E402


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

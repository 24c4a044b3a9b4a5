"""Cache files written whole or not at all, and the temp files of runs
that were killed before they could remove their own.

A cache file (the lint's tree summaries and caller facts, the masking
kinds derived from a tree's headers) is replaced by renaming a temp file
of its folder over it: a reader finds the old text or the new, never a
mix.  A write that fails (a full disk, a read-only folder) removes its
temp file and answers False, which for a cache means only slower next
time; Ctrl-C removes it too and goes on.  A run killed outright (SIGKILL,
a power cut: no ``finally`` runs) leaves its temp file behind; its name
carries the run's process id, and the next write into the same folder
or read from the same folder removes those of processes that are gone
(the same for the lint's shipped exports, lint/shipping.py, and the
difftest's copy of the tree, runtime/conversion.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

# ".xenpatch-" also marks it for the fault tests' search for leftovers.
TEMP_PREFIX = ".xenpatch-cache-"
_TEMP = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[^/]*")


def write_whole(path: Path, data: str | bytes) -> bool:
    """``data`` at ``path``, whole or not at all; False if it could not be
    written (the file is then as it was)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_dead(path.parent, _TEMP)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def read_text(path: Path) -> str | None:
    """The cache file's text, None if there is none to read; the temp
    files that killed runs left in its folder are removed first."""
    sweep_dead(path.parent, _TEMP)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def read_json(path: Path) -> Any:
    """The cache file's JSON data, None if there is none to read or it is
    not JSON (read_text())."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def sweep_dead(folder: Path, name: re.Pattern[str]) -> list[Path]:
    """Remove the files and folders of ``folder`` whose name matches
    ``name`` (its first group: the process id of the run that made it) and
    whose run is gone; the removed ones."""
    gone: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return gone
    for n in names:
        m = name.fullmatch(n)
        if m is None or alive(int(m.group(1))):
            continue
        path = folder / n
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue  # another run's sweep was first, or not ours to remove
        gone.append(path)
    return gone


def alive(pid: int) -> bool:
    """Is process ``pid`` there (ours or another user's)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, another user's
    return True

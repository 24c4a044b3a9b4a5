"""Fault injection for the write paths: fail the N-th write, fsync, rename,
link, ref or index update with an error (or Ctrl-C, or SIGKILL).

:class:`Faults` wraps ``os.write``, ``os.fsync``, ``os.replace``,
``os.rename``, ``os.link``, ``os.mkdir`` and the repository updates of
:mod:`xenpatch.git.updates` (index, ref, HEAD) plus libgit2's object
writes.  Every call is a *fault point*; a run with ``fail_at=None`` only
counts them, a run with ``fail_at=N`` raises at the N-th.  ``sticky``
makes every later call fail too (a disk that stays full, a file system
gone read-only), so the rollback itself fails and the next run must
recover.

Also used in subprocesses (``python -m faults --kill-at N -- ARGS``):
SIGKILL at the N-th point.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pygit2

from xenpatch.git import updates

KINDS: dict[str, Callable[[str], BaseException]] = {
    "ENOSPC": lambda what: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), what),
    "EROFS": lambda what: OSError(errno.EROFS, os.strerror(errno.EROFS), what),
    "EPERM": lambda what: OSError(errno.EPERM, os.strerror(errno.EPERM), what),
    "KeyboardInterrupt": lambda what: KeyboardInterrupt(),
}

# fault points per write path, printed at the end of the test session
COUNTS: dict[str, int] = {}

_OS_CALLS = ("write", "fsync", "replace", "rename", "link", "mkdir")
_UPDATES = ("write_index", "move_ref", "point_head")
_OBJECTS = ("create_blob", "create_commit")


class Faults:
    def __init__(self, fail_at: int | None = None, kind: str = "ENOSPC", *,
                 sticky: bool = False, kill: bool = False) -> None:
        self.fail_at = fail_at
        self.kind = kind
        self.sticky = sticky
        self.kill = kill
        self.count = 0
        self.fired: str | None = None
        self.points: list[str] = []

    def _hit(self, name: str, arg: object) -> None:
        self.count += 1
        self.points.append(name)
        failing = self.fail_at is not None and (
            self.count == self.fail_at or (self.sticky and self.count > self.fail_at))
        if not failing:
            return
        if self.fired is None:
            self.fired = name
        if self.kill:
            os.kill(os.getpid(), signal.SIGKILL)
        what = arg if isinstance(arg, (str, os.PathLike)) else name
        raise KINDS[self.kind](str(what))

    @contextmanager
    def installed(self) -> Iterator[Faults]:
        saved: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, label: str) -> None:
            real = getattr(owner, name)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self._hit(label, args[0] if args else None)
                return real(*args, **kwargs)

            saved.append((owner, name, real))
            setattr(owner, name, wrapper)

        for name in _OS_CALLS:
            wrap(os, name, f"os.{name}")
        for name in _UPDATES:
            wrap(updates, name, f"git.{name}")
        for name in _OBJECTS:
            wrap(pygit2.Repository, name, f"git.{name}")
        try:
            yield self
        finally:
            for owner, name, real in reversed(saved):
                setattr(owner, name, real)


# --------------------------------------------------------------------------
# what "exactly as before" means


def _git(repo: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True,
                          text=True, errors="replace").stdout


_REFLOG_TIME = re.compile(rb"> \d+ [+-]\d{4}\t")


def snapshot(tree: Path, repo: Path | None = None,
             extra: tuple[Path, ...] = ()) -> dict[str, object]:
    """Every file's bytes and mode under ``tree`` (and ``extra`` folders),
    and when ``repo`` is given: HEAD, every ref, the index entries, the
    reflogs (without their clock times), xenpatch's state in the git dir."""
    files: dict[str, tuple[bytes, int]] = {}
    for n, root in enumerate((tree, *extra)):
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if ".git" in rel.parts:
                continue
            if p.is_file():
                files[f"{n}:{rel}"] = (p.read_bytes(), p.stat().st_mode & 0o7777)
            elif p.is_dir():
                files[f"{n}:{rel}"] = (b"<dir>", 0)
    state: dict[str, object] = {"files": files}
    if repo is not None:
        gd = repo / ".git"
        state["head"] = (gd / "HEAD").read_text()
        state["refs"] = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
        state["index"] = _git(repo, "ls-files", "-s")
        state["logs"] = {str(p.relative_to(gd)): _REFLOG_TIME.sub(b">\t", p.read_bytes())
                         for p in sorted((gd / "logs").rglob("*")) if p.is_file()}
        state["xenpatch"] = {str(p.relative_to(gd)): p.read_bytes()
                             for p in sorted((gd / "xenpatch").rglob("*")) if p.is_file()}
    return state


def leftovers(*roots: Path) -> list[str]:
    """Temp files, staging folders, journal records and git lock files."""
    found = []
    for root in roots:
        if not root.exists():
            continue
        for p in root.rglob("*"):
            name = p.name
            if ".xenpatch-" in name or name.startswith("xenpatch-journal") or (
                    name.endswith(".lock") and ".git" in p.parts):
                found.append(str(p))
    return sorted(found)


def main(argv: list[str]) -> int:
    """``python -m faults --kill-at N [--now T] -- xenpatch-args...``: SIGKILL
    at point N; ``--fail-at N --kind K [--sticky]`` raises K there instead
    (KINDS); ``--now`` fixes the clock (a series' dates and Message-IDs).
    Prints the number of fault points met on stderr."""
    head = argv[:argv.index("--")]
    args = argv[argv.index("--") + 1:]
    if "--now" in head:
        import time

        now = float(head[head.index("--now") + 1])
        time.time = lambda: now
    from xenpatch.cli import main as xmain

    if "--kill-at" in head:
        faults = Faults(int(head[head.index("--kill-at") + 1]), kill=True)
    else:
        faults = Faults(int(head[head.index("--fail-at") + 1]),
                        head[head.index("--kind") + 1], sticky="--sticky" in head)
    with faults.installed() as f:
        code = xmain(args)
    print(f"fault points: {f.count}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The repository updates of a journaled commit: index, ref, HEAD.

Each update is one function here, called through this module, so that the
fault-injection tests can fail each in turn.  :func:`landed`,
:func:`complete` and :func:`cleanup` are what :func:`xenpatch.journal.recover`
needs to judge a record left by an interrupted commit: the ref is the
commit point; before it, everything is rolled back.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pygit2

from xenpatch.errors import GitError


def write_index(index: pygit2.Index) -> None:
    """Write the index (libgit2 writes ``index.lock`` and renames it)."""
    index.write()


def move_ref(repo: pygit2.Repository, name: str, old: pygit2.Oid | None, new: pygit2.Oid,
             message: str) -> None:
    """Point ``name`` at ``new`` if it still holds ``old`` (None: must not exist)."""
    if name == "HEAD":
        if repo.head_is_unborn or repo.head.target != old:
            raise GitError("HEAD", "moved while committing; nothing was changed")
        repo.set_head(new)
        return
    ref = repo.references.get(name)
    if old is None:
        if ref is not None:
            raise GitError(name, "was created while committing; nothing was changed")
        repo.create_reference_direct(name, new, False, message=message)
        return
    if ref is None or ref.target != old:
        raise GitError(name, "moved while committing; nothing was changed")
    ref.set_target(new, message)  # libgit2 compares with the old id again


def point_head(repo: pygit2.Repository, refname: str) -> None:
    """HEAD becomes a symbolic ref to ``refname``."""
    repo.set_head(refname)


# --------------------------------------------------------------------------
# what the journal records, and how a recovery judges it


def record_extra(repo: pygit2.Repository, refname: str, old: pygit2.Oid | None,
                 new: pygit2.Oid, head_to: str | None) -> dict[str, Any]:
    git_dir = Path(repo.path)
    logs = {}
    for name in {"HEAD", refname}:
        log = git_dir / "logs" / name
        logs[str(log)] = log.stat().st_size if log.exists() else -1
    return {"git": {"git_dir": str(git_dir), "ref": refname,
                    "old": None if old is None else str(old), "new": str(new),
                    "head_to": head_to, "reflogs": logs, "step": "files"}}


def _ref_value(repo: pygit2.Repository, name: str) -> str | None:
    if name == "HEAD":
        return None if (repo.head_is_unborn or not repo.head_is_detached) else str(
            repo.head.target)
    ref = repo.references.get(name)
    return None if ref is None else str(ref.target)


def landed(extra: dict[str, Any]) -> bool:
    git = extra.get("git")
    if not git:
        return False
    try:
        repo = pygit2.Repository(git["git_dir"])
        return _ref_value(repo, git["ref"]) == git["new"]
    except (pygit2.GitError, KeyError, ValueError):
        return False


def complete(extra: dict[str, Any]) -> None:
    git = extra["git"]
    repo = pygit2.Repository(git["git_dir"])
    head_to = git.get("head_to")
    if head_to and (repo.head_is_detached or repo.references["HEAD"].target != head_to):
        point_head(repo, head_to)
    _drop_locks(git)


def cleanup(extra: dict[str, Any]) -> None:
    """Before a rollback: lock files and reflog lines of an update that did not land."""
    git = extra.get("git")
    if not git:
        return
    _drop_locks(git)
    for log, size in git.get("reflogs", {}).items():
        if size < 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(log)
        elif os.path.exists(log) and os.path.getsize(log) > size:
            os.truncate(log, size)


def _drop_locks(git: dict[str, Any]) -> None:
    # Only the steps this record reached can have left a lock of ours.
    step = git.get("step")
    git_dir = Path(git["git_dir"])
    locks = []
    if step in ("index", "ref"):
        locks.append(git_dir / "index.lock")
    if step == "ref":
        locks += [git_dir / f"{git['ref']}.lock", git_dir / "HEAD.lock"]
    for lock in locks:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)

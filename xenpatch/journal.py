"""All-or-nothing writes of several files, recoverable after a crash.

Every write path of xenpatch (``rewrite --in-place``, ``rewrite --commit``,
``series``) goes through :class:`Journal`:

1. an intent record (state ``staging``) names every target, the staged file
   that will replace it and the backup that keeps its old content;
2. the staged files are written and fsynced, each existing target gets a
   backup (a hard link, so the old inode survives the rename);
3. the record moves to state ``applying``; the renames follow;
4. a caller may add steps of its own (the index, a ref) that it records in
   ``extra`` and that the recovery knows how to judge;
5. backups, staging folders and, last, the record are removed.

The record lives in the git dir when the files are in a git work tree (git
itself never looks at it) and in a dot-file at the root otherwise.  A later
xenpatch command that finds one (:func:`recover`) rolls the change back --
restoring every backup -- unless the caller's commit point was reached (a ref
moved to its new value), in which case it completes it.  Either way no
staged file or backup survives, so a crash leaves the tree exactly as before
or exactly as after.

A record is an interrupted write only once its writer is gone: a writer
holds the record's lock (:func:`holding`, an ``flock`` the kernel drops when
the process dies) from before its record exists until after it is removed,
and a command that finds a record takes the same lock before judging it.
So two xenpatch processes writing through one record (two reports written
into one folder, a lint started while a rewrite lands) take turns, and
neither rolls back the other's change in flight.

Every write goes through ``os.write``/``os.fsync``/``os.replace`` so that the
fault-injection tests (tests/faults.py) can fail each one in turn.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenpatch.errors import XenpatchError

RECORD_NAME = "xenpatch-journal.json"  # in the git dir
DOT_RECORD_NAME = ".xenpatch-journal.json"  # at a tree root outside git
_VERSION = 1
# Staged files and backups carry this in their names: a record naming any
# other file is not ours and is refused rather than acted on.
_MARK = ".xenpatch-"


class JournalError(XenpatchError):
    """A journaled write failed (the tree is as before) or a record is unusable."""


# --------------------------------------------------------------------------
# low-level writes, all through os.* so that faults can be injected


def write_bytes(path: Path, data: bytes, mode: int = 0o644, *, exclusive: bool = True) -> None:
    """Write and fsync ``path`` (created with ``mode``; O_EXCL unless told)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames and unlinks in ``path`` durable (best effort off Linux)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _unlink(path: Path | str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# --------------------------------------------------------------------------
# one writer per record


def lock_path(record: Path) -> Path:
    return record.with_name(record.name + ".lock")


# The locks this process holds: lock file -> [its descriptor, depth] (a
# command that recovers a record and then writes through it takes it twice).
_HELD: dict[str, list[int]] = {}


@contextlib.contextmanager
def holding(record: Path) -> Iterator[None]:
    """The record's lock, held within: waits while another process holds it."""
    path = str(lock_path(record))
    held = _HELD.get(path)
    if held is not None:
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    if not record.parent.is_dir():
        raise JournalError(str(record.parent), "no such folder; nothing was changed")
    fd = _acquire(path)
    _HELD[path] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[path]
        # Removed while still held, so that no lock file outlives the
        # write; a process that opened it meanwhile finds it gone once it
        # gets the lock, and opens it anew (_acquire()).
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _acquire(path: str) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                # A file system without locks: written as before them.
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                return fd
            mine = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            return fd
        os.close(fd)  # the holder before us removed this one: the lock is a new file


# --------------------------------------------------------------------------
# where the record goes


def git_dir_of(path: Path) -> Path | None:
    """The git dir of the work tree holding ``path``, found without libgit2
    (every command checks for records, even those that never load pygit2)."""
    here = path if path.is_dir() else path.parent
    for d in (here, *here.parents):
        dot = d / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            try:
                text = dot.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                g = Path(text[len("gitdir:"):].strip())
                return g if g.is_absolute() else (d / g).resolve()
            return None
    return None


def record_path_for(root: Path) -> Path:
    """Where a journal for files under ``root`` keeps its record."""
    root = root.resolve()
    gd = git_dir_of(root)
    return gd / RECORD_NAME if gd is not None else root / DOT_RECORD_NAME


def find_records(paths: Iterable[Path]) -> list[Path]:
    """Records that a command touching ``paths`` must deal with first."""
    found: dict[Path, None] = {}
    for p in paths:
        try:
            here = p.resolve()
        except (OSError, RuntimeError):
            continue
        if not here.is_dir():
            here = here.parent
        for d in (here, *here.parents):
            candidates = [d / DOT_RECORD_NAME]
            stop = (d / ".git").exists()
            if stop:
                gd = git_dir_of(d)
                if gd is not None:
                    candidates.append(gd / RECORD_NAME)
            for rec in candidates:
                if rec.is_file() or leftover_tmp(rec).is_file() or lock_path(rec).is_file():
                    found[rec] = None
            if stop:
                break
    return list(found)


# --------------------------------------------------------------------------
# the journal


@dataclass
class Entry:
    target: str
    staged: str | None  # None: delete the target (or: a file written by someone else)
    backup: str | None  # None: the target did not exist
    existed: bool
    kept: bool = False  # written by other code after apply() (the git index)


@dataclass
class Journal:
    record: Path
    what: str
    entries: list[Entry] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)  # staging folders to remove at the end
    made: list[str] = field(default_factory=list)  # folders made for new files, outer first
    extra: dict[str, Any] = field(default_factory=dict)
    state: str = "new"

    # -- the record

    def _dump(self, state: str) -> bytes:
        data = {
            "version": _VERSION, "what": self.what, "state": state,
            "files": [e.__dict__ for e in self.entries], "dirs": self.dirs, "made": self.made,
            "extra": self.extra,
        }
        return (json.dumps(data, indent=1) + "\n").encode()

    def save(self, state: str) -> None:
        """Move the record to ``state``, durably (temp file, fsync, rename)."""
        tmp = self.record.with_name(self.record.name + ".tmp")
        _unlink(tmp)
        write_bytes(tmp, self._dump(state))
        os.replace(tmp, self.record)
        self.state = state
        fsync_dir(self.record.parent)

    # -- forward

    def stage(self, writes: Mapping[Path, bytes | None], modes: Mapping[Path, int] | None = None,
              staging_dir: Path | None = None, keep: Iterable[Path] = (),
              make_dirs: bool = False) -> None:
        """Record, then write every staged file and backup.

        ``writes``: absolute target → new content (None deletes it).  Staged
        files go beside their targets, or into ``staging_dir`` (made here,
        removed at the end) when given.  ``keep``: files that other code
        rewrites later (the git index) and that only need a backup.
        """
        # The record is read back from anywhere (the next command's own
        # working directory): every path in it is absolute.
        writes = {_abs(t): d for t, d in writes.items()}
        modes = {_abs(t): m for t, m in (modes or {}).items()}
        staging_dir = None if staging_dir is None else _abs(staging_dir)
        keep = [_abs(t) for t in keep]
        if self.record.exists():
            raise JournalError(str(self.record), "an unfinished change is recorded here; "
                               "run any xenpatch command on this tree to recover it")
        # secrets.token_hex()'s bytes, without importing secrets (hmac,
        # random...) in every command's start-up: recovery imports this.
        token = os.urandom(4).hex()
        if staging_dir is not None:
            self.dirs.append(str(staging_dir))
        for n, (target, data) in enumerate(sorted(writes.items())):
            where = staging_dir if staging_dir is not None else target.parent
            staged = None if data is None else str(where / f".{n}.{target.name}{_MARK}new-{token}")
            existed = target.exists() or target.is_symlink()
            backup = str(target.parent / f".{target.name}{_MARK}old-{token}") if existed else None
            self.entries.append(Entry(str(target), staged, backup, existed))
        for target, data in writes.items():
            if data is None or target.parent.is_dir():
                continue
            if not make_dirs:
                raise JournalError(str(target.parent), "no such folder; nothing was changed")
            missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                if str(folder) not in self.made:
                    self.made.append(str(folder))
        for target in keep:
            existed = target.exists()
            backup = str(target.parent / f".{target.name}{_MARK}old-{token}") if existed else None
            self.entries.append(Entry(str(target), None, backup, existed, kept=True))
        self.save("staging")
        for d in self.made:
            os.mkdir(d, 0o755)
        if staging_dir is not None:
            os.mkdir(staging_dir, 0o755)
        for entry in self.entries:
            target = Path(entry.target)
            if entry.staged is not None:
                data = writes[target]
                assert data is not None
                mode = modes.get(target)
                if mode is None:
                    mode = target.stat().st_mode & 0o7777 if entry.existed else 0o644
                write_bytes(Path(entry.staged), data, mode)
                os.chmod(entry.staged, mode)  # whatever the umask
            if entry.backup is not None:
                _backup(target, Path(entry.backup))
        for folder in sorted({Path(e.staged).parent for e in self.entries if e.staged}):
            fsync_dir(folder)

    def apply(self) -> None:
        """The renames (and deletions); the record says ``applying`` first."""
        self.save("applying")
        parents: set[Path] = set()
        for entry in self.entries:
            if entry.kept:
                continue
            if entry.staged is not None:
                os.replace(entry.staged, entry.target)
            elif entry.existed:
                os.unlink(entry.target)
            parents.add(Path(entry.target).parent)
        for d in sorted(parents):
            fsync_dir(d)

    def finish(self) -> None:
        """Drop backups and staging folders, then the record: the change stands."""
        _finish(self.entries, self.dirs)
        _unlink(leftover_tmp(self.record))
        _unlink(self.record)
        fsync_dir(self.record.parent)

    def rollback(self) -> None:
        """Put every target back as it was, then drop the record."""
        _rollback(self.entries, self.dirs, self.state)
        for d in reversed(self.made):
            with contextlib.suppress(OSError):
                os.rmdir(d)
        _unlink(self.record.with_name(self.record.name + ".tmp"))
        _unlink(self.record)
        fsync_dir(self.record.parent)


def _abs(path: Path) -> Path:
    """Absolute, without resolving symlinks (a link to a file is replaced, as
    a plain write would; rule paths are checked to stay inside the tree)."""
    return Path(os.path.abspath(path))


def _backup(target: Path, backup: Path) -> None:
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # no hard links here: a copy does the same job, only slower
        write_bytes(backup, target.read_bytes(), target.stat().st_mode & 0o7777)


def _finish(entries: list[Entry], dirs: list[str]) -> None:
    for entry in entries:
        _unlink(entry.backup)
        if entry.staged is not None and os.path.lexists(entry.staged):
            _unlink(entry.staged)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def _rollback(entries: list[Entry], dirs: list[str], state: str) -> None:
    applying = state != "staging"
    for entry in reversed(entries):
        if applying:
            if entry.backup is not None and os.path.lexists(entry.backup):
                os.replace(entry.backup, entry.target)
            elif not entry.existed and (entry.kept or (
                    entry.staged is not None and not os.path.lexists(entry.staged))):
                _unlink(entry.target)  # ours: created by the rename (or by the caller)
        _unlink(entry.staged)
        _unlink(entry.backup)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    for d in sorted({str(Path(e.target).parent) for e in entries}):
        fsync_dir(Path(d))


# --------------------------------------------------------------------------
# one call for the plain case


def write_files(root: Path, writes: Mapping[Path, bytes | None], *, what: str,
                modes: Mapping[Path, int] | None = None, staging_dir: Path | None = None,
                record: Path | None = None, make_dirs: bool = False) -> None:
    """Write (or delete) every file of ``writes`` or none of them.

    A failure, including Ctrl-C, rolls everything back and raises
    :class:`JournalError` naming the target that failed (KeyboardInterrupt is
    re-raised after the rollback).
    """
    journal = Journal(_abs(record or record_path_for(root)), what)
    run(journal, lambda: journal.stage(writes, modes, staging_dir, make_dirs=make_dirs))


def run(journal: Journal, stage: Callable[[], None],
        after_apply: Callable[[], None] | None = None,
        complete: Callable[[], None] | None = None) -> None:
    """Stage, apply, run ``after_apply`` (whose last step is the caller's
    commit point: it sets ``journal.state = "landed"`` right after), finish.

    Any failure before the commit point rolls back.  After it the change
    stands: ``complete`` (the caller's steps after its commit point) and the
    clean-up are tried again once; if that fails too, the record stays for
    the next command to complete.
    """
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(holding(journal.record))
        except OSError as exc:  # the folder read-only, a lock refused: nothing began
            raise _as_error(exc, journal) from None
        _run(journal, stage, after_apply, complete)


def _run(journal: Journal, stage: Callable[[], None],
         after_apply: Callable[[], None] | None,
         complete: Callable[[], None] | None) -> None:
    try:
        stage()
        journal.apply()
        if after_apply is not None:
            after_apply()
            journal.state = "landed"
        else:
            journal.save("done")  # the commit point of a plain write
    except BaseException as exc:
        if journal.state == "new":
            _unlink(leftover_tmp(journal.record))
            raise _as_error(exc, journal) from None
        if journal.state in ("landed", "done"):
            _settle(journal, complete, exc)
            return
        try:
            journal.rollback()
        except BaseException as undo:
            raise JournalError(
                _tree_of(journal.record),
                f"{_reason(exc)}; rolling back failed too ({_reason(undo)}): "
                "the next xenpatch command on this tree restores it",
            ) from None
        raise _as_error(exc, journal) from None
    try:
        journal.finish()
    except BaseException as exc:
        _settle(journal, complete, exc)


def _settle(journal: Journal, complete: Callable[[], None] | None, first: BaseException
            ) -> None:
    """After the commit point: finish what is left, or leave it to the next run."""
    try:
        if complete is not None:
            complete()
        journal.finish()
    except BaseException as exc:
        raise JournalError(_tree_of(journal.record), f"{_reason(first)}, then {_reason(exc)}, "
                           "after the change was made; the next xenpatch command on this "
                           "tree completes it") from None


def _tree_of(record: Path) -> str:
    """The tree a record serves (the user's name for it, not the record's)."""
    return str(record.parent if record.name == DOT_RECORD_NAME else record.parent.parent)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _as_error(exc: BaseException, journal: Journal) -> BaseException:
    """The error to raise after a rollback: it names the real target."""
    if isinstance(exc, (KeyboardInterrupt, XenpatchError)):
        return exc
    if isinstance(exc, OSError):
        name = str(exc.filename or journal.record)
        if name in (str(journal.record), str(leftover_tmp(journal.record)),
                    str(lock_path(journal.record))):
            name = _tree_of(journal.record)  # the record is ours, not the user's
        for e in journal.entries:
            if name in (e.staged, e.backup):
                name = e.target
        for d in journal.dirs:
            if name.startswith(d):  # a staging folder: name the folder it fills
                served = [e.target for e in journal.entries if e.staged and
                          e.staged.startswith(d)]
                name = str(Path(served[0]).parent if served else Path(d).parent)
        reason = exc.strerror or str(exc)
        return JournalError(name, f"{reason}; nothing was changed")
    return exc


# --------------------------------------------------------------------------
# recovery


def load_record(record: Path) -> Journal:
    """The journal a record describes; JournalError when it is not one of ours."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError("unknown version")
        entries = [Entry(str(f["target"]), f["staged"], f["backup"], bool(f["existed"]),
                         bool(f.get("kept", False))) for f in data["files"]]
        dirs = [str(d) for d in data["dirs"]]
        made = [str(d) for d in data.get("made", [])]
        state = str(data["state"])
        extra = dict(data.get("extra") or {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JournalError(str(record), f"not a xenpatch journal record ({exc}); "
                           "check the tree and remove the file") from None
    for e in entries:
        for p in (e.staged, e.backup):
            if p is not None and (not isinstance(p, str) or _MARK not in Path(p).name):
                raise JournalError(str(record), f"names a file xenpatch did not stage ({p})")
    for d in dirs:
        if _MARK not in Path(d).name:
            raise JournalError(str(record), f"names a folder xenpatch did not make ({d})")
    journal = Journal(record, str(data.get("what", "a write")), entries, dirs, made, extra, state)
    return journal


LandedCheck = Callable[[dict[str, Any]], bool]


def recover(record: Path, landed: LandedCheck | None = None,
            complete: Callable[[dict[str, Any]], None] | None = None,
            cleanup: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Finish or undo the change ``record`` describes; returns what was done.

    ``landed(extra)`` says whether the caller's commit point was passed (a
    ref moved); then ``complete(extra)`` finishes the steps after it and the
    change stands.  Otherwise everything is rolled back; ``cleanup(extra)``
    removes what the caller's own steps may have left (lock files).  Waits
    for a writer still at work on the record; "" when it then left nothing
    (or only its lock file, which goes with the lock).
    """
    with holding(record):
        return _recover(record, landed, complete, cleanup)


def _recover(record: Path, landed: LandedCheck | None,
             complete: Callable[[dict[str, Any]], None] | None,
             cleanup: Callable[[dict[str, Any]], None] | None) -> str:
    if not record.exists():
        if not leftover_tmp(record).exists():
            return ""
        # only the first record's temp file: nothing was staged yet
        _unlink(leftover_tmp(record))
        return "removed an unused journal record"
    journal = load_record(record)
    if journal.state == "done" or (
            journal.state != "staging" and landed is not None and landed(journal.extra)):
        if complete is not None:
            complete(journal.extra)
        journal.finish()
        return f"completed an interrupted {journal.what}"
    if cleanup is not None:
        cleanup(journal.extra)
    journal.rollback()
    return f"rolled back an interrupted {journal.what}"


def leftover_tmp(record: Path) -> Path:
    return record.with_name(record.name + ".tmp")

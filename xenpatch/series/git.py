"""Every pygit2 call of xenpatch, and every ``git`` subprocess, lives here.

Keeping git behind one module (as b4 does) means the mail layer only sees
plain dataclasses (:class:`CommitInfo`, :class:`FileChange`) and bytes, and a
libgit2 quirk is fixed in one place.  Anything that fails because of what the
user gave us raises :class:`~xenpatch.series.errors.SeriesError`.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from pygit2.enums import DiffOption, FileStatus

from xenpatch.series.errors import SeriesError

NULL_SHA = "0" * 40
_REG = 0o100644
_EXEC = 0o100755


# --------------------------------------------------------------------------
# repository, identity


def open_repo(repo_dir: str | os.PathLike[str]) -> pygit2.Repository:
    """Open the repository holding ``repo_dir`` (a work tree or a git dir)."""
    path = pygit2.discover_repository(str(repo_dir))
    if path is None:
        raise SeriesError(str(repo_dir), "not inside a git repository")
    return pygit2.Repository(path)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def _config_get(config: pygit2.Config, key: str) -> str | None:
    try:
        value = config[key]
    except KeyError:
        return None
    return value if value else None


def identity(repo_dir: str | os.PathLike[str], role: str = "author") -> Identity:
    """Who git would record as ``role`` ("author" or "committer").

    Same precedence as git: ``GIT_AUTHOR_NAME``-style environment first, then
    ``author.name``/``committer.name``, then ``user.name`` (likewise email).
    """
    repo = open_repo(repo_dir)
    env = role.upper()
    name = os.environ.get(f"GIT_{env}_NAME") or _config_get(repo.config, f"{role}.name")
    name = name or _config_get(repo.config, "user.name")
    email = os.environ.get(f"GIT_{env}_EMAIL") or _config_get(repo.config, f"{role}.email")
    email = email or _config_get(repo.config, "user.email")
    if not name or not email:
        missing = " and ".join(k for k, v in (("user.name", name), ("user.email", email)) if not v)
        raise SeriesError(
            "git identity",
            f"{missing} not set in the git config of {repo.workdir or repo.path} "
            f"(run: git config user.name 'Your Name'; git config user.email you@example.org)",
        )
    return Identity(name.strip(), email.strip())


def signoff(repo_dir: str | os.PathLike[str]) -> str:
    """``Name <email>`` for a ``Signed-off-by:`` trailer (the committer, as git -s does)."""
    return str(identity(repo_dir, "committer"))


def _parse_date_env(value: str) -> tuple[int, int]:
    """git's internal date format ``[@]<epoch> <+hhmm>`` → (epoch, offset minutes)."""
    m = re.fullmatch(r"@?(\d+)\s+([+-])(\d\d)(\d\d)", value.strip())
    if not m:
        raise SeriesError("GIT_*_DATE", f"{value!r}: use the form '<epoch> <+hhmm>'")
    sign = -1 if m.group(2) == "-" else 1
    return int(m.group(1)), sign * (int(m.group(3)) * 60 + int(m.group(4)))


def _signature(repo_dir: str | os.PathLike[str], role: str) -> pygit2.Signature:
    who = identity(repo_dir, role)
    date = os.environ.get(f"GIT_{role.upper()}_DATE")
    if date:
        when, offset = _parse_date_env(date)
    else:
        when = int(time.time())
        offset = int(time.localtime(when).tm_gmtoff // 60)
    return pygit2.Signature(who.name, who.email, when, offset)


# --------------------------------------------------------------------------
# commit_files


def _is_dirty(repo: pygit2.Repository) -> list[str]:
    """Tracked paths that differ from HEAD in the index or the work tree."""
    dirty = []
    for path, flags in repo.status(untracked_files="no").items():
        if flags & ~(FileStatus.IGNORED | FileStatus.WT_NEW):
            dirty.append(path)
    return sorted(dirty)


def render_commit_message(context: Mapping[str, object], **kwargs: object) -> str:
    """Alias of :func:`xenpatch.series.message.render_commit_message`, for
    callers that take everything commit-related from this module."""
    from xenpatch.series.message import render_commit_message as render

    return render(context, **kwargs)  # type: ignore[arg-type]


def _check_path(path: str) -> None:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..", ".git") for p in parts)
        or "\0" in path
    ):
        raise SeriesError(path, "not a clean relative path inside the work tree")


def commit_files(
    repo_dir: str | os.PathLike[str],
    changes: Mapping[str, bytes | None],
    message: str,
    *,
    branch: str | None = None,
    force: bool = False,
) -> str:
    """Commit ``changes`` (path relative to the work tree → new content; None
    deletes) as one commit on the current branch, or on ``branch``.

    ``branch`` is created at HEAD and checked out when missing; an existing
    branch must be the current one or point at HEAD's commit (so switching to
    it never touches the work tree).  Author and committer come from the git
    config.  A dirty work tree is refused unless ``force``.

    Order makes a half-made commit impossible: the blobs, tree and commit
    objects are written first (unreferenced objects are harmless), then the
    branch ref is moved with a compare-and-swap on the old tip, then the new
    file contents are renamed into place and the index is written through
    its lock file.  Returns the new commit's sha.
    """
    repo = open_repo(repo_dir)
    if repo.is_bare or repo.workdir is None:
        raise SeriesError(str(repo_dir), "bare repository has no work tree to commit from")
    if not message.strip():
        raise SeriesError("commit message", "empty")
    for path in changes:
        _check_path(path)
    workdir = Path(repo.workdir)
    author = _signature(repo_dir, "author")
    committer = _signature(repo_dir, "committer")

    if not force:
        dirty = _is_dirty(repo)
        if dirty:
            shown = ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else "")
            raise SeriesError(
                str(workdir), f"work tree has uncommitted changes ({shown}); commit them or force"
            )

    # Which ref moves.
    head_unborn = repo.head_is_unborn
    head_commit = None if head_unborn else repo.head.peel(pygit2.Commit)
    if branch is not None:
        refname = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
        if not pygit2.reference_is_valid_name(refname):
            raise SeriesError(branch, "not a valid branch name")
        existing = repo.references.get(refname)
        current = None if repo.head_is_detached else repo.references["HEAD"].target
        moved = head_commit is None or (existing is not None and existing.target != head_commit.id)
        if existing is not None and current != refname and moved:
            raise SeriesError(
                branch, "branch exists and does not point at HEAD; check it out first"
            )
    else:
        refname = "HEAD" if repo.head_is_detached else repo.references["HEAD"].target

    # 1. objects
    index = pygit2.Index()
    if head_commit is not None:
        index.read_tree(head_commit.tree)
    new_blobs: dict[str, tuple[pygit2.Oid, int] | None] = {}
    for path, data in sorted(changes.items()):
        if data is None:
            if path in index:
                index.remove(path)
            new_blobs[path] = None
            continue
        mode = _REG
        if path in index:
            mode = index[path].mode
            if mode not in (_REG, _EXEC):
                raise SeriesError(path, f"is not a regular file in HEAD (mode {mode:o})")
        oid = repo.create_blob(data)
        index.add(pygit2.IndexEntry(path, oid, mode))
        new_blobs[path] = (oid, mode)
    tree = index.write_tree(repo)
    parents = [] if head_commit is None else [head_commit.id]
    if head_commit is not None and tree == head_commit.tree.id:
        raise SeriesError("commit", "the changes leave the tree as it is; nothing to commit")
    commit = repo.create_commit(None, author, committer, message, tree, parents)

    # 2. the ref, only if nobody moved it meanwhile
    subject = message.splitlines()[0]
    reflog = f"commit{' (initial)' if not parents else ''}: {subject}"
    if refname == "HEAD":
        if repo.head.target != head_commit.id:  # type: ignore[union-attr]
            raise SeriesError("HEAD", "moved while committing; nothing was changed")
        repo.set_head(commit)
    else:
        old = repo.references.get(refname)
        expected = head_commit.id if (old is not None and head_commit is not None) else None
        if old is not None and old.target != expected:
            raise SeriesError(refname, "moved while committing; nothing was changed")
        repo.create_reference_direct(refname, commit, True, message=reflog)
        if branch is not None:
            repo.set_head(refname)

    # 3. work tree and index: stage every file under a temporary name first
    # so that a full disk fails before anything is replaced.
    staged: list[tuple[Path, Path | None]] = []
    try:
        for path, entry in new_blobs.items():
            target = workdir / path
            if entry is None:
                staged.append((target, None))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.xenpatch.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(changes[path])  # type: ignore[arg-type]
            os.chmod(tmp, 0o755 if entry[1] == _EXEC else 0o644)
            staged.append((target, Path(tmp)))
    except OSError:
        for _, tmp in staged:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        raise
    for target, tmp in staged:
        if tmp is None:
            target.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)
    repo_index = repo.index
    repo_index.read()
    for path, entry in new_blobs.items():
        if entry is None:
            if path in repo_index:
                repo_index.remove(path)
        else:
            # add() by path stats the file so the entry is not racily dirty
            repo_index.add(path)
    repo_index.write()
    return str(commit)


# --------------------------------------------------------------------------
# walking a range


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    time: int
    offset: int  # minutes east of UTC


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parent: str
    tree: str
    author: Person
    committer: Person
    message: bytes  # raw bytes as stored; checked to be UTF-8 by resolve_range
    parents: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return self.message.decode("utf-8")

    @property
    def subject(self) -> str:
        """The first paragraph joined by spaces, as git's %s."""
        lines: list[str] = []
        for line in self.text.lstrip("\n").split("\n"):
            if not line.strip():
                break
            lines.append(line.strip())
        return " ".join(lines)


def _person(sig: pygit2.Signature) -> Person:
    return Person(sig.name, sig.email, sig.time, sig.offset)


def _info(commit: pygit2.Commit) -> CommitInfo:
    parents = tuple(str(p) for p in commit.parent_ids)
    return CommitInfo(
        sha=str(commit.id),
        parent=parents[0] if parents else NULL_SHA,
        tree=str(commit.tree_id),
        author=_person(commit.author),
        committer=_person(commit.committer),
        message=commit.raw_message,
        parents=parents,
    )


def resolve(repo_dir: str | os.PathLike[str], rev: str) -> str:
    """Full sha of the commit ``rev`` names."""
    repo = open_repo(repo_dir)
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise SeriesError(rev, "unknown revision") from exc


def resolve_range(repo_dir: str | os.PathLike[str], spec: str) -> tuple[str, list[CommitInfo]]:
    """``BASE..HEAD`` (or ``BASE`` meaning ``BASE..HEAD``) → (base sha, commits
    oldest first).  Refuses an empty range, merges, root commits and messages
    that are not UTF-8 — format-patch would either drop merges silently or
    mangle the encoding, neither of which belongs on a mailing list."""
    repo = open_repo(repo_dir)
    if ".." in spec:
        if "..." in spec:
            raise SeriesError(spec, "symmetric ranges (A...B) are not a patch series; use A..B")
        base_rev, head_rev = spec.split("..", 1)
        base_rev, head_rev = base_rev or "HEAD", head_rev or "HEAD"
    else:
        base_rev, head_rev = spec, "HEAD"
    base = resolve(repo_dir, base_rev)
    head = resolve(repo_dir, head_rev)
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(pygit2.Oid(hex=base))
    commits = [repo[c.id] for c in walker]
    if not commits:
        raise SeriesError(spec, "empty range: no commits between base and head")
    commits.reverse()
    for c in commits:
        if len(c.parent_ids) > 1:
            raise SeriesError(
                spec, f"merge commit {str(c.id)[:12]} in range; a series must be linear"
            )
        if not c.parent_ids:
            raise SeriesError(
                spec, f"root commit {str(c.id)[:12]} in range has no base to diff against"
            )
    for older, newer in zip(commits, commits[1:], strict=False):
        if newer.parent_ids[0] != older.id:
            raise SeriesError(spec, f"commit {str(newer.id)[:12]} does not follow "
                              f"{str(older.id)[:12]}; the range is not one line of history")
    # When HEAD forked from an older point than BASE, git format-patch mails
    # the commits against their real parent; so do we (the caller may warn).
    base = str(commits[0].parent_ids[0])
    infos = [_info(c) for c in commits]
    for info in infos:
        try:
            info.message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SeriesError(
                f"commit {info.sha[:12]}", f"message is not UTF-8 (byte {exc.start})"
            ) from exc
        enc = repo[pygit2.Oid(hex=info.sha)].message_encoding
        if enc and enc.lower().replace("-", "") != "utf8":
            raise SeriesError(f"commit {info.sha[:12]}", f"message encoding is {enc}, not UTF-8")
    return base, infos


# --------------------------------------------------------------------------
# diffs


@dataclass(frozen=True)
class FileChange:
    """One file of a commit's diff, in the terms git's diff.c uses."""

    status: str  # "A" added, "D" deleted, "M" modified, "R" renamed
    old_path: bytes
    new_path: bytes
    old_mode: int  # 0 when added
    new_mode: int  # 0 when deleted
    old_id: str  # sha, NULL_SHA when added
    new_id: str
    similarity: int  # percent, renames only
    binary: bool
    added: int  # lines, or bytes of the new blob for binary files
    deleted: int
    body: bytes  # from the first hunk (or binary payload) to the end


_MAX_SCORE = 60000  # git's diffcore.h
_MIN_SCORE = 30000  # -M default: 50%
_HASHBASE = 107927
_M32 = 0xFFFFFFFF


def _span_counts(data: bytes) -> dict[int, int]:
    """git's diffcore-delta fingerprint of a blob: bytes per chunk hash.

    A chunk ends at a newline or after 64 bytes; a final chunk without either
    is not counted (as in git).  CR of CRLF is skipped in text blobs.
    """
    counts: dict[int, int] = {}
    is_text = b"\0" not in data[:8000]
    acc1 = acc2 = 0
    n = 0
    size = len(data)
    for i, c in enumerate(data):
        if is_text and c == 0x0D and i + 1 < size and data[i + 1] == 0x0A:
            continue
        old1 = acc1
        acc1 = (((acc1 << 7) & _M32) ^ (acc2 >> 25)) & _M32
        acc2 = (((acc2 << 7) & _M32) ^ (old1 >> 25)) & _M32
        acc1 = (acc1 + c) & _M32
        n += 1
        if n < 64 and c != 0x0A:
            continue
        h = ((acc1 + ((acc2 * 0x61) & _M32)) & _M32) % _HASHBASE
        counts[h] = counts.get(h, 0) + n
        n = 0
        acc1 = acc2 = 0
    return counts


def _rename_score(old: bytes, new: bytes) -> int:
    """git's estimate_similarity(): 0..60000, 0 when sizes alone rule it out.

    libgit2 scores renames with its own signatures, so its percentages drift
    from git's; the "similarity index" and "rename ... (N%)" lines must match
    git to the byte, so pairing and scoring follow diffcore-rename instead.
    """
    max_size, base_size = max(len(old), len(new)), min(len(old), len(new))
    if max_size * (_MAX_SCORE - _MIN_SCORE) < (max_size - base_size) * _MAX_SCORE:
        return 0
    if not new:
        return 0
    src, dst = _span_counts(old), _span_counts(new)
    copied = sum(min(cnt, dst.get(h, 0)) for h, cnt in src.items())
    return copied * _MAX_SCORE // max_size


def _basename_same(a: bytes, b: bytes) -> bool:
    return a.rsplit(b"/", 1)[-1] == b.rsplit(b"/", 1)[-1]


def _pair_renames(
    repo: pygit2.Repository, deleted: list[pygit2.DiffDelta], added: list[pygit2.DiffDelta]
) -> list[tuple[pygit2.DiffDelta, pygit2.DiffDelta, int]]:
    """(source, destination, score) pairs as git's diffcore-rename picks them:
    exact content matches first (same basename preferred), then files whose
    basename is unique on both sides at 75%, then the best-scoring rest."""
    pairs: list[tuple[pygit2.DiffDelta, pygit2.DiffDelta, int]] = []
    used_src: set[int] = set()
    used_dst: set[int] = set()
    # exact
    for di, d in enumerate(added):
        same = [
            si for si, s in enumerate(deleted)
            if si not in used_src and s.old_file.id == d.new_file.id
        ]
        if not same:
            continue
        best = next((si for si in same if _basename_same(deleted[si].old_file.raw_path,
                                                          d.new_file.raw_path)), same[0])
        pairs.append((deleted[best], d, _MAX_SCORE))
        used_src.add(best)
        used_dst.add(di)
    blobs: dict[str, bytes] = {}

    def data(oid: pygit2.Oid) -> bytes:
        key = str(oid)
        if key not in blobs:
            blobs[key] = repo[oid].data
        return blobs[key]

    def regular(mode: int) -> bool:
        return mode in (_REG, _EXEC)

    # basename matches (git >= 2.33)
    def base(p: bytes) -> bytes:
        return p.rsplit(b"/", 1)[-1]

    src_names: dict[bytes, list[int]] = {}
    for si, s in enumerate(deleted):
        if si not in used_src:
            src_names.setdefault(base(s.old_file.raw_path), []).append(si)
    dst_names: dict[bytes, list[int]] = {}
    for di, d in enumerate(added):
        if di not in used_dst:
            dst_names.setdefault(base(d.new_file.raw_path), []).append(di)
    min_basename = _MIN_SCORE + (_MAX_SCORE - _MIN_SCORE) // 2
    for name, sis in src_names.items():
        dis = dst_names.get(name, [])
        if len(sis) != 1 or len(dis) != 1:
            continue
        s, d = deleted[sis[0]], added[dis[0]]
        if not (regular(s.old_file.mode) and regular(d.new_file.mode)):
            continue
        score = _rename_score(data(s.old_file.id), data(d.new_file.id))
        if score >= min_basename:
            pairs.append((s, d, score))
            used_src.add(sis[0])
            used_dst.add(dis[0])
    # inexact: keep the best 4 candidates per destination, then greedily
    # take the highest scores (ties: same basename first), like git's matrix
    candidates: list[tuple[int, int, int, int]] = []  # (-score, -name, order, ...)
    order = 0
    for di, d in enumerate(added):
        if di in used_dst or not regular(d.new_file.mode):
            continue
        row = []
        for si, s in enumerate(deleted):
            if si in used_src or not regular(s.old_file.mode):
                continue
            score = _rename_score(data(s.old_file.id), data(d.new_file.id))
            row.append((score, int(_basename_same(s.old_file.raw_path, d.new_file.raw_path)), si))
        row.sort(key=lambda r: (-r[0], -r[1]))
        for score, name, si in row[:4]:
            candidates.append((score, name, order, di * 1_000_000 + si))
            order += 1
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    for score, _name, _order, key in candidates:
        di, si = divmod(key, 1_000_000)
        if score < _MIN_SCORE:
            break
        if di in used_dst or si in used_src:
            continue
        pairs.append((deleted[si], added[di], score))
        used_src.add(si)
        used_dst.add(di)
    return pairs


_HUNK_HEADER = re.compile(rb"^(@@ -\S+ \+\S+ @@ )(.*)$", re.M)


def _trim_funcname(m: re.Match[bytes]) -> bytes:
    # git cuts the function context at 80 bytes and then drops trailing
    # whitespace (xdiff's def_ff); libgit2 keeps a space the cut exposed
    return m.group(1) + m.group(2).rstrip(b" \t\v\f\r")


def _b85_lines(data: bytes) -> bytes:
    """git's binary patch lines: a length letter, then base85 of <= 52 bytes."""
    import base64

    out = []
    for i in range(0, len(data), 52):
        chunk = data[i : i + 52]
        n = len(chunk)
        letter = chr(ord("A") + n - 1) if n <= 26 else chr(ord("a") + n - 27)
        out.append(letter.encode() + base64.b85encode(chunk, pad=True) + b"\n")
    return b"".join(out)


def _binary_hunks(body: bytes) -> list[tuple[str, int, bytes]]:
    import base64

    hunks = []
    lines = body.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith((b"literal ", b"delta ")):
            kind, size = line.decode().split()
            data = b""
            i += 1
            while i < len(lines) and lines[i]:
                c = lines[i][0]
                n = c - ord("A") + 1 if c <= ord("Z") else c - ord("a") + 27
                data += base64.b85decode(lines[i][1:])[:n]
                i += 1
            hunks.append((kind, int(size), zlib.decompress(data)))
        i += 1
    return hunks


def _git_binary_body(body: bytes, old: bytes, new: bytes, level: int) -> bytes:
    """Re-deflate libgit2's binary patch as git does (zlib level 1 unless
    core.compression says otherwise, delta only when it deflates smaller).

    libgit2 computes the same deltas as git but deflates at zlib's default
    level, so every payload line differed; the bytes inside are the same.
    """
    hunks = _binary_hunks(body)
    if len(hunks) != 2:
        return body
    out = [b"GIT binary patch\n"]
    for (kind, size, raw), target in zip(hunks, (new, old), strict=True):
        literal = zlib.compress(target, level)
        if kind == "delta":
            delta = zlib.compress(raw, level)
            if len(delta) < len(literal):
                out.append(f"delta {size}\n".encode() + _b85_lines(delta) + b"\n")
                continue
        out.append(f"literal {len(target)}\n".encode() + _b85_lines(literal) + b"\n")
    return b"".join(out)


def _split_body(data: bytes) -> bytes:
    """libgit2's patch text from the first hunk (or binary payload) on; the
    header lines before it are rewritten by the mail layer git's way."""
    for marker in (b"\n@@ -", b"\nGIT binary patch\n", b"\nBinary files "):
        pos = data.find(marker)
        if pos >= 0:
            body = data[pos + 1 :]
            if marker == b"\n@@ -":
                body = _HUNK_HEADER.sub(_trim_funcname, body)
            return body
    return b""


def commit_changes(repo_dir: str | os.PathLike[str], sha: str) -> list[FileChange]:
    """The diff of commit ``sha`` against its first parent, one entry per file,
    in git's order (by path; a rename sits at its new path)."""
    repo = open_repo(repo_dir)
    commit = repo[pygit2.Oid(hex=sha)]
    parent = str(commit.parent_ids[0]) if commit.parent_ids else None
    return changes_between(repo_dir, parent, sha)


def changes_between(repo_dir: str | os.PathLike[str], old: str | None, new: str
                    ) -> list[FileChange]:
    """The diff between the trees of two commits (``old=None``: empty tree)."""
    repo = open_repo(repo_dir)
    sha = new
    new_tree = repo.revparse_single(new).peel(pygit2.Tree)
    flags = DiffOption.INDENT_HEURISTIC | DiffOption.SHOW_BINARY
    if old is not None:
        old_tree = repo.revparse_single(old).peel(pygit2.Tree)
        diff = repo.diff(old_tree, new_tree, flags=flags, context_lines=3, interhunk_lines=0)
    else:
        diff = new_tree.diff_to_tree(swap=True, flags=flags, context_lines=3)
    try:
        level = int(repo.config["core.compression"])  # -1: zlib's default
    except (KeyError, ValueError):
        level = 1  # git's zlib_compression_level starts at Z_BEST_SPEED
    patches = list(diff)
    # pygit2 makes a new DiffDelta object on every .delta access: keep one
    deltas = [p.delta for p in patches]
    deleted = [d for d in deltas if d.status_char() == "D"]
    added = [d for d in deltas if d.status_char() == "A"]
    renames = _pair_renames(repo, deleted, added)
    gone = {id(s) for s, _, _ in renames}
    renamed_to = {id(d): (s, score) for s, d, score in renames}
    rows: list[tuple[bytes, FileChange]] = []
    for patch, delta in zip(patches, deltas, strict=True):
        status = delta.status_char()
        if status not in "ADM":
            raise SeriesError(f"commit {sha[:12]}", f"unsupported change type {status!r}")
        if id(delta) in gone:
            continue
        old_f, new_f = delta.old_file, delta.new_file
        score = 0
        if id(delta) in renamed_to:
            src, score = renamed_to[id(delta)]
            old_f = src.old_file
            status = "R"
            if old_f.id == new_f.id:
                patch = None
            else:
                patch = repo[old_f.id].diff(repo[new_f.id], flags=flags,
                                            old_as_path=old_f.path, new_as_path=new_f.path,
                                            context_lines=3, interhunk_lines=0)
        body = _split_body(patch.data) if patch is not None else b""
        if patch is not None:
            binary = bool(patch.delta.is_binary)
        else:  # an exact rename has no patch; git still calls it "Bin" by content
            binary = b"\0" in repo[new_f.id].data[:8000]
        if binary and body.startswith(b"GIT binary patch\n"):
            old_data = repo[old_f.id].data if status != "A" else b""
            new_data = repo[new_f.id].data if status != "D" else b""
            body = _git_binary_body(body, old_data, new_data, level)
        if binary and old_f.id == new_f.id:
            added_n = deleted_n = 0  # git prints a bare "Bin" for an exact rename
        elif binary:
            added_n = new_f.size if status != "D" else 0
            deleted_n = old_f.size if status != "A" else 0
        elif patch is not None:
            _, added_n, deleted_n = patch.line_stats
        else:
            added_n = deleted_n = 0
        change = FileChange(
            status=status,
            old_path=old_f.raw_path,
            new_path=new_f.raw_path,
            old_mode=0 if status == "A" else int(old_f.mode),
            new_mode=0 if status == "D" else int(new_f.mode),
            old_id=NULL_SHA if status == "A" else str(old_f.id),
            new_id=NULL_SHA if status == "D" else str(new_f.id),
            similarity=score * 100 // _MAX_SCORE,
            binary=binary,
            added=added_n,
            deleted=deleted_n,
            body=body,
        )
        rows.append((new_f.raw_path if status != "D" else old_f.raw_path, change))
    # libgit2 already walks paths in order; the sort is stable and only
    # matters for a delete/add of one path (file replaced by a directory).
    rows.sort(key=lambda r: r[0])
    return [c for _, c in rows]


def _packed_object_count(git_dir: Path) -> int:
    """What git's approximate_object_count() sees: objects in pack indexes
    (of this repository and its alternates); loose objects do not count."""
    dirs = [git_dir / "objects"]
    alternates = git_dir / "objects" / "info" / "alternates"
    if alternates.exists():
        for line in alternates.read_text().splitlines():
            if line and not line.startswith("#"):
                p = Path(line)
                dirs.append(p if p.is_absolute() else (git_dir / "objects" / p).resolve())
    count = 0
    for objects in dirs:
        # A multi-pack-index covers packs whose .idx files stay beside it;
        # counting the .idx files gives git's number up to duplicates.
        packs = sorted((objects / "pack").glob("*.idx"))
        for idx in packs:
            with idx.open("rb") as fh:
                head = fh.read(8 + 256 * 4)
            if head[:4] == b"\xfftOc":
                count += struct.unpack(">I", head[8 + 255 * 4 : 8 + 256 * 4])[0]
            else:  # version 1: the fanout starts at offset 0
                count += struct.unpack(">I", head[255 * 4 : 256 * 4])[0]
    return count


def abbrev_length(repo_dir: str | os.PathLike[str]) -> int:
    """The length git's core.abbrev=auto starts from (before uniqueness)."""
    repo = open_repo(repo_dir)
    configured = _config_get(repo.config, "core.abbrev")
    if configured and configured.lower() not in ("auto",):
        if configured.lower() in ("no", "false", "off"):
            return 40
        try:
            return max(4, min(40, int(configured)))
        except ValueError:
            pass
    count = _packed_object_count(Path(repo.path))
    if count <= 0:
        return 7
    bits = count.bit_length()  # msb(count) + 1
    return max(7, (bits + 1) // 2)


def unique_abbrev(repo: pygit2.Repository, sha: str, length: int) -> str:
    """Shortest prefix of ``sha`` at least ``length`` long naming one object
    (git's find_unique_abbrev); the null id is just zeros of that length."""
    if sha == NULL_SHA or length >= 40:
        return sha[:length]
    for n in range(length, 40):
        try:
            repo.git_object_lookup_prefix(sha[:n])
            return sha[:n]
        except ValueError:  # ambiguous
            continue
        except KeyError:  # not in the odb: nothing to be ambiguous with
            return sha[:n]
    return sha


def abbreviator(repo_dir: str | os.PathLike[str]) -> Callable[[str], str]:
    """A function sha → abbreviated sha, as git's index lines abbreviate."""
    repo = open_repo(repo_dir)
    length = abbrev_length(repo_dir)

    def abbrev(sha: str) -> str:
        return unique_abbrev(repo, sha, length)

    return abbrev


def quote_path_setting(repo_dir: str | os.PathLike[str]) -> bool:
    """core.quotePath (default true): escape bytes >= 0x80 in paths."""
    repo = open_repo(repo_dir)
    try:
        return repo.config.get_bool("core.quotepath")
    except (KeyError, pygit2.GitError):
        return True


# --------------------------------------------------------------------------
# trees, blobs, refs


def tree_of(repo_dir: str | os.PathLike[str], rev: str) -> str:
    repo = open_repo(repo_dir)
    return str(repo.revparse_single(rev).peel(pygit2.Tree).id)


def read_blob(repo_dir: str | os.PathLike[str], rev: str, path: str) -> bytes | None:
    """Content of ``path`` in the tree of ``rev``, or None when absent."""
    repo = open_repo(repo_dir)
    tree = repo.revparse_single(rev).peel(pygit2.Tree)
    try:
        obj = tree[path]
    except KeyError:
        return None
    return obj.data if isinstance(obj, pygit2.Blob) else None


def tree_dirs(repo_dir: str | os.PathLike[str], rev: str) -> frozenset[str]:
    """Every directory path (no trailing slash) in the tree of ``rev``."""
    repo = open_repo(repo_dir)
    tree = repo.revparse_single(rev).peel(pygit2.Tree)
    dirs: set[str] = set()

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for entry in t:
            if entry.type_str == "tree":
                path = prefix + entry.name
                dirs.add(path)
                walk(repo[entry.id], path + "/")

    walk(tree, "")
    return frozenset(dirs)


def git_dir(repo_dir: str | os.PathLike[str]) -> Path:
    return Path(open_repo(repo_dir).path)


def set_ref(repo_dir: str | os.PathLike[str], name: str, sha: str, message: str) -> None:
    """Point ``name`` at ``sha`` (used to keep old series versions reachable)."""
    repo = open_repo(repo_dir)
    repo.create_reference_direct(name, pygit2.Oid(hex=sha), True, message=message)


def valid_ref_name(name: str) -> bool:
    return bool(pygit2.reference_is_valid_name(name))


def has_commit(repo_dir: str | os.PathLike[str], sha: str) -> bool:
    repo = open_repo(repo_dir)
    try:
        return isinstance(repo[pygit2.Oid(hex=sha)], pygit2.Commit)
    except (KeyError, ValueError):
        return False


def current_branch(repo_dir: str | os.PathLike[str]) -> str | None:
    repo = open_repo(repo_dir)
    if repo.head_is_detached or repo.head_is_unborn:
        return None
    return repo.head.shorthand


# --------------------------------------------------------------------------
# the git executable: only for what must be judged by git itself


def run_git(args: list[str], cwd: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
            check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise SeriesError("git", "executable not found in PATH")
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([git, *args], cwd=cwd, env=full_env, input=stdin, capture_output=True)
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise SeriesError(f"git {args[0]}", err[-1] if err else f"exit {proc.returncode}")
    return proc


def clone_detached(repo_dir: str | os.PathLike[str], dest: Path, rev: str) -> None:
    """A throw-away clone of ``repo_dir`` with ``rev`` checked out (detached)."""
    src = git_dir(repo_dir)
    # --shared borrows the objects instead of copying them: the clone lives
    # for one check and the source repository outlives it.
    run_git(["clone", "--quiet", "--shared", "--no-checkout", str(src), str(dest)], cwd=dest.parent)
    run_git(["checkout", "--quiet", "--detach", rev], cwd=dest)


def am(clone: Path, patch: Path, ident: Identity) -> subprocess.CompletedProcess[bytes]:
    """``git am`` one patch file in ``clone``; returns the process (not raised)."""
    env = {"GIT_COMMITTER_NAME": ident.name, "GIT_COMMITTER_EMAIL": ident.email}
    return run_git(["am", "--quiet", str(patch)], cwd=clone, env=env, check=False)


def dirty_paths(work_dir: str | os.PathLike[str]) -> list[str]:
    """Tracked paths with uncommitted changes, when ``work_dir`` is in a git work tree.

    Outside a repository nothing can be lost by a rewrite that git tracks, so
    the answer is empty.
    """
    found = pygit2.discover_repository(str(work_dir))
    if found is None:
        return []
    repo = pygit2.Repository(found)
    if repo.is_bare:
        return []
    return _is_dirty(repo)


def patch_ids(repo_dir: str | os.PathLike[str], shas: list[str]) -> dict[str, str]:
    """``git patch-id --stable`` of each commit: what stays when a commit's
    message, subject or base changes, so versions of a patch can be paired."""
    if not shas:
        return {}
    shown = run_git(["show", "--no-color", "--no-ext-diff", "--format=commit %H", "-p", *shas],
                    cwd=repo_dir).stdout
    out = run_git(["patch-id", "--stable"], cwd=repo_dir, stdin=shown).stdout.decode()
    found = {}
    for line in out.splitlines():
        pid, _, sha = line.partition(" ")
        found[sha] = pid
    return found


def diff_patch_id(repo_dir: str | os.PathLike[str], diff: str) -> str | None:
    """``git patch-id --stable`` of a diff's text (say one quoted in a reply)."""
    out = run_git(["patch-id", "--stable"], cwd=repo_dir, check=False,
                  stdin=diff.encode("utf-8", "surrogateescape")).stdout.decode()
    return out.split()[0] if out.strip() else None


def mailmap_names(repo_dir: str | os.PathLike[str], people: list[tuple[str, str]]) -> list[str]:
    """Each (name, email) as the repository's mailmap names it (git shortlog
    and the cover letter's shortlog use these names)."""
    if not people:
        return []
    args = [f"{name} <{email}>" for name, email in people]
    out = run_git(["check-mailmap", *args], cwd=repo_dir).stdout.decode("utf-8", "replace")
    names = []
    for line, (name, _) in zip(out.splitlines(), people, strict=False):
        mapped = line.rsplit(" <", 1)[0]
        names.append(mapped or name)
    return names + [n for n, _ in people[len(names):]]

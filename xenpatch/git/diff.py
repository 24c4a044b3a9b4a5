"""A commit's changes per file (:class:`FileChange`), with git's hunk and
binary payload text.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass

import pygit2
from pygit2.enums import DiffOption

from xenpatch.errors import GitError
from xenpatch.git.renames import MAX_SCORE, pair_renames
from xenpatch.git.repo import NULL_SHA, open_repo


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


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Blob:
    """The blob a diff side's file id names."""
    obj = repo[oid]
    assert isinstance(obj, pygit2.Blob)  # a file's id in a tree diff names a blob
    return obj


def commit_changes(repo_dir: str | os.PathLike[str], sha: str) -> list[FileChange]:
    """The diff of commit ``sha`` against its first parent, one entry per file,
    in git's order (by path; a rename sits at its new path)."""
    repo = open_repo(repo_dir)
    commit = repo[pygit2.Oid(hex=sha)]
    assert isinstance(commit, pygit2.Commit), f"{sha} is not a commit"
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
        # pygit2's stubs leave Tree out of diff()'s overloads; it takes trees
        diff = repo.diff(old_tree, new_tree,  # type: ignore[call-overload]
                         flags=flags, context_lines=3, interhunk_lines=0)
    else:
        diff = new_tree.diff_to_tree(swap=True, flags=flags, context_lines=3)
    try:
        raw = repo.config["core.compression"]  # None: a valueless flag
        if raw is None:  # as int(None) did: git itself dies on "missing value"
            raise TypeError("core.compression has no value")
        level = int(raw)  # -1: zlib's default
    except (KeyError, ValueError):
        level = 1  # git's zlib_compression_level starts at Z_BEST_SPEED
    patches = list(diff)
    # pygit2 makes a new DiffDelta object on every .delta access: keep one
    deltas = [p.delta for p in patches]
    deleted = [d for d in deltas if d.status_char() == "D"]
    added = [d for d in deltas if d.status_char() == "A"]
    renames = pair_renames(repo, deleted, added)
    gone = {id(s) for s, _, _ in renames}
    renamed_to = {id(d): (s, score) for s, d, score in renames}
    rows: list[tuple[bytes, FileChange]] = []
    for patch, delta in zip(patches, deltas, strict=True):
        status = delta.status_char()
        if status not in "ADM":
            raise GitError(f"commit {sha[:12]}", f"unsupported change type {status!r}")
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
                # pygit2's stubs name Blob.diff()'s "flags" "flag" and lack
                # context_lines and interhunk_lines; the C method takes them all
                patch = _blob(repo, old_f.id).diff(  # type: ignore[call-arg]
                    _blob(repo, new_f.id), flags=flags,
                    old_as_path=old_f.path, new_as_path=new_f.path,
                    context_lines=3, interhunk_lines=0)
        body = _split_body(patch.data) if patch is not None else b""
        if patch is not None:
            binary = bool(patch.delta.is_binary)
        else:  # an exact rename has no patch; git still calls it "Bin" by content
            binary = b"\0" in _blob(repo, new_f.id).data[:8000]
        if binary and body.startswith(b"GIT binary patch\n"):
            old_data = _blob(repo, old_f.id).data if status != "A" else b""
            new_data = _blob(repo, new_f.id).data if status != "D" else b""
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
            similarity=score * 100 // MAX_SCORE,
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

"""Revisions and ranges: :func:`resolve`, :func:`resolve_range`, :class:`CommitInfo`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pygit2

from xenpatch.errors import GitError
from xenpatch.git.repo import NULL_SHA, open_repo


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
    return _commit_in(open_repo(repo_dir), rev)


def resolve_commit_or_unborn(repo_dir: str | os.PathLike[str], rev: str) -> str | None:
    """resolve(), or None where ``rev`` is HEAD on a branch with no commit
    yet (a repository's first commit): nothing was there before."""
    repo = open_repo(repo_dir)
    if rev in ("HEAD", "@") and repo.head_is_unborn:
        return None
    return _commit_in(repo, rev)


def _commit_in(repo: pygit2.Repository, rev: str) -> str:
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise GitError(rev, "unknown revision") from exc


def resolve_range(repo_dir: str | os.PathLike[str], spec: str) -> tuple[str, list[CommitInfo]]:
    """``BASE..HEAD`` (or ``BASE`` meaning ``BASE..HEAD``) → (base sha, commits
    oldest first).  Refuses an empty range, merges, root commits and messages
    that are not UTF-8 — format-patch would either drop merges silently or
    mangle the encoding, neither of which belongs on a mailing list."""
    repo = open_repo(repo_dir)
    if ".." in spec:
        if "..." in spec:
            raise GitError(spec, "symmetric ranges (A...B) are not a patch series; use A..B")
        base_rev, head_rev = spec.split("..", 1)
        base_rev, head_rev = base_rev or "HEAD", head_rev or "HEAD"
    else:
        base_rev, head_rev = spec, "HEAD"
    base = resolve(repo_dir, base_rev)
    head = resolve(repo_dir, head_rev)
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(pygit2.Oid(hex=base))
    commits: list[pygit2.Commit] = []
    for c in walker:
        commit = repo[c.id]
        assert isinstance(commit, pygit2.Commit)  # the walker yields commits
        commits.append(commit)
    if not commits:
        raise GitError(spec, "empty range: no commits between base and head")
    commits.reverse()
    for c in commits:
        if len(c.parent_ids) > 1:
            raise GitError(
                spec, f"merge commit {str(c.id)[:12]} in range; a series must be linear"
            )
        if not c.parent_ids:
            raise GitError(
                spec, f"root commit {str(c.id)[:12]} in range has no base to diff against"
            )
    for older, newer in zip(commits, commits[1:], strict=False):
        if newer.parent_ids[0] != older.id:
            raise GitError(spec, f"commit {str(newer.id)[:12]} does not follow "
                              f"{str(older.id)[:12]}; the range is not one line of history")
    # When HEAD forked from an older point than BASE, git format-patch mails
    # the commits against their real parent; so do we (the caller may warn).
    base = str(commits[0].parent_ids[0])
    infos = [_info(c) for c in commits]
    for info in infos:
        try:
            info.message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GitError(
                f"commit {info.sha[:12]}", f"message is not UTF-8 (byte {exc.start})"
            ) from exc
        commit = repo[pygit2.Oid(hex=info.sha)]
        assert isinstance(commit, pygit2.Commit)  # info came from one of ``commits``
        enc = commit.message_encoding
        if enc and enc.lower().replace("-", "") != "utf8":
            raise GitError(f"commit {info.sha[:12]}", f"message encoding is {enc}, not UTF-8")
    return base, infos

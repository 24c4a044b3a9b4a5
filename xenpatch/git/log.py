"""Commit messages of a line of history, from its tip back (what a tree's
habits, say the order of its trailers, are learnt from)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pygit2

from xenpatch.git.repo import open_repo


def recent_messages(repo_dir: str | os.PathLike[str], rev: str, limit: int) -> Iterator[str]:
    """Up to ``limit`` messages of ``rev`` and its nearest ancestors;
    messages that are not UTF-8 are decoded with replacement characters."""
    repo = open_repo(repo_dir)
    try:
        start = repo.revparse_single(rev).peel(pygit2.Commit).id
    except (KeyError, ValueError, pygit2.GitError):
        return
    # unsorted: libgit2 then streams the walk instead of loading the whole history
    walker = repo.walk(start, pygit2.enums.SortMode.NONE)
    for n, commit in enumerate(walker):
        if n >= limit:
            return
        yield commit.raw_message.decode("utf-8", "replace")

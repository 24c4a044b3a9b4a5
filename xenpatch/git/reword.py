"""New messages for commits of a line of history (:func:`reword`), as
``git rebase`` with only ``reword`` steps would make them.

Trees, parents' order, authors and author dates stay; the committer is who
runs it, now (as rebase records it).  The commits are written first, then
the branch moves with a compare-and-swap on its old tip, so a failure or a
concurrent commit leaves the branch where it was.  Trees do not change, so
the index and the work tree are already right.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pygit2

from xenpatch.errors import GitError
from xenpatch.git.repo import open_repo, signature


def reword(repo_dir: str | os.PathLike[str], base: str, head: str,
           messages: Mapping[str, str]) -> dict[str, str]:
    """Give each commit of ``base..head`` named in ``messages`` (sha → new
    message) that message, rewriting its descendants up to ``head``, which
    must be the checked-out HEAD.  Returns old sha → new sha for every
    commit rewritten (nothing when no message differs)."""
    repo = open_repo(repo_dir)
    if repo.head_is_unborn or str(repo.head.peel(pygit2.Commit).id) != head:
        raise GitError(head[:12], "is not the checked-out HEAD; check the series out first")
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(pygit2.Oid(hex=base))
    commits = list(reversed([c for c in walker]))
    unknown = set(messages) - {str(c.id) for c in commits}
    if unknown:
        raise GitError(sorted(unknown)[0][:12], f"not a commit of {base[:12]}..{head[:12]}")
    committer = signature(repo_dir, "committer")
    mapping: dict[str, str] = {}
    for commit in commits:
        sha = str(commit.id)
        parents = [pygit2.Oid(hex=mapping.get(str(p), str(p))) for p in commit.parent_ids]
        message = messages.get(sha, commit.message)
        if message == commit.message and not any(str(p) in mapping for p in commit.parent_ids):
            continue  # untouched and below every change
        new = repo.create_commit(None, commit.author, committer, message, commit.tree_id,
                                 parents)
        mapping[sha] = str(new)
    if not mapping:
        return {}
    new_head = mapping[head]
    if repo.head_is_detached:
        if str(repo.head.target) != head:
            raise GitError("HEAD", "moved while rewording; nothing was changed")
        repo.set_head(pygit2.Oid(hex=new_head))
    else:
        ref = repo.lookup_reference(repo.head.name)
        if str(ref.target) != head:
            raise GitError(ref.name, "moved while rewording; nothing was changed")
        ref.set_target(pygit2.Oid(hex=new_head),
                       message=f"xenpatch trailers: {len(messages)} commit(s) reworded")
    return mapping

"""One commit from in-memory files (:func:`commit_files`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pygit2

from xenpatch import journal
from xenpatch.errors import GitError
from xenpatch.git import updates
from xenpatch.git.repo import EXEC_MODE, REG_MODE, is_dirty, open_repo, signature


def _oid(target: pygit2.Oid | str) -> pygit2.Oid:
    """A direct ref's target (pygit2 types it as either)."""
    return target if isinstance(target, pygit2.Oid) else pygit2.Oid(hex=target)


def git_dir_of(repo: pygit2.Repository) -> Path:
    return Path(repo.path)


def _check_path(path: str) -> None:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..", ".git") for p in parts)
        or "\0" in path
    ):
        raise GitError(path, "not a clean relative path inside the work tree")


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
    objects are written first (unreferenced objects are harmless); then the
    work-tree files go through the journal (:mod:`xenpatch.journal`), then
    the index, and the ref moves last, with a compare-and-swap on the old
    tip.  A failure before the ref moves restores work tree and index from
    the journal's backups; a crash is recovered by the next xenpatch
    command.  With ``force``, a path to commit that has uncommitted changes
    is still refused: its new content would replace the user's.  Returns
    the new commit's sha.
    """
    repo = open_repo(repo_dir)
    if repo.is_bare or repo.workdir is None:
        raise GitError(str(repo_dir), "bare repository has no work tree to commit from")
    if not message.strip():
        raise GitError("commit message", "empty")
    for path in changes:
        _check_path(path)
    workdir = Path(repo.workdir)
    author = signature(repo_dir, "author")
    committer = signature(repo_dir, "committer")

    dirty = is_dirty(repo)
    if dirty and not force:
        shown = ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise GitError(
            str(workdir), f"work tree has uncommitted changes ({shown}); commit them or force"
        )
    clash = sorted(set(dirty) & set(changes))
    if clash:
        shown = ", ".join(clash[:3]) + (", ..." if len(clash) > 3 else "")
        raise GitError(str(workdir), f"files to commit have uncommitted changes of yours "
                       f"({shown}); commit or stash them first")

    # Which ref moves.
    head_unborn = repo.head_is_unborn
    head_commit = None if head_unborn else repo.head.peel(pygit2.Commit)
    head_to = None
    if branch is not None:
        refname = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
        if not pygit2.reference_is_valid_name(refname):
            raise GitError(branch, "not a valid branch name")
        existing = repo.references.get(refname)
        current = None if repo.head_is_detached else repo.references["HEAD"].target
        moved = head_commit is None or (existing is not None and existing.target != head_commit.id)
        if existing is not None and current != refname and moved:
            raise GitError(
                branch, "branch exists and does not point at HEAD; check it out first"
            )
        old = None if existing is None else _oid(existing.target)
        head_to = refname if current != refname else None
    else:
        refname = "HEAD" if repo.head_is_detached else str(repo.references["HEAD"].target)
        old = None if head_commit is None else head_commit.id

    # 1. objects (unreferenced until the ref moves: harmless if we stop here)
    try:
        index = pygit2.Index()
        if head_commit is not None:
            index.read_tree(head_commit.tree)
        modes: dict[Path, int] = {}
        for path, data in sorted(changes.items()):
            if data is None:
                if path in index:
                    index.remove(path)
                continue
            mode = REG_MODE
            if path in index:
                mode = index[path].mode
                if mode not in (REG_MODE, EXEC_MODE):
                    raise GitError(path, f"is not a regular file in HEAD (mode {mode:o})")
            oid = repo.create_blob(data)
            index.add(pygit2.IndexEntry(path, oid, pygit2.enums.FileMode(mode)))
            modes[workdir / path] = 0o755 if mode == EXEC_MODE else 0o644
        tree = index.write_tree(repo)
        parents = [] if head_commit is None else [head_commit.id]
        if head_commit is not None and tree == head_commit.tree.id:
            raise GitError("commit", "the changes leave the tree as it is; nothing to commit")
        commit = repo.create_commit(None, author, committer, message, tree, parents)
    except (OSError, pygit2.GitError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise GitError(str(git_dir_of(repo)), f"cannot write objects: {reason}; "
                       "nothing was changed") from None
    subject = message.split("\n", 1)[0]
    reflog = f"commit{' (initial)' if not parents else ''}: {subject}"

    # 2. work tree, 3. index, 4. the ref: through the journal
    git_dir = Path(repo.path)
    record = git_dir / journal.RECORD_NAME
    jn = journal.Journal(record, "commit")
    jn.extra.update(updates.record_extra(repo, refname, old, commit, head_to))
    writes = {workdir / p: d for p, d in changes.items()}

    def stage() -> None:
        jn.stage(writes, modes, keep=[git_dir / "index"], make_dirs=True)

    def land() -> None:
        jn.extra["git"]["step"] = "index"
        jn.save("applying")
        repo_index = repo.index
        repo_index.read(True)
        for path, data in changes.items():
            if data is None:
                if path in repo_index:
                    repo_index.remove(path)
            else:
                # add() by path stats the file so the entry is not racily dirty
                repo_index.add(path)
        updates.write_index(repo_index)
        jn.extra["git"]["step"] = "ref"
        jn.save("applying")
        updates.move_ref(repo, refname, old, commit, reflog)
        jn.state = "landed"  # the commit stands from here on
        if head_to is not None:
            updates.point_head(repo, head_to)

    try:
        journal.run(jn, stage, land, lambda: updates.complete(jn.extra))
    except GitError:
        raise
    except journal.JournalError as exc:
        raise GitError(exc.what, exc.reason) from None
    except pygit2.GitError as exc:  # index or ref update refused; rolled back
        raise GitError(str(git_dir), f"{exc}; nothing was changed") from None
    return str(commit)

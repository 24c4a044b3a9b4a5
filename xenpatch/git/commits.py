"""One commit from in-memory files (:func:`commit_files`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pygit2

from xenpatch.errors import GitError
from xenpatch.git.repo import EXEC_MODE, REG_MODE, is_dirty, open_repo, signature


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
    objects are written first (unreferenced objects are harmless), then the
    branch ref is moved with a compare-and-swap on the old tip, then the new
    file contents are renamed into place and the index is written through
    its lock file.  Returns the new commit's sha.
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

    if not force:
        dirty = is_dirty(repo)
        if dirty:
            shown = ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else "")
            raise GitError(
                str(workdir), f"work tree has uncommitted changes ({shown}); commit them or force"
            )

    # Which ref moves.
    head_unborn = repo.head_is_unborn
    head_commit = None if head_unborn else repo.head.peel(pygit2.Commit)
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
        mode = REG_MODE
        if path in index:
            mode = index[path].mode
            if mode not in (REG_MODE, EXEC_MODE):
                raise GitError(path, f"is not a regular file in HEAD (mode {mode:o})")
        oid = repo.create_blob(data)
        index.add(pygit2.IndexEntry(path, oid, mode))
        new_blobs[path] = (oid, mode)
    tree = index.write_tree(repo)
    parents = [] if head_commit is None else [head_commit.id]
    if head_commit is not None and tree == head_commit.tree.id:
        raise GitError("commit", "the changes leave the tree as it is; nothing to commit")
    commit = repo.create_commit(None, author, committer, message, tree, parents)

    # 2. the ref, only if nobody moved it meanwhile
    subject = message.splitlines()[0]
    reflog = f"commit{' (initial)' if not parents else ''}: {subject}"
    if refname == "HEAD":
        if repo.head.target != head_commit.id:  # type: ignore[union-attr]
            raise GitError("HEAD", "moved while committing; nothing was changed")
        repo.set_head(commit)
    else:
        old = repo.references.get(refname)
        expected = head_commit.id if (old is not None and head_commit is not None) else None
        if old is not None and old.target != expected:
            raise GitError(refname, "moved while committing; nothing was changed")
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
            os.chmod(tmp, 0o755 if entry[1] == EXEC_MODE else 0o644)
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

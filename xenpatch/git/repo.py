"""Opening a repository; identity and config; refs, trees, blobs; dirty paths.

Anything that fails because of what the user gave raises
:class:`~xenpatch.errors.GitError`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pygit2
from pygit2.enums import FileStatus

from xenpatch.errors import GitError

NULL_SHA = "0" * 40
REG_MODE = 0o100644
EXEC_MODE = 0o100755


def open_repo(repo_dir: str | os.PathLike[str]) -> pygit2.Repository:
    """Open the repository holding ``repo_dir`` (a work tree or a git dir)."""
    path = pygit2.discover_repository(str(repo_dir))
    if path is None:
        raise GitError(str(repo_dir), "not inside a git repository")
    return pygit2.Repository(path)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def config_get(config: pygit2.Config, key: str) -> str | None:
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
    name = os.environ.get(f"GIT_{env}_NAME") or config_get(repo.config, f"{role}.name")
    name = name or config_get(repo.config, "user.name")
    email = os.environ.get(f"GIT_{env}_EMAIL") or config_get(repo.config, f"{role}.email")
    email = email or config_get(repo.config, "user.email")
    if not name or not email:
        missing = " and ".join(k for k, v in (("user.name", name), ("user.email", email)) if not v)
        raise GitError(
            "git identity",
            f"{missing} not set in the git config of {repo.workdir or repo.path} "
            f"(run: git config user.name 'Your Name'; git config user.email you@example.org)",
        )
    return Identity(name.strip(), email.strip())


def signoff(repo_dir: str | os.PathLike[str]) -> str:
    """``Name <email>`` for a ``Signed-off-by:`` trailer (the committer, as git -s does)."""
    return str(identity(repo_dir, "committer"))


def parse_date_env(value: str) -> tuple[int, int]:
    """git's internal date format ``[@]<epoch> <+hhmm>`` → (epoch, offset minutes)."""
    m = re.fullmatch(r"@?(\d+)\s+([+-])(\d\d)(\d\d)", value.strip())
    if not m:
        raise GitError("GIT_*_DATE", f"{value!r}: use the form '<epoch> <+hhmm>'")
    sign = -1 if m.group(2) == "-" else 1
    return int(m.group(1)), sign * (int(m.group(3)) * 60 + int(m.group(4)))


def signature(repo_dir: str | os.PathLike[str], role: str) -> pygit2.Signature:
    who = identity(repo_dir, role)
    date = os.environ.get(f"GIT_{role.upper()}_DATE")
    if date:
        when, offset = parse_date_env(date)
    else:
        when = int(time.time())
        offset = int(time.localtime(when).tm_gmtoff // 60)
    return pygit2.Signature(who.name, who.email, when, offset)


def is_dirty(repo: pygit2.Repository) -> list[str]:
    """Tracked paths that differ from HEAD in the index or the work tree."""
    dirty = []
    for path, flags in repo.status(untracked_files="no").items():
        if flags & ~(FileStatus.IGNORED | FileStatus.WT_NEW):
            dirty.append(path)
    return sorted(dirty)


def quote_path_setting(repo_dir: str | os.PathLike[str]) -> bool:
    """core.quotePath (default true): escape bytes >= 0x80 in paths."""
    repo = open_repo(repo_dir)
    try:
        return repo.config.get_bool("core.quotepath")
    except (KeyError, pygit2.GitError):
        return True


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


def renamed_from(repo_dir: str | os.PathLike[str], rev: str, path: str) -> str | None:
    """The path at ``rev`` of the file that the index has at ``path``, when
    git's rename detection (-M, 50 %) sees it renamed since (None: not)."""
    repo = open_repo(repo_dir)
    tree = repo.revparse_single(rev).peel(pygit2.Tree)
    diff = repo.index.diff_to_tree(tree)
    diff.find_similar()
    for d in diff.deltas:
        if d.status != pygit2.enums.DeltaStatus.RENAMED:
            continue
        if d.new_file.path == path:  # the tree is the old side, the index the new
            return str(d.old_file.path)
    return None


def tree_dirs(repo_dir: str | os.PathLike[str], rev: str) -> frozenset[str]:
    """Every directory path (no trailing slash) in the tree of ``rev``."""
    repo = open_repo(repo_dir)
    tree = repo.revparse_single(rev).peel(pygit2.Tree)
    dirs: set[str] = set()

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for entry in t:
            if entry.type_str == "tree":
                path = prefix + str(entry.name)
                dirs.add(path)
                walk(cast(pygit2.Tree, repo[entry.id]), path + "/")

    walk(tree, "")
    return frozenset(dirs)


def git_dir(repo_dir: str | os.PathLike[str]) -> Path:
    return Path(open_repo(repo_dir).path)


def common_dir(repo_dir: str | os.PathLike[str]) -> Path:
    """The git dir every work tree of the repository shares: the objects,
    the refs, and what xenpatch remembers across work trees.

    A linked work tree's own git dir (``.git/worktrees/NAME``) names it in
    its ``commondir`` file, as git's get_common_dir() reads it;
    ``GIT_COMMON_DIR`` wins, as in git."""
    own = git_dir(repo_dir)
    env = os.environ.get("GIT_COMMON_DIR")
    if env:
        return Path(env).resolve()
    try:
        pointer = (own / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return own
    if not pointer:
        return own
    path = Path(pointer)
    return (path if path.is_absolute() else own / path).resolve()


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
    return is_dirty(repo)


def work_tree_of(path: str | os.PathLike[str]) -> tuple[Path, str]:
    """(work tree root, ``path`` relative to it in posix form, '' at the root)
    of the repository that holds ``path``."""
    repo = open_repo(path)
    if repo.is_bare or repo.workdir is None:
        raise GitError(str(path), "bare repository has no work tree")
    root = Path(repo.workdir).resolve()
    rel = Path(path).resolve().relative_to(root).as_posix()
    return root, "" if rel == "." else rel


def differs_from_head(path: str | os.PathLike[str]) -> bool:
    """Whether anything under ``path`` (tracked or not) differs from HEAD."""
    root, prefix = work_tree_of(path)
    repo = open_repo(path)
    if repo.head_is_unborn:
        return True
    lead = prefix + "/" if prefix else ""
    return any(p.startswith(lead) and not flags & FileStatus.IGNORED
               for p, flags in repo.status(untracked_files="all").items())


def export_head(path: str | os.PathLike[str], dest: Path, suffixes: tuple[str, ...]) -> int:
    """Write HEAD's regular files under ``path`` whose names end in one of
    ``suffixes`` into ``dest`` (same relative layout); returns the count."""
    root, prefix = work_tree_of(path)
    repo = open_repo(path)
    tree = repo.head.peel(pygit2.Tree)
    if prefix:
        obj = tree[prefix]
        if not isinstance(obj, pygit2.Tree):
            raise GitError(str(path), "not a folder in HEAD")
        tree = obj
    count = 0

    def walk(t: pygit2.Tree, into: Path) -> None:
        nonlocal count
        for entry in t:
            name = str(entry.name)
            if entry.type_str == "tree":
                walk(cast(pygit2.Tree, repo[entry.id]), into / name)
            elif entry.filemode in (REG_MODE, EXEC_MODE) and name.endswith(suffixes):
                into.mkdir(parents=True, exist_ok=True)
                (into / name).write_bytes(cast(pygit2.Blob, repo[entry.id]).data)
                count += 1

    walk(tree, dest)
    return count


def oid(sha: str) -> pygit2.Oid:
    """The object id of a full hex sha."""
    return pygit2.Oid(hex=sha)

"""Every pygit2 call of xenpatch, and every ``git`` subprocess, lives here.

Keeping git behind one package (as b4 does) means the layers above only see
plain dataclasses (:class:`CommitInfo`, :class:`FileChange`) and bytes, and a
libgit2 quirk is fixed in one place.  Anything that fails because of what the
user gave us raises :class:`~xenpatch.errors.GitError`.

- :mod:`.repo` — open, identity, config, refs, trees and blobs, dirty paths
- :mod:`.commits` — :func:`commit_files`
- :mod:`.history` — :func:`resolve`, :func:`resolve_commit_or_unborn`, :func:`resolve_range`,
  :class:`CommitInfo`
- :mod:`.diff` — :func:`commit_changes` (:class:`FileChange`), binary hunks
- :mod:`.renames` — git's rename pairing and scores
- :mod:`.abbrev` — abbreviated object names
- :mod:`.executable` — the ``git`` program (clone, am)
- :mod:`.patchid` — ``git patch-id --stable`` of commits and of quoted diffs
- :mod:`.mailmap` — names as ``.mailmap`` maps them
- :mod:`.reword` — new messages for commits of a branch (trailers)
- :mod:`.log` — messages of a line of history (the tree's habits)
"""

from __future__ import annotations

from xenpatch.errors import GitError
from xenpatch.git.abbrev import abbrev_length, abbreviator, unique_abbrev
from xenpatch.git.commits import commit_files
from xenpatch.git.diff import FileChange, changes_between, commit_changes
from xenpatch.git.executable import am, clone_detached, run_git
from xenpatch.git.history import (
    CommitInfo,
    Person,
    resolve,
    resolve_commit_or_unborn,
    resolve_range,
)
from xenpatch.git.log import recent_messages
from xenpatch.git.mailmap import mailmap_names
from xenpatch.git.patchid import diff_patch_id, patch_ids
from xenpatch.git.repo import (
    NULL_SHA,
    Identity,
    common_dir,
    current_branch,
    differs_from_head,
    dirty_paths,
    export_head,
    git_dir,
    has_commit,
    identity,
    oid,
    open_repo,
    quote_path_setting,
    read_blob,
    set_ref,
    signoff,
    tree_dirs,
    tree_of,
    valid_ref_name,
    work_tree_of,
)
from xenpatch.git.reword import reword

__all__ = [
    "NULL_SHA", "CommitInfo", "FileChange", "GitError", "Identity", "Person",
    "abbrev_length", "abbreviator", "am", "changes_between", "clone_detached",
    "commit_changes", "commit_files", "common_dir", "current_branch", "diff_patch_id",
    "differs_from_head", "dirty_paths", "export_head", "git_dir", "has_commit", "identity",
    "mailmap_names", "oid", "open_repo", "patch_ids", "quote_path_setting", "read_blob",
    "recent_messages", "resolve", "resolve_commit_or_unborn", "resolve_range", "reword",
    "run_git", "set_ref", "signoff",
    "tree_dirs", "work_tree_of",
    "tree_of", "unique_abbrev", "valid_ref_name",
]

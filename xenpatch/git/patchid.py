"""``git patch-id --stable``: what pairs two versions of one patch.

A patch-id survives a reworded subject or message and a new base; the
series' version history and the trailer collector both key patches by it.
"""

from __future__ import annotations

import os

from xenpatch.git.executable import run_git


def patch_ids(repo_dir: str | os.PathLike[str], shas: list[str]) -> dict[str, str]:
    """sha → ``git patch-id --stable`` of that commit's diff (a commit that
    changes nothing has none)."""
    if not shas:
        return {}
    # the diff as the mails show it, whatever the user's diff settings
    shown = run_git(["-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "show",
                     "--no-color", "--no-ext-diff", "--no-textconv", "-M",
                     "--diff-algorithm=default", "--format=commit %H", "-p", *shas],
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

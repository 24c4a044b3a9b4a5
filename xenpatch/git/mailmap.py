"""People as the repository's mailmap names them (``git check-mailmap``):
git shortlog, and so the cover letter's shortlog, print these names."""

from __future__ import annotations

import os

from xenpatch.git.executable import run_git


def mailmap_names(repo_dir: str | os.PathLike[str], people: list[tuple[str, str]]) -> list[str]:
    """The mailmapped name of each (name, email), in the same order."""
    if not people:
        return []
    args = [f"{name} <{email}>" for name, email in people]
    out = run_git(["check-mailmap", *args], cwd=repo_dir).stdout.decode("utf-8", "replace")
    names = []
    for line, (name, _) in zip(out.splitlines(), people, strict=False):
        mapped = line.rsplit(" <", 1)[0]
        names.append(mapped or name)
    return names + [n for n, _ in people[len(names):]]

"""Where the linted files live: the root that reports name them from.

Code-scanning tools and GitLab resolve a report's paths against the
repository they scanned, whatever directory the lint ran in, so reports
name files relative to the top of the git work tree holding them (else to
the folder given on the command line), not to the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


def git_top(path: Path) -> Path | None:
    """The top of the git work tree holding ``path`` (a ``.git`` folder,
    or the ``.git`` file of a linked worktree or submodule), if any."""
    for p in [path, *path.parents]:
        if (p / ".git").exists():
            return p
    return None


def source_root(given: Iterable[Path]) -> Path:
    """The folder the report's paths are relative to: the git work tree of
    the paths given (one that holds them all), else the folder given (a
    file's own folder), else the folders' common ancestor."""
    folders = []
    for g in given:
        g = g.resolve()
        folders.append(g if g.is_dir() else g.parent)
    if not folders:
        return Path.cwd().resolve()
    tops = {git_top(f) for f in folders}
    if len(tops) == 1 and None not in tops:
        (top,) = tops
        assert top is not None
        return top
    return Path(os.path.commonpath(folders))


@dataclass(frozen=True)
class Locator:
    """Each displayed path's name relative to ``root`` (forward slashes),
    or None for a file outside it."""

    root: Path
    real: Mapping[str, Path]  # displayed path -> the file

    def relative(self, display: str) -> str | None:
        p = self.real.get(display)
        p = (p if p is not None else Path(display)).resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def name(self, display: str) -> str:
        """The repository-relative path, else the absolute one."""
        rel = self.relative(display)
        if rel is not None:
            return rel
        p = self.real.get(display)
        return (p if p is not None else Path(display)).resolve().as_posix()

    def root_uri(self) -> str:
        uri = self.root.as_uri()
        return uri if uri.endswith("/") else uri + "/"

    @staticmethod
    def of(files: Iterable[tuple[Path, str]], given: Iterable[Path]) -> Locator:
        return Locator(source_root(given), {d: p for p, d in files})

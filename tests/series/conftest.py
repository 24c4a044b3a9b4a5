"""Fixtures of the series tests: isolated git config, throw-away repositories,
and Debian's Xen 4.17 source for the get_maintainer.pl differential test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest
from _seriesutil import run_git

ROOT = Path(__file__).resolve().parents[2]


_GIT_ENV = {
    "GIT_AUTHOR_DATE": "1453470106 +0000",
    "GIT_COMMITTER_DATE": "1453470107 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "TZ": "UTC",
}


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No ~/.gitconfig or /etc/gitconfig leaks in, for git and libgit2 alike."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "GIT_DIR", "GIT_WORK_TREE", "EMAIL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in _GIT_ENV.items():
        monkeypatch.setenv(key, value)
    levels = (pygit2.enums.ConfigLevel.GLOBAL, pygit2.enums.ConfigLevel.XDG,
              pygit2.enums.ConfigLevel.SYSTEM)
    saved = {lvl: pygit2.settings.search_path[lvl] for lvl in levels}
    for lvl in levels:
        pygit2.settings.search_path[lvl] = str(home)
    yield home
    for lvl, value in saved.items():
        pygit2.settings.search_path[lvl] = value


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """make_repo(name, identity=True) → a fresh repository with one empty commit
    holding a README (so every series has a base)."""

    def make(name: str = "repo", identity: bool = True) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        run_git(repo, "init", "-q", "-b", "main")
        if identity:
            run_git(repo, "config", "user.name", "Ann Dev")
            run_git(repo, "config", "user.email", "ann@example.org")
        return repo

    return make

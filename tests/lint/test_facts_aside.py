"""The IRQ facts of a file's callers (upcallers.py) computed in a child
forked beside the lazy plan's later round (lazyrun._facts_aside()): the same
findings as computed in the process itself, whatever becomes of the child."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.lint import forked
from xenpatch.lint import lazyrun as lint_lazyrun
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "upcallers"


def _alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> dict[str, list]:
    return trees.each_alone(TREE, tmp_path / name, monkeypatch)


class _Dead(forked.Child):  # type: ignore[type-arg]
    """A child that gives nothing whole."""

    def result(self) -> None:
        super().result()
        return None


def test_the_facts_aside_are_the_facts_here(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    here = _alone(tmp_path, monkeypatch, "here")
    assert any(here.values())
    asides: list[object] = []
    real = lint_lazyrun._facts_aside

    def counted(*args: object) -> object:
        got = real(*args)  # type: ignore[arg-type]
        asides.append(got)
        return got

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(lint_lazyrun, "_facts_aside", counted)
    assert _alone(tmp_path, monkeypatch, "aside") == here
    # Not vacuous: some file's facts were computed in a child.
    assert any(a is not None for a in asides)
    monkeypatch.setattr(forked, "Child", _Dead)
    assert _alone(tmp_path, monkeypatch, "dead") == here

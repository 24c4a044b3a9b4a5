"""The callers' first passes of upcallers.py shared with a forked child
(upcallers._Side.first_all(), forked.shared_map()): the same IRQ facts, so
the same findings, as made one after the other in the process itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.lint import forked, upcallers
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "upcallers"


def _alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> dict[str, list]:
    return trees.each_alone(TREE, tmp_path / name, monkeypatch)


def test_shared_first_passes_give_the_facts_made_here(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    here = _alone(tmp_path, monkeypatch, "here")
    assert any(here.values())
    shared: list[int] = []
    real_map, real_all = forked.shared_map, upcallers._Side.first_all
    inside: list[bool] = []

    def counted_map(fn, n):  # type: ignore[no-untyped-def]
        if inside:
            shared.append(n)
        return real_map(fn, n)

    def counted_all(self, todo, first_pass):  # type: ignore[no-untyped-def]
        inside.append(True)
        try:
            return real_all(self, todo, first_pass)
        finally:
            inside.pop()

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(forked, "shared_map", counted_map)
    monkeypatch.setattr(upcallers._Side, "first_all", counted_all)
    # The facts computed in this process (not in _facts_aside's child), so
    # that the calls above are seen here.
    monkeypatch.setattr("xenpatch.lint.lazyrun._facts_aside", lambda *a: None)
    assert _alone(tmp_path, monkeypatch, "shared") == here
    # Not vacuous: some file's callers' first passes were shared.
    assert any(n >= 2 for n in shared), shared

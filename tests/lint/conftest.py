"""Fixtures shared by the lint's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty tree cache of the test's own (XENPATCH_CACHE): what one
    test fills, the next does not find."""
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))

"""Where the project's data lives: rules/, templates/ and fixtures/ beside the package."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    return _ROOT


def rules_dir() -> Path:
    return _ROOT / "rules"


def templates_dir() -> Path:
    return _ROOT / "templates"


def fixtures_dir() -> Path:
    return _ROOT / "fixtures"

"""Where the project's data lives.

rules/ and templates/ are top-level directories of the checkout; the package
reaches them through the links in xenpatch/_data/, which a wheel (and so a
pre-commit hook environment) carries as copies.  fixtures/ is the
checkout's only: tests and the README's main job use it.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_DATA = Path(__file__).parent / "_data"


def project_root() -> Path:
    return _ROOT


def rules_dir() -> Path:
    return _DATA / "rules"


def templates_dir() -> Path:
    return _DATA / "templates"


def fixtures_dir() -> Path:
    return _ROOT / "fixtures"

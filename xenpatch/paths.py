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


def tree_root(path: Path) -> Path:
    """The folder holding ``xen/``: ``path`` itself, or its parent when ``path``
    is that ``xen/`` folder (what a user standing in the hypervisor's own
    folder naturally gives).  Anything else is returned as it is, for the
    caller's own check to name."""
    if not (path / "xen").is_dir() and path.name == "xen" \
            and (path / "include" / "xen").is_dir() and (path / "common").is_dir():
        return path.parent
    return path


def tree_arg(text: str) -> Path:
    """argparse ``type=`` for a TREE argument (see :func:`tree_root`)."""
    return tree_root(Path(text))

"""Every finding of the lint on a release with a verdict doc is listed there
with its verdict, and nothing listed there is gone: a change of the lint's
behaviour on a real tree is a conscious one (the doc changes with it).

Xen 4.17 is Debian's source package (required in CI); Xen 4.20 is the
upstream release tag, read from a clone of Xen's history when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from xensource import git_tree_at

from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files
from xenpatch.paths import project_root

pytestmark = [pytest.mark.xen, pytest.mark.slow]

DOCS = project_root() / "docs" / "lint-findings"
# "- `path:line:col` XLnnn `function`: **verdict.**"
LISTED = re.compile(r"^- `([^`]+:\d+:\d+)` (XL\d{3}) `(\w+)`:\s+\*\*", re.M)


# An entry found by XL017 across files (a whole-tree run's merge; a file
# linted alone finds it through lint/lazywitness.py's search).
ACROSS = re.compile(r"^- `([^`]+:\d+:\d+)` (XL017) `(\w+)`:\s+\*\*(?:(?!^- `).)*?"
                    r"Found by XL017 across\s+files", re.M | re.S)


def across_files(doc: Path) -> set[tuple[str, ...]]:
    return {m.groups() for m in ACROSS.finditer(doc.read_text(encoding="utf-8"))}


def listed(doc: Path) -> list[tuple[str, ...]]:
    return sorted(m.groups() for m in LISTED.finditer(doc.read_text(encoding="utf-8")))


def found(xen: Path) -> list[tuple[str, str, str]]:
    """What `xenpatch lint xen` reports, paths relative to xen/."""
    results = lint_files(collect_files([xen]), jobs=2)
    assert [r.error for r in results if r.error] == []
    return sorted((f"{Path(f.path).resolve().relative_to(xen.resolve())}:{f.line}:{f.col}",
                   f.check, f.function) for r in results for f in r.findings)


def _xen_420(tmp_path: Path, _xen417: Callable[[], Path]) -> Path:
    return git_tree_at("RELEASE-4.20.4", tmp_path / "4.20")


def _xen_417(tmp_path: Path, xen417: Callable[[], Path]) -> Path:
    return xen417()


@pytest.mark.parametrize(("doc", "tree"), [("xen-4.17.md", _xen_417), ("xen-4.20.md", _xen_420)])
def test_findings_equal_the_verdict_doc(doc: str, tree, tmp_path: Path,
                                        request: pytest.FixtureRequest,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    root = tree(tmp_path, lambda: request.getfixturevalue("xen417"))
    want = listed(DOCS / doc)
    assert want, f"{doc} lists no finding: its format changed?"
    assert found(root / "xen") == want


def test_the_doc_format_is_read() -> None:
    """The pattern reads every finding line of each doc (a finding written
    another way would silently drop out of the comparison)."""
    for doc in sorted(DOCS.glob("xen-*.md")):
        text = doc.read_text(encoding="utf-8")
        section = text.split("## Findings", 1)[1].split("\n## ", 1)[0]
        bullets = [ln for ln in section.splitlines() if ln.startswith("- `")]
        assert len(bullets) == len(listed(doc)) > 0, doc.name

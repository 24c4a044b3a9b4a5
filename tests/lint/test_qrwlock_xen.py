"""XL016 on a real tree: in Debian's Xen 4.17 (a queued rwlock), a second
read of a plain rwlock planted right after each of the first few
``read_lock(&X);`` statements of common/ is reported there, each file
linted alone; the files as they are report no XL016."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

pytestmark = [pytest.mark.xen, pytest.mark.slow]

READ = re.compile(r"^([ \t]+)read_lock\((&[^;]+)\);$", re.M)


def test_a_planted_second_read_is_reported(xen417: Path) -> None:
    config = LintConfig.load()
    files = sorted((xen417 / "xen" / "common").glob("*.c"))
    planted = 0
    for path in files:
        text = path.read_text(errors="replace")
        sites = list(READ.finditer(text))[:2]
        if not sites:
            continue
        clean = lint_file(path, path.name, config)
        assert [f for f in clean.findings if f.check == "XL016"] == [], path
        for m in sites:
            second = f"{m[1]}read_lock({m[2]});\n{m[1]}read_unlock({m[2]});\n"
            at = text.index("\n", m.end()) + 1
            line = text.count("\n", 0, at) + 1
            got = lint_file(path, path.name, config, raw=(text[:at] + second + text[at:]).encode())
            hits = [f for f in got.findings if f.check == "XL016" and f.line == line]
            assert hits, (path.name, line, [(f.line, f.check) for f in got.findings])
            first = text.count("\n", 0, m.start()) + 1
            assert first in {s.line for s in hits[0].flow}
            planted += 1
        if planted >= 6:
            break
    assert planted >= 6

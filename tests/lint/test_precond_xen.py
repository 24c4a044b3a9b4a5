"""XL015 on a real tree: Debian's Xen 4.17 hap_enable(), with the bug
upstream fixed in 274075f331 planted back (the paging lock dropped before
the failure path's hap_set_allocation(), which asserts it held), linted as
the pre-commit hook lints one file; the tree as it is reports nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

pytestmark = [pytest.mark.xen, pytest.mark.slow]

# The fixed shape: undo, then unlock, inside the failure branch.
FIXED = re.compile(
    r"(?P<ind>[ \t]+)(?P<call>rv = hap_set_allocation\(d, 256, NULL\);)\n"
    r"(?P<if>[ \t]+if \( rv != 0 \)\n[ \t]+\{\n[ \t]+hap_set_allocation\(d, 0, NULL\);\n)"
    r"[ \t]+paging_unlock\(d\);\n"
    r"(?P<rest>[ \t]+goto out;\n[ \t]+\}\n)[ \t]+paging_unlock\(d\);\n")


def test_the_planted_unlock_before_the_undo_is_reported(xen417: Path) -> None:
    path = xen417 / "xen" / "arch" / "x86" / "mm" / "hap" / "hap.c"
    text = path.read_text()
    m = FIXED.search(text)
    assert m is not None, "hap_enable() no longer has the shape this test plants into"
    buggy = (text[: m.start()] + m["ind"] + m["call"] + "\n" + m["ind"] + "paging_unlock(d);\n"
             + m["if"] + m["rest"] + text[m.end():])
    config = LintConfig.load()
    clean = lint_file(path, "hap.c", config, raw=text.encode())
    assert [f for f in clean.findings if f.check == "XL015"] == []
    got = [f for f in lint_file(path, "hap.c", config, raw=buggy.encode()).findings
           if f.check == "XL015"]
    undo = buggy[: buggy.index("hap_set_allocation(d, 0, NULL);", m.start())].count("\n") + 1
    assert [(f.line, f.function) for f in got] == [(undo, "hap_enable")]
    [f] = got
    unlock = undo - 3
    assert f"released it at line {unlock}" in f.message
    assert {s.line for s in f.flow} >= {unlock, undo}

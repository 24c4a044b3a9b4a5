"""XL015's findings come from what the code says, each ingredient checked
by taking it away (fixtures/lint/precond.c states the findings)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "precond.c"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def _xl015(config: LintConfig, text: str) -> list[tuple[int, str]]:
    res = lint_file(FIXTURE, "precond.c", config, raw=text.encode())
    assert res.error is None
    return sorted((f.line, f.function) for f in res.findings if f.check == "XL015")


def test_without_the_assertions_nothing_is_required(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    assert _xl015(config, text)
    # Same line count: each assertion becomes an empty statement.
    bare = re.sub(r"(ASSERT|BUG_ON)\(.*\);", ";", text)
    assert bare.count("\n") == text.count("\n")
    assert _xl015(config, bare) == []


def test_the_reentry_table_decides_the_mm_lock_case(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    full = _xl015(config, text)
    assert any(fn == "paging_refresh" for _, fn in full)
    blind = _xl015(replace(config, nonreentrant=frozenset()), text)
    assert blind == [x for x in full if x[1] != "paging_refresh"]


def test_each_finding_names_the_release_or_the_later_take(config: LintConfig) -> None:
    res = lint_file(FIXTURE, "precond.c", config)
    found = [f for f in res.findings if f.check == "XL015"]
    assert found
    for f in found:
        m = re.search(r"(?:released it|takes it) at line (\d+)", f.message)
        assert m is not None, f.message
        assert int(m.group(1)) in {s.line for s in f.flow} or "takes it" in f.message

"""Each fixtures/lint/*.c file states its expected findings on their lines
as ``/* expect: ID[, ID] */``; the checker must report exactly those."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURES = sorted((fixtures_dir() / "lint").glob("*.c"))
_EXPECT = re.compile(r"expect:\s*([A-Z0-9, ]+?)\s*\*/")


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def expected(path: Path) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        for m in _EXPECT.finditer(line):
            out.extend((n, x.strip()) for x in m.group(1).split(",") if x.strip())
    return sorted(out)


def test_fixtures_exist() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture(path: Path, config: LintConfig) -> None:
    result = lint_file(path, path.name, config)
    assert result.error is None
    assert result.skipped == [], result.skipped
    got = sorted((f.line, f.check) for f in result.findings)
    assert got == expected(path)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_finding_has_a_path(path: Path, config: LintConfig) -> None:
    for f in lint_file(path, path.name, config).findings:
        assert f.flow, f
        assert f.flow[-1].line == f.line

"""Locks reached through a local holding an accessor's result (p2m =
p2m_get_hostp2m(d)) in the summaries of the locks a function takes
(templates.accessed_template()), and the kinds a held lock and a callee's
take of the same name must share (lint/checks.py).  The end-to-end case
is fixtures/lint/accessorlocal.c (test_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "accessorlocal.c"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def test_the_helpers_summary_names_the_accessors_result(config: LintConfig) -> None:
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.analysis.headers import header_index
    from xenpatch.lint.filelint import _parse

    src = _parse(str(FIXTURE), FIXTURE.read_bytes(), config, FIXTURE)
    fa = FileAnalysis(config, src, header_index(FIXTURE), None)
    fa.relevant()
    s = fa.summary_of("map_lookup")
    assert s is not None
    assert [(e.action, e.key) for e in s.effects] == [("take", "p2m_get_hostp2m(${0})->lock")]
    # Its parameter changed before the accessor: not the caller's.
    assert fa.summary_of("map_lookup_next") is None


CALLER = b"""
struct p2m_domain { spinlock_t lock; };
struct domain { struct p2m_domain p2m; };
int other_build(struct domain *d);
int user(struct domain *d)
{
    int rc;

    spin_lock(&d->p2m.lock);
    rc = other_build(d);
    spin_unlock(&d->p2m.lock);
    return rc;
}
"""


def _taking(kind: str, mode: str) -> dict[str, Summary]:
    e = Effect("take", kind, mode, "plain", "$0->p2m.lock", None, "other_build",
               inferred=True)
    return {"other_build": Summary((e,), None)}


def test_a_take_of_another_kind_is_another_builds(config: LintConfig, tmp_path: Path) -> None:
    path = tmp_path / "user.c"
    path.write_bytes(CALLER)
    same = lint_file(path, "user.c", config, _taking("spin", "write"))
    assert [f.check for f in same.findings] == ["XL010"]
    # An rwlock of that name is no spinlock: the summary is of another
    # build (each architecture's p2m lock), nothing this one holds.
    other = lint_file(path, "user.c", config, _taking("rw", "write"))
    assert other.findings == []

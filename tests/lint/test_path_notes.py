"""A finding's path as its ``note:`` steps: the events a reader follows
(the lock taken, each branch, case and #if side, the assignment a later
branch tests, where it ends), as gcc's and clang's analyzers show them, not
every statement on the way (fixtures/lint/notes/)."""

from __future__ import annotations

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "notes" / "path_notes.c"


def _line(text: str) -> int:
    return FIXTURE.read_text().splitlines().index(text) + 1


def test_the_path_shows_its_events_only() -> None:
    result = lint_file(FIXTURE, "path_notes.c", LintConfig.load())
    [f] = result.findings
    assert (f.check, f.line) == ("XL001", _line("        return -1;"))
    assert [(s.line, s.note) for s in f.flow] == [
        (_line("    spin_lock(&table_lock);"), "'table_lock' taken here"),
        (_line("    switch ( mode )"), "'mode' is 1"),
        (_line("#ifdef CONFIG_SLOT_DEBUG"), "'#if defined(CONFIG_SLOT_DEBUG)' is false"),
        (_line("    rc = peer->state;"), "rc = peer->state;"),
        (_line("    if ( rc )"), "'rc' is true"),
        (_line("        return -1;"), "returns here"),
    ]

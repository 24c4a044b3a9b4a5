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


def test_a_loop_macro_takes_an_element_or_ends() -> None:
    path = fixtures_dir() / "lint" / "notes" / "loop_macro.c"
    lines = path.read_text().splitlines()
    loop = [n for n, t in enumerate(lines, 1) if "list_for_each_entry" in t]
    result = lint_file(path, path.name, LintConfig.load())
    steps = {f.function: [(s.line, s.col, s.note) for s in f.flow if "list_for_each" in s.note]
             for f in result.findings}
    text = "'list_for_each_entry(s, &t->first, next)'"
    assert steps == {"find_slot": [(loop[0], 5, text + " takes an element")],
                     "count_slots": [(loop[1], 5, text + " ends")]}

"""Guarded releases of a collective lock (analysis/releaseloops.py,
ReleaseLoops.guarded()): in a loop that also takes the lock, a skipped
release keeps this round's element held (a leak if nothing drops it
later); in a loop of releases alone, which slots are held past it no
fact tells, and ``-v`` names that release; a plain lock's guarded
release stays a plain lock's.

fixtures/lint/mutants/releaseloops/guarded_arms.c: lock_idle() drops a
busy slot's lock as the second statement of the test's true arm,
lock_idle_counted() as the sixth node of it (the arm's length followed);
taking_loops.c's twins keep the slots with no loop to drop them;
unit_and_slots() leaks its unit's lock past a skipped release."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.findings import FileResult
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "mutants" / "releaseloops" / "guarded_arms.c"


def _line(path: Path, marker: str) -> int:
    [n] = [i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line]
    return n


@pytest.fixture(scope="module")
def result() -> FileResult:
    r = lint_file(FIXTURE, FIXTURE.name, LintConfig.load())
    assert r.error is None and r.skipped == []
    return r


def test_the_findings_are_the_fixtures_expectations(result: FileResult) -> None:
    assert sorted((f.line, f.check) for f in result.findings) == expected(FIXTURE)


@pytest.mark.parametrize("function", ["lock_idle", "lock_idle_counted"])
def test_a_skipped_release_in_the_taking_loop_keeps_the_slot_held(
        result: FileResult, function: str) -> None:
    # Past the skipped release of the loop that took the slots, this
    # round's slot is held (kept in the mask): the lock becomes unknown
    # only past the second loop's skipped release, which the note names.
    notes = [(line, why) for name, line, why in result.unknown if name == function]
    assert [line for line, _ in notes] == [_line(FIXTURE, f"{function}: mask")]
    assert "may or may not hold 'slots[*].lock'" in notes[0][1]
    assert not [f for f in result.findings if f.function == function]


def test_the_slots_a_taking_loop_keeps_leak_at_the_return() -> None:
    # The same loops without the mask's release loop (taking_loops.c): a
    # leak, not an unknown; with spin_lock() and with a trylock.
    path = FIXTURE.with_name("taking_loops.c")
    r = lint_file(path, path.name, LintConfig.load())
    assert sorted((f.line, f.check) for f in r.findings) == expected(path)
    assert sorted((f.function, f.key) for f in r.findings) == [
        ("lock_idle_leaking", "slots[*].lock"), ("trylock_idle_leaking", "slots[*].lock")]
    assert r.unknown == []


def test_a_plain_locks_guarded_release_is_not_a_collectives(result: FileResult) -> None:
    # The unit's lock, released only when u->state is set, leaks at the
    # return: the function's release loop of the slots does not make the
    # unit's lock unknown past its own skipped release.
    [f] = [f for f in result.findings if f.function == "unit_and_slots"]
    assert (f.check, f.key) == ("XL001", "u->lock")
    assert [name for name, _, why in result.unknown
            if name == "unit_and_slots" and "'u->lock'" in why] == []

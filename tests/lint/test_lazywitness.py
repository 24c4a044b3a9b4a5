"""XL017 across files in a single-file run (lint/lazywitness.py): the
file linted alone reports what a whole-tree run reports of it, naming the
same take of another file.

fixtures/lint/irqlazy/: drivers/events.c calls common/ring.c's functions
holding an irqsave lock; ring.c takes its file-scope lock plainly;
common/trace.c and drivers/console.c take it with IRQs known on (after an
_irq unlock), trace.c the bigger, the one a whole-tree run names.
events.c's plain take of log.c's lock with IRQs off is silent: log.c's
log_fast() takes it _irqsave, so whether the lock is IRQ-safe depends on
the tree (the whole-tree run reports trace.c's take with IRQs on)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from lint import trees
from lint.test_fixtures import expected
from xenpatch.lint import lazywitness
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqlazy"
EVENTS = "drivers/events.c"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    got = {p: sorted((f.line, f.check) for f in fs) for p, fs in trees.whole(TREE).items()}
    assert got == {p.relative_to(TREE).as_posix(): expected(p) for p in sorted(TREE.rglob("*.c"))}


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    whole = trees.whole(TREE)[EVENTS]
    alone = trees.alone(TREE, EVENTS)
    assert [(f.line, f.check) for f in whole] == [(20, "XL017"), (36, "XL017")]
    assert trees.shape(alone) == trees.shape(whole)
    # The biggest file taking the lock with IRQs on is the one named.
    assert "at common/trace.c:33 (in 'trace_point')" in alone[0].message


def test_the_other_files_alone_report_nothing_new() -> None:
    # trace.c's take against log.c's IRQ-safe lock is the whole-tree run's
    # (the symmetric case is not searched for).
    for rel in ("common/ring.c", "common/log.c", "drivers/console.c", "common/trace.c"):
        assert trees.alone(TREE, rel) == []


def test_a_search_stopping_at_its_bound_reports_nothing_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lazywitness, "BOUND", 0)
    [r] = lint_files([(TREE / EVENTS, EVENTS)], jobs=1)
    assert r.findings == []
    # Not a clean bill: each search that stopped is a gap in the run's
    # coverage (FileResult.undecided), not an effect nobody can state.
    notes = [u for u in r.undecided if "XL017 across files is not decided" in u[2]]
    assert notes and all("the 0 biggest files" in u[2] for u in notes)
    assert not [u for u in r.unknown if "XL017 across files" in u[2]]


def test_the_cli_exits_3_when_a_search_stopped_unless_partial(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    from xenpatch.cli import main

    monkeypatch.chdir(TREE)
    monkeypatch.setattr(lazywitness, "BOUND", 0)
    assert main(["lint", EVENTS]) == 3
    err = capsys.readouterr().err
    assert "check(s) left undecided at a search bound (exit 3" in err
    assert "-v lists them" in err
    assert main(["lint", "--partial", EVENTS]) == 0
    assert main(["lint", "-v", "--partial", EVENTS]) == 0
    # A note about the file as a whole is placed as gcc places one: no line.
    assert f"{EVENTS}: note: in '" in capsys.readouterr().err
    assert main(["lint", "--format", "json", "--partial", EVENTS]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stats"]["undecided"] == len(report["undecided"]) > 0
    assert all(u["path"] == EVENTS and "not decided" in u["reason"] for u in report["undecided"])
    # In SARIF, each is a tool notification of the run (a valid log).
    assert main(["lint", "--format", "sarif", "--partial", EVENTS]) == 0
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, json.loads(
        (Path(__file__).with_name("sarif-schema-2.1.0.json")).read_text()))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n for n in notes if n["level"] == "warning" and "not decided" in n["message"]["text"]]
    # The same file with the search bound given room: decided, reported.
    monkeypatch.setattr(lazywitness, "BOUND", 2)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "fresh"))
    assert main(["lint", EVENTS]) == 1


def test_a_search_that_found_its_witness_leaves_no_note() -> None:
    [r] = lint_files([(TREE / EVENTS, EVENTS)], jobs=1)
    assert not [u for u in r.unknown + r.undecided if "XL017 across files" in u[2]]


def test_without_a_take_with_irqs_on_nothing_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(TREE, root)
    for rel in ("common/trace.c", "drivers/console.c"):
        (root / rel).unlink()
    assert trees.whole(root)[EVENTS] == []
    assert trees.alone(root, EVENTS) == []


def test_the_witness_of_a_changed_tree_is_searched_again(tmp_path: Path) -> None:
    """A second run after the witnesses changed says what the whole-tree
    run says of the changed tree."""
    root = tmp_path / "tree"
    shutil.copytree(TREE, root)
    assert len(trees.alone(root, EVENTS)) == 2
    for rel in ("common/trace.c", "drivers/console.c"):
        p = root / rel
        p.write_text(p.read_text().replace("spin_unlock_irq(", "spin_unlock("))
    assert trees.alone(root, EVENTS) == trees.whole(root)[EVENTS] == []


def test_an_edit_of_the_file_reads_the_other_files_records_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first passes the search made of the other files are kept by
    their content (the tree cache's first-pass records): the file edited
    and linted again lints no other file, and reports the same."""
    root = trees.copied(TREE, tmp_path)
    before = trees.alone(root, EVENTS)
    assert len(before) == 2
    linted = trees.count_lints(monkeypatch)
    events = root / EVENTS
    events.write_text(events.read_text() + "\nint events_unused(void)\n{\n    return 0;\n}\n")
    assert trees.shape(trees.alone(root, EVENTS)) == trees.shape(before)
    assert linted and {name for name, _ in linted} == {EVENTS}
    # A witness changed is read again (its records are of its old content).
    trace = root / "common" / "trace.c"
    trace.write_text(trace.read_text() + "\n/* edited */\n")
    linted.clear()
    assert trees.shape(trees.alone(root, EVENTS)) == trees.shape(before)
    assert "common/trace.c" in {name for name, _ in linted}

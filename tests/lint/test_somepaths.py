"""A take on some paths of a callee's some paths (analysis/pathconds.py):
it composes when the two paths test unrelated things, not when they may
exclude each other; and the rounds of cross-file summaries after the
second pass (lint/rounds.py) that carry such a take back to the file it
came from, and further."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lint.test_fixtures import expected
from xenpatch.analysis import pathconds
from xenpatch.lint import rounds
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.findings import FileResult
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "somepaths.c"
ROUNDS = fixtures_dir() / "lint" / "rounds"
ROUNDS4 = fixtures_dir() / "lint" / "rounds4"


def _by_function(path: Path) -> dict[str, list[str]]:
    r = lint_file(path, path.name, LintConfig.load())
    assert r.error is None
    out: dict[str, list[str]] = {}
    for f in r.findings:
        out.setdefault(f.function, []).append(f.check)
    return out


def _tree(folder: Path, jobs: int = 1) -> list[FileResult]:
    return lint_files([(p, p.name) for p in sorted(folder.glob("*.c"))], jobs=jobs)


def test_independent_conditions_compose() -> None:
    # item_put() releases on the last reference after a clean flush;
    # item_release() locks the store for an unpinned shelf: unrelated.
    got = _by_function(FIXTURE)
    assert got.get("store_evict") == ["XL010"]
    assert "store_evict_fixed" not in got


def test_exclusive_conditions_do_not_compose() -> None:
    # The caller calls for a shelf that is not persistent, the callee
    # locks for one that is: on another expression (keep_scan) or the
    # same one tested both ways (keep_drop).  The same test the same way
    # (keep_flush) is a path.
    got = _by_function(FIXTURE)
    assert "keep_scan" not in got
    assert "keep_drop" not in got
    assert got.get("keep_flush") == ["XL010"]


@pytest.mark.parametrize("rule, want", [
    # The rule this replaces: every some-of-some take dropped.
    (lambda a, b: True, set()),
    # No rule: every some-of-some take kept.
    (lambda a, b: False, {"store_evict", "keep_scan", "keep_drop", "keep_flush"}),
])
def test_the_fixture_tells_the_rules_apart(monkeypatch: pytest.MonkeyPatch, rule,
                                           want: set[str]) -> None:
    monkeypatch.setattr(pathconds, "may_exclude", rule)
    assert set(_by_function(FIXTURE)) == want


_TEXT = st.sampled_from(["p", "q", "p->a", "q->a", "f(p)", "f(q)", "g(p)", "p->b", "?->a"])
_POL = st.sampled_from([True, False, None])
_CONDS = st.lists(st.tuples(_TEXT, _POL), max_size=4)


@given(_CONDS, _CONDS)
def test_exclusion_is_symmetric_and_needs_a_shared_head(a, b) -> None:
    got = pathconds.may_exclude(a, b)
    assert got == pathconds.may_exclude(b, a)
    heads = {pathconds.head(t) for t, _ in a} & {pathconds.head(t) for t, _ in b}
    if not heads:
        assert not got
    # The same known tests on both sides, one per head: they agree.
    one = list({pathconds.head(t): (t, p) for t, p in a if p is not None and "?" not in t}
               .values())
    assert not pathconds.may_exclude(one, one)
    # And the other outcome of any of them excludes.
    if one:
        t, p = one[0]
        assert pathconds.may_exclude(one, [(t, not p)])


def test_heads() -> None:
    assert pathconds.head("is_persistent(pgp->us.obj->pool)") == "is_persistent()"
    assert pathconds.head("pool->persistent") == ".persistent"
    assert pathconds.head("s.flags.u.migrating") == ".migrating"
    assert pathconds.head("flag") == "flag"


def test_conditions_bind_to_the_call() -> None:
    text = pathconds.encode([("is_persistent(${0}->pool)", True), ("${1}", False)])
    got = pathconds.decode(pathconds.bind(text, ["e", "x"]))
    assert sorted(got) == sorted([("is_persistent(e->pool)", True), ("x", False)])
    # A parameter the call does not pass is nobody's.
    assert ("?", False) in pathconds.decode(pathconds.bind(text, ["e"]))


@pytest.mark.parametrize("jobs", [1, 2])
def test_third_round_reaches_back(jobs: int) -> None:
    # frames.c holds pool_lock and calls refs.c's frame_drop(), which frees
    # through frames.c's frame_free(): a second round's summary.
    got = {r.path: sorted((f.line, f.check) for f in r.findings) for r in _tree(ROUNDS, jobs)}
    assert got == {p.name: expected(p) for p in sorted(ROUNDS.glob("*.c"))}


def test_without_the_third_round_it_is_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rounds, "later_rounds", lambda work, first, results, *a, **k: results)
    assert all(not r.findings for r in _tree(ROUNDS))


def test_a_fourth_round_reaches_further() -> None:
    # cache_shrink() meets frame_drop()'s second-round take, pool_retire()
    # cache_evict()'s, which a fourth round gives: both reported, and the
    # rounds ran until no summary changed (nothing said).
    res = _tree(ROUNDS4)
    got = {r.path: sorted((f.line, f.check) for f in r.findings) for r in res}
    assert got == {p.name: expected(p) for p in sorted(ROUNDS4.glob("*.c"))}
    assert _notes(res) == []


def test_the_bound_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same with the rounds stopped at the third: pool_retire() is not
    # reported, and -v says which summary changed past its callers.
    monkeypatch.setattr(rounds, "ROUNDS", 3)
    res = _tree(ROUNDS4)
    got = {r.path: sorted((f.line, f.check) for f in r.findings) for r in res}
    want = {p.name: expected(p) for p in sorted(ROUNDS4.glob("*.c"))}
    assert want["frames.c"]
    assert got == {**want, "frames.c": []}
    notes = [(r.path, n, why) for r in res for n, _, why in r.unknown]
    assert [(p, n) for p, n, _ in notes] == [("cache.c", "cache_evict")]
    assert rounds.bound_kind(notes[0][2]) == "bound"
    assert notes[0][2].endswith("(the rounds stop at 3)")


def _notes(res: list[FileResult]) -> list[tuple[str, str]]:
    return [(r.path, n) for r in res for n, _, _ in r.unknown]


def _copied(tmp_path: Path, *files: Path) -> Path:
    for p in files:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return tmp_path


def test_a_change_past_the_rounds_no_holder_names_is_no_gap(tmp_path: Path) -> None:
    # As rounds4/, but cache_evict()'s only caller holding a lock holds
    # sweep_lock and never names pool_lock, the lock the third round adds a
    # take of: a fourth round could not change its lint (none lints it
    # again), and nothing says the run missed anything.
    quiet = fixtures_dir() / "lint" / "rounds4quiet"
    folder = _copied(tmp_path, ROUNDS4 / "cache.c", ROUNDS4 / "refs.c", *quiet.glob("*.c"))
    res = _tree(folder)
    got = {r.path: sorted((f.line, f.check) for f in r.findings) for r in res}
    assert got == {p.name: expected(p) for p in sorted(folder.glob("*.c"))}
    assert _notes(res) == []


def _reach_tree(tmp_path: Path, count_calls: str) -> list[FileResult]:
    # rounds/ with stats.c, and pool_retire() counting the frame there
    # holding pool_lock.
    tmp_path.mkdir(parents=True, exist_ok=True)
    folder = _copied(tmp_path, ROUNDS / "refs.c", ROUNDS / "frames.c",
                     fixtures_dir() / "lint" / "roundsreach" / "stats.c")
    frames = folder / "frames.c"
    frames.write_text(frames.read_text().replace(
        "void frame_drop(struct frame *fr);\n",
        "void frame_drop(struct frame *fr);\nvoid stats_count(struct frame *fr);\n").replace(
        "    pool_free--;\n    frame_drop(fr); /* expect",
        "    pool_free--;\n    stats_count(fr);\n    frame_drop(fr); /* expect"))
    stats = folder / "stats.c"
    stats.write_text(stats.read_text().replace("    stats_bump();\n", count_calls))
    return _tree(folder)


def test_a_change_the_held_call_does_not_reach_is_no_gap(tmp_path: Path) -> None:
    # stats.c calls frame_drop(), whose summary the second round changes,
    # but not from stats_count(), the function called holding pool_lock:
    # its summary would be the same in a fourth round.
    res = _reach_tree(tmp_path, "    stats_bump();\n")
    assert [(r.path, f.line, f.check) for r in res for f in r.findings] == \
        [("frames.c", expected(tmp_path / "frames.c")[0][0], "XL010")]
    assert _notes(res) == []


def test_a_change_the_held_call_reaches_is_said(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The same with stats_count() flushing too: the call in frames.c made
    # holding pool_lock reaches the take a fourth round carries back (stats.c's
    # summaries computed again, frames.c linted with them); with the
    # rounds stopped at the third, -v says where.
    res = _reach_tree(tmp_path / "all", "    stats_bump();\n    stats_flush(fr);\n")
    frames = tmp_path / "all" / "frames.c"
    count = next(n for n, line in enumerate(frames.read_text().splitlines(), 1)
                 if "stats_count(fr);" in line)
    assert sorted((r.path, f.line, f.check) for r in res for f in r.findings) == sorted(
        [("frames.c", expected(frames)[0][0], "XL010"), ("frames.c", count, "XL010")])
    assert _notes(res) == []
    monkeypatch.setattr(rounds, "ROUNDS", 3)
    res = _reach_tree(tmp_path / "three", "    stats_bump();\n    stats_flush(fr);\n")
    assert _notes(res) == [("stats.c", "frame_drop")]

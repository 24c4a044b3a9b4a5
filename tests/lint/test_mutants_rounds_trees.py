"""Whole-tree runs over small trees (fixtures/lint/mutants/rounds/) that
tell apart what the rounds of cross-file summaries after the second pass
(lint/rounds.py) decide: which files they lint again, which summaries they
compute again for files the second pass left alone, and, where the rounds
stop (rounds.ROUNDS), where -v says so (the ``unknown`` rows _CALLS and
_BOUND)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import small_tree
from xenpatch.lint import rounds
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

CASES = fixtures_dir() / "lint" / "mutants" / "rounds"
CALLS, BOUND = "calls", "bound"


# Cases that are another case's tree with files of their own added or
# put in place of its (the rest is the other case's, not copied), and
# single files a case takes from another.
BASES = {"mixed": "holders", "archquiet": "archown"}
BORROWED = {"clash": {"mm.c": "holders"}, "static": {"mm.c": "holders"}}


def _files(case: str) -> dict[str, Path]:
    """The case's files, path under xen/ -> the fixture file."""
    src = CASES / case
    files = _files(BASES[case]) if case in BASES else {}
    files.update((rel, CASES / other / rel) for rel, other in BORROWED.get(case, {}).items())
    files.update((p.relative_to(src).as_posix(), p) for p in src.rglob("*.c"))
    return files


def _run(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The case's tree linted whole: path under xen/ -> (its findings as
    (check, function, line), its unknown rows as (function, kind))."""
    files = _files(case)
    rels = sorted(files)
    xen = small_tree(tmp_path / "xen", files)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    out: dict[str, object] = {}
    for r in lint_files([(xen / rel, rel) for rel in rels], jobs=1):
        assert r.error is None, r.path
        rows = []
        for n, line, why in r.unknown:
            rows.append((n, line, rounds.bound_kind(why) or why))
        out[r.path] = (sorted((f.check, f.function, f.line) for f in r.findings), rows)
    return out


def _xl010(case: str, rel: str, *functions: str) -> list[tuple[str, str, int]]:
    lines = [ln for ln, c in expected(_files(case)[rel]) if c == "XL010"]
    assert len(lines) == len(functions)
    return sorted(("XL010", f, ln) for f, ln in zip(functions, lines, strict=True))


def test_a_holder_that_never_names_the_lock_is_no_gap(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # domain.c holds its page list lock over p2m.c's p2m_free_entry(), which
    # drops a reference through put_page(), whose second-round summary takes
    # heap_lock: a fourth round would carry that to p2m_free_entry(), but
    # domain.c never names heap_lock, so nothing it finds could change.
    got = _run("holders", tmp_path, monkeypatch)
    assert got == {
        "domain.c": ([], []),
        "mm.c": ([], []),
        "p2m.c": ([], []),
        "page_alloc.c": (_xl010("holders", "page_alloc.c", "scrub_free_pages"), []),
    }


def test_one_holder_naming_the_lock_is_enough(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # As holders/, and pod.c also calls p2m_free_entry() holding heap_lock
    # itself: a deadlock four summaries deep (p2m.c, mm.c, page_alloc.c),
    # which one holder of the two names.  The third round gives put_page()
    # its take; p2m.c's p2m_free_entry() gets it in the fourth (its file
    # summarised again, not linted: nothing there holds a lock), and pod.c
    # is linted with it in the fifth.
    got = _run("mixed", tmp_path, monkeypatch)
    assert got == {
        "domain.c": ([], []),
        "mm.c": ([], []),
        "p2m.c": ([], []),
        "page_alloc.c": (_xl010("mixed", "page_alloc.c", "scrub_free_pages"), []),
        "pod.c": (_xl010("mixed", "pod.c", "pod_reclaim_page"), []),
    }


def test_rounds_that_stop_short_say_where(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # mixed/ with the rounds stopped at the third: pod.c's deadlock is past
    # them, and -v says so on p2m.c, whose summary was not computed again
    # with put_page()'s (no finding, and no silence either).
    monkeypatch.setattr(rounds, "ROUNDS", 3)
    got = _run("mixed", tmp_path, monkeypatch)
    assert got == {
        "domain.c": ([], []),
        "mm.c": ([], []),
        "p2m.c": ([], [("put_page", 0, CALLS)]),
        "page_alloc.c": (_xl010("mixed", "page_alloc.c", "scrub_free_pages"), []),
        "pod.c": ([], []),
    }


def test_a_static_helper_named_as_a_held_call_elsewhere_is_not_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # page_alloc.c calls its static check_page() holding heap_lock;
    # grant_table.c's own static check_page() drops a reference, and
    # nothing calls it holding a lock: no gap in grant_table.c.
    got = _run("static", tmp_path, monkeypatch)
    assert got == {
        "grant_table.c": ([], []),
        "mm.c": ([], []),
        "page_alloc.c": (_xl010("static", "page_alloc.c", "scrub_free_pages"), []),
    }


def test_a_change_past_the_rounds_of_a_name_the_tree_left_out_is_no_gap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # reclaim_page() of page_alloc.c takes heap_lock in the third round
    # (through put_page()), but pod.c defines another reclaim_page(): no
    # caller in another file was given a summary of it, so none was linted
    # with a stale one.  page_alloc.c's own call of it composes there.
    got = _run("clash", tmp_path, monkeypatch)
    assert got == {
        "mm.c": ([], []),
        "page_alloc.c": (_xl010("clash", "page_alloc.c",
                                "scrub_free_pages", "heap_reclaim"), []),
        "pod.c": ([], []),
    }


def test_a_file_calling_its_own_function_holding_asks_no_other_definer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # x86's mm.c calls its own put_page() holding heap_lock; Arm's
    # put_page() frees through page_alloc.c.  Nothing else calls put_page()
    # holding a lock: x86's pod.c, whose pod_drop_page() p2m.c calls
    # holding heap_lock, calls x86's put_page(), which no round changes.
    got = _run("archown", tmp_path, monkeypatch)
    assert got == {rel: ([], []) for rel in got}
    assert "arch/x86/pod.c" in got


def test_a_taker_no_holder_names_gives_no_second_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # x86's shadow.c calls put_page() holding shadow_lock, and never names
    # heap_lock, the lock Arm's put_page() would take in a second round:
    # no second round of it, and nothing said of x86's pod.c.
    got = _run("archquiet", tmp_path, monkeypatch)
    assert got == {rel: ([], []) for rel in got}
    assert "arch/x86/pod.c" in got


def test_a_file_not_naming_an_added_take_is_not_linted_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # put_page_and_unlock() releases the page's lock in the first round and
    # takes heap_lock too in the second.  grant_table.c calls it holding the
    # page's lock and never names heap_lock: no later round lints it again
    # for its findings, but page_alloc.c calls its grant_unmap_page()
    # holding heap_lock, so its summaries are computed again, and
    # page_alloc.c, linted with that one, deadlocks.
    got = _run("release", tmp_path, monkeypatch)
    assert got == {
        "grant_table.c": ([], []),
        "mm.c": ([], []),
        "page_alloc.c": (_xl010("release", "page_alloc.c", "scrub_grant_page"), []),
    }
    # Stopped at the third round, -v says grant_table.c's call meets a
    # changed summary past them.
    monkeypatch.setattr(rounds, "ROUNDS", 3)
    got = _run("release", tmp_path / "three", monkeypatch)
    assert got == {
        "grant_table.c": ([], [("put_page_and_unlock", 0, CALLS)]),
        "mm.c": ([], []),
        "page_alloc.c": ([], []),
    }


def test_only_takers_are_asked_for_a_second_round(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # grant_table.c calls Arm's p2m_put_entry() holding the page's lock;
    # it calls a page_unlock() only x86's build defines, a release.  The
    # second round is asked for helpers that only take locks: none here,
    # so x86's release is not put in Arm's summary, and grant_table.c's
    # own unlock is no second one.
    got = _run("otherbuild", tmp_path, monkeypatch)
    assert got == {rel: ([], []) for rel in got}
    assert "common/grant_table.c" in got


def test_a_second_round_summary_of_one_architecture_is_no_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Arm's put_page() reaches heap_lock through common code's
    # free_domheap_pages() (a second-round summary); x86's takes no lock.
    # x86's pod.c calls put_page() holding heap_lock: Arm's summary is no
    # x86 caller's (it was: a false XL010 from the third round).
    # Nor is pod.c past the rounds for it, though p2m.c (naming heap_lock)
    # calls pod_drop_page() holding a lock.
    got = _run("archsecond", tmp_path, monkeypatch)
    assert got == {
        "arch/arm/mm.c": ([], []),
        "arch/x86/mm.c": ([], []),
        "arch/x86/p2m.c": ([], []),
        "arch/x86/pod.c": ([], []),
        "common/page_alloc.c": ([], []),
    }


def test_the_second_round_of_a_file_not_linted_again_is_of_its_own_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Arm's p2m_put_entry() calls flush_page(), which only x86 defines (it
    # takes flush_lock there): computed again for its second-round summary,
    # Arm's file must not be given x86's (it was: common code holding
    # flush_lock over p2m_put_entry() got a false XL010).
    got = _run("archview", tmp_path, monkeypatch)
    assert got["common/grant_table.c"] == ([], [])

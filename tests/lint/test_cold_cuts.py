"""The cold single-file run's last cuts (branch `cold4`, issue 10): the
collector's objects frozen while forked children share them, and three
speed-only rewrites that give the answers of what they replaced."""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lint.test_forked import _HELPERS, _MORE, _USER
from lint.trees import small_tree
from xenpatch.analysis.headers import IDENT, header_index
from xenpatch.graphs import reachable, reaches_any
from xenpatch.lint import forked
from xenpatch.lint import lazyrun as lint_lazyrun
from xenpatch.lint.reaching import calls_any, reaching_names
from xenpatch.lint.roundskept import Kept
from xenpatch.lint.run import lint_files

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


# -- the collector frozen for the children (forked._freeze) -----------------

@needs_fork
def test_a_child_is_forked_with_the_objects_frozen_until_thaw() -> None:
    assert gc.get_freeze_count() == 0
    try:
        child = forked.Child(gc.get_freeze_count)
        # The child's collections leave what it inherited alone ...
        assert (child.result() or 0) > 0
        # ... and so do this process's, while the child may share its pages.
        assert gc.get_freeze_count() > 0
    finally:
        forked.thaw()
    assert gc.get_freeze_count() == 0


@needs_fork
def test_objects_frozen_elsewhere_are_left_as_they_are() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert forked.Child(lambda: 1).result() == 1
        forked.thaw()
        assert gc.get_freeze_count() == before  # not ours to give back
    finally:
        gc.unfreeze()


@needs_fork
def test_a_cold_run_with_children_ends_thawed(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(tmp_path / "xen", {"common/helpers.c": _HELPERS,
                                         "arch/x86/more.c": _MORE, "common/user.c": _USER})
    forks: list[int] = []
    real = forked._fork

    def counted(write):  # type: ignore[no-untyped-def]
        forks.append(gc.get_freeze_count())
        return real(write)

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(forked, "_fork", counted)
    monkeypatch.setattr(lint_lazyrun, "_PREFETCH_LEAST", 1)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    [r] = lint_files([(tree / "common/user.c", "common/user.c")], jobs=1)
    assert r.findings
    assert len(forks) >= 2  # not vacuous: children were forked
    assert gc.get_freeze_count() == 0  # the run's objects collectable again


# -- calls_any() without the file's identifiers -----------------------------

_PIECES = st.sampled_from([
    "lock", "take", "take_b", "btake", "1take", "0xtake", "take1", "_take", "é", "take\n",
    " ", "(", ")", ";", "->", ".", "{", "}", "/* take */", "x", "9", "__", "b",
])
_NAMES = st.sets(st.sampled_from(["take", "take_b", "b", "x", "_take", "lock", "1take"]),
                 max_size=3)


def _by_identifiers(raw: bytes, wanted: frozenset[bytes]) -> bool:
    return bool(set(IDENT.findall(raw)) & wanted)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, max_size=14), _NAMES)
def test_calls_any_is_the_identifiers_test(tmp_path_factory: pytest.TempPathFactory,
                                           pieces: list[str], names: set[str]) -> None:
    """No header in reach: ``wanted`` is the names themselves."""
    raw = "".join(pieces).encode()
    path = tmp_path_factory.getbasetemp() / "alone.c"
    asked = frozenset(names)
    wanted = reaching_names(header_index(path), asked)
    assert calls_any(path, asked, raw=raw) == _by_identifiers(raw, wanted), (raw, names)


def test_calls_any_through_a_header_macro(tmp_path: Path) -> None:
    xen = small_tree(tmp_path / "xen", {
        "include/xen/wrap.h": "#define grab(d) take_b(d)\n",
        "common/a.c": "#include <xen/wrap.h>\n",
    })
    path = xen / "common/a.c"
    for text, called in ((b"void f(void) { grab(d); }", True),
                         (b"void f(void) { regrab(d); grab_x(d); }", False),
                         (b"void f(void) { 0grab(d); }", True),  # findall's view
                         (b"void f(void) { take_b(d); }", True)):
        assert calls_any(path, frozenset({"take_b"}), raw=text) == called, text
        assert _by_identifiers(text, reaching_names(header_index(path),
                                                    frozenset({"take_b"}))) == called, text


# -- reaches_any(): held_untracked()'s walks shared --------------------------

@settings(max_examples=800, deadline=None)
@given(st.dictionaries(st.integers(0, 11), st.lists(st.integers(0, 11), max_size=4)),
       st.sets(st.integers(0, 11), max_size=3), st.lists(st.integers(0, 11), max_size=12))
def test_reaches_any_is_a_walk_from_each(graph: dict[int, list[int]], targets: set[int],
                                         asked: list[int]) -> None:
    asks: list[int] = []

    def succ(n: int) -> list[int]:
        asks.append(n)
        return graph.get(n, [])

    test = reaches_any(succ, targets)
    for n in asked:
        assert test(n) == (not reachable([n], lambda m: graph.get(m, [])).isdisjoint(
            targets)), (graph, targets, n)
    assert len(asks) == len(set(asks))  # each node's successors asked once


# -- the later round's kept reaches, each text hashed once -------------------

def test_kept_reaches_are_of_the_text_asked(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint.treecache import TreeCache

    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = small_tree(tmp_path / "xen", {"common/a.c": "void f(void) { g(); }\n"})
    kept = Kept(TreeCache.open(xen, Path(__file__).resolve().parents[2] / "rules"))
    old = b"void f(void) { g(); }\n"
    new = b"void f(void) { h(); }\n"
    kept.keep_reached("common/a.c", old, "f", frozenset({"g"}))
    assert kept.reached("common/a.c", old, "f") == frozenset({"g"})
    # Another text of the same file (an edit): not the kept answer.
    assert kept.reached("common/a.c", new, "f") is None
    assert kept.reached("common/a.c", bytes(old), "f") == frozenset({"g"})
    assert re.fullmatch(r"[0-9a-f]{40}", kept._digest("common/a.c", new))


# -- the tree's walk and name index made beside the imports (earlywalk.py) ---

def _early_run(tree: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
               ) -> tuple[object, list[str]]:
    """A cold run of common/user.c as the CLI starts it (earlywalk.start()
    first), children forced: its result, and what this process walked and
    scanned itself."""
    from xenpatch.lint import earlywalk, lazy, treecache

    me = os.getpid()
    here: list[str] = []
    walk, scan = treecache._walk, lazy.Plan._scan

    def walked(*a, **k):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            # The C files hashed here, or only the headers (the child's
            # hashes of the C files given).
            here.append("walk" if k.get("given") is None else "headers")
        return walk(*a, **k)

    def scanned(self):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            here.append("scan")
        return scan(self)

    monkeypatch.setattr(treecache, "_walk", walked)
    monkeypatch.setattr(lazy.Plan, "_scan", scanned)
    monkeypatch.setenv("XENPATCH_CACHE", str(cache))
    earlywalk.start(tree / "common/user.c")
    try:
        [r] = lint_files([(tree / "common/user.c", "common/user.c")], jobs=1)
    finally:
        earlywalk.end()
    return ([(f.line, f.col, f.check, f.message, f.flow) for f in r.findings],
            r.functions, r.analysed, r.skipped, r.unknown), here


def _alone_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any, Any]:
    """The small tree, its first run with no child (what it did here), and
    children allowed from then on."""
    tree = small_tree(tmp_path / "xen", {"common/helpers.c": _HELPERS,
                                         "arch/x86/more.c": _MORE, "common/user.c": _USER})
    monkeypatch.setattr(lint_lazyrun, "_PREFETCH_LEAST", 1)
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    alone, here = _early_run(tree, tmp_path / "c0", monkeypatch)
    monkeypatch.setattr(forked, "can_fork", lambda: True)
    return tree, alone, here


@needs_fork
def test_a_first_run_takes_the_walk_and_index_made_beside_the_imports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree, alone, here = _alone_first(tmp_path, monkeypatch)
    assert here == ["walk", "scan"] and alone[0]  # all of it here; findings
    early, here = _early_run(tree, tmp_path / "c1", monkeypatch)
    assert early == alone
    assert here == ["headers"]  # the C files' hashes and the index the child's
    # A warm run forks nothing for it: the cache file is there.
    from xenpatch.lint import earlywalk

    earlywalk.start(tree / "common/user.c")
    assert not earlywalk._CHILDREN
    # The same cache written either way: the next run reads the same result.
    again, _ = _early_run(tree, tmp_path / "c1", monkeypatch)
    assert again == alone


@needs_fork
def test_a_first_run_walks_itself_when_the_child_gives_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint import earlywalk

    tree, alone, _ = _alone_first(tmp_path, monkeypatch)
    me = os.getpid()
    real = earlywalk._Tasks.task
    for dies in (0, 2):
        def task(self, i, real=real, dies=dies):  # type: ignore[no-untyped-def]
            if os.getpid() != me and i == dies:
                os._exit(3)
            return real(self, i)

        monkeypatch.setattr(earlywalk._Tasks, "task", task)
        got, here = _early_run(tree, tmp_path / f"d{dies}", monkeypatch)
        assert got == alone
        # Dead before the walk: walked here, the index in a child of the
        # plan's own as before; after it: the index scanned here.
        assert here == (["walk"] if dies == 0 else ["headers", "scan"]), here


def _fresh_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a new one is, for header indexes: none made, no
    header scanned."""
    from xenpatch.analysis import headers

    monkeypatch.setattr(headers, "_SCANS", {})
    monkeypatch.setattr(headers, "_GIVER", [])
    for made in (headers._index, headers._local_index, headers._index_for_dir):
        made.cache_clear()


@needs_fork
def test_a_first_run_takes_the_header_scans_made_beside_the_imports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.analysis import headers
    from xenpatch.lint import earlywalk

    tree, alone, _ = _alone_first(tmp_path, monkeypatch)
    me = os.getpid()
    here: list[Path] = []
    scan, task = headers._scan_header, earlywalk._Tasks.task

    def scanned(h):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            here.append(h)
        return scan(h)

    monkeypatch.setattr(headers, "_scan_header", scanned)
    try:
        for dies in (None, 1):
            def dying(self, i, dies=dies):  # type: ignore[no-untyped-def]
                if os.getpid() != me and i == dies:
                    os._exit(3)
                return task(self, i)

            monkeypatch.setattr(earlywalk._Tasks, "task", dying)
            _fresh_headers(monkeypatch)
            here.clear()
            got, _ = _early_run(tree, tmp_path / f"h{dies}", monkeypatch)
            assert got == alone
            # The child's scans taken (none made here), or, the child dead
            # before them, made here.
            assert (not here) if dies is None else here
    finally:
        _fresh_headers(monkeypatch)


def test_an_index_of_given_scans_is_the_index_scanned_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.analysis import headers

    tree = small_tree(tmp_path / "xen", {
        "common/user.c": _USER, "common/local.h": "#define LOCAL_OK 3\n",
        "include/xen/more.h": "static inline void more(spinlock_t *l)\n{\n"
                              "    spin_lock(l);\n}\n#define more_lock(x) more(&(x)->lock)\n"})
    try:
        _fresh_headers(monkeypatch)
        scanned = headers.header_index(tree / "common/user.c")
        made = headers.scans()
        assert any(h.name == "more.h" for h in made)
        _fresh_headers(monkeypatch)
        asked: list[int] = []
        headers.scans_from(lambda: asked.append(1) or made)  # type: ignore[func-returns-value]
        given = headers.header_index(tree / "common/user.c")
        assert asked == [1] and given is not scanned
        assert given == scanned and given.inlines and given.wrappers
        assert given.consts == scanned.consts and given.noreturn == scanned.noreturn
        # None given: scanned here.
        _fresh_headers(monkeypatch)
        headers.scans_from(lambda: None)
        assert headers.header_index(tree / "common/user.c") == scanned
    finally:
        _fresh_headers(monkeypatch)


def test_the_walk_given_the_c_files_is_the_whole_walk(tmp_path: Path) -> None:
    from xenpatch.lint.treecache import _walk

    tree = small_tree(tmp_path / "xen", {"common/helpers.c": _HELPERS, "arch/x86/more.c": _MORE,
                                         "include/xen/more.h": "int more(void);\n",
                                         "common/user.c": _USER, "common/notes.txt": "x"})
    whole = _walk(tree, {})
    c_hashes, c_stamps, _ = _walk(tree, {}, (".c",))
    assert set(c_hashes) == {"common/helpers.c", "arch/x86/more.c", "common/user.c"}
    given = _walk(tree, {}, given=(c_hashes, c_stamps))
    assert list(given[0].items()) == list(whole[0].items())  # the same order too
    assert given[1] == whole[1] and given[2] == whole[2]

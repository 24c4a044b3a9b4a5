"""A bounded third round of cross-file summaries for a whole-tree run.

The second pass lints each file with the other files' first-pass
summaries; the summaries it computes then are of a second round: put_page()
of mm.c takes the heap lock only through page_alloc.c's
free_domheap_pages(), which its first pass could not see.  A file that may
call, holding a lock, a function whose summary the second round changed is
linted once more with those summaries.  The rounds stop there: a summary
the third round changes again is not followed, and the run says so (``-v``,
on the function's file).  What a result keeps as its exports stays its
first pass's, as the tree cache and the lazy plan compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from xenpatch.analysis.irqentry import CALL_KEY, FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import takers
from xenpatch.lint.bodyreach import BodyReach
from xenpatch.lint.findings import FileResult
from xenpatch.lint.nameindex import external_names, identifiers
from xenpatch.lint.shipping import to_workers
from xenpatch.lint.treeexports import OTHERS, TreeExports, architecture, tree_exports


def changed(first: list[FileResult], later: list[dict[str, Summary] | None],
            exports: Mapping[str, Summary]) -> dict[str, Summary]:
    """The functions whose tree-level summary the second round changes (or
    gives: one with no lock of its own whose callee's take was in another
    file), with that summary."""
    return _changed(_plain(first, later), first, exports)


def _changed(plain: list[dict[str, Summary]], first: list[FileResult],
             exports: Mapping[str, Summary]) -> dict[str, Summary]:
    # A name the first round's files gave and the tree left out (two
    # summaries, or one and another architecture's silence) stays out.
    given = {n for a in first for n in a.exports}
    return {n: s for n, s in tree_exports(plain).items()
            if exports.get(n) != s and (n in exports or n not in given)}


def _plain(first: list[FileResult], later: list[dict[str, Summary] | None],
           ) -> list[dict[str, Summary]]:
    """Each file's function summaries of the second round (else the first)."""
    return [{n: s for n, s in (b if b is not None else a.exports).items()
             if not n.startswith((FIELD_KEY, CALL_KEY))}
            for a, b in zip(first, later, strict=True)]


def quiet_builds(plain: list[dict[str, Summary]], new: Mapping[str, Summary],
                 paths: list[str], defs: list[frozenset[str]]) -> dict[str, frozenset[str]]:
    """Per architecture, the names of ``new`` its own files define with no
    summary in this round (another architecture's file gave the one in
    ``new``): its files' calls reach its own definition, which does
    nothing to locks (Arm's put_page() reaching the heap lock in a second
    round is no x86 caller's, x86's taking none).  Common code is built
    for each architecture: its calls get the summary (a deadlock in one
    build is one).  ``plain``: each file's summaries of the round (_plain())."""
    out: dict[str, set[str]] = {}
    for p, path, d in zip(plain, paths, defs, strict=True):
        arch = architecture(path)
        if arch is not None:
            for n in (d & new.keys()) - p.keys():
                out.setdefault(arch, set()).add(n)
    return {a: frozenset(ns) for a, ns in out.items()}


def asked_later(first: list[FileResult], named: list[list[str] | None]) -> list[bool]:
    """Per file, may a round after the second pass lint it again: a
    superset of third()'s files (their first pass holds a lock at a call)
    and of _summaries_called_holding()'s (they define a name with no
    summary of their own that some file calls holding a lock; ``named``:
    each file's external names, None where not read: then it may)."""
    held = frozenset().union(*(r.held_calls for r in first))
    return [bool(r.held_calls) or n is None or not held.isdisjoint(
        frozenset(n) - r.exports.keys()) for r, n in zip(first, named, strict=True)]


def third(work: list[tuple[Path, str]], first: list[FileResult], results: list[FileResult],
          later: list[dict[str, Summary] | None], exports: dict[str, Summary], mapper: Any,
          again: Callable[..., FileResult | None], progress: Any = None,
          raws: list[bytes | None] | None = None,
          named: list[list[str] | None] | None = None,
          overlays: Mapping[str, Mapping[str, Summary]] | None = None) -> list[FileResult]:
    """``results`` with the files a third round of summaries changes linted
    again (``again``: workers.again with ``only``).  ``named``: each file's
    external names (nameindex.external_names()) where its first pass read
    them from the same text (None: read here)."""
    if not later:
        return results
    raws = raws or [None] * len(work)
    texts = _Texts(work, raws)
    ids: dict[int, frozenset[str]] = {}

    def ids_of(i: int) -> frozenset[str]:
        if i not in ids:
            ids[i] = identifiers(texts[i])
        return ids[i]

    given = named or [None] * len(work)
    defs = [frozenset(n) if n is not None else frozenset(external_names(texts[i]))
            for i, n in enumerate(given)]
    later = _summaries_called_holding(work, first, later, exports, mapper, again, raws,
                                      defs, ids_of, overlays)
    plain = _plain(first, later)
    new = _changed(plain, first, exports)
    paths = [str(w[0]) for w in work]
    quiet = quiet_builds(plain, new, paths, defs)

    def mute(i: int) -> frozenset[str]:
        """The names of ``new`` file i's build defines quietly."""
        return quiet.get(architecture(paths[i]) or "", frozenset())

    # What each change adds: takes only, of locks a caller must name to
    # hold (None: anything else, or a lock it is handed).
    added = {n: takers.take_names(takers.added(s, exports.get(n))) for n, s in new.items()}
    # Only a file whose calls under a lock may reach one of them (its
    # header inlines and macros are followed in the worker), for a lock it
    # names.
    todo, wanted = [], []
    for i, a in enumerate(first):
        if a.held_calls and new:
            quiet_here = mute(i)
            meet = frozenset(n for n, ns in added.items()
                             if n not in quiet_here and takers.meets(ns, ids_of(i)))
            if meet:
                todo.append(i)
                wanted.append(meet)
    if not todo:
        return results
    tree = {**exports, **new}
    # A name each architecture resolves alone stays as the second pass had
    # it: changed() gives none of them (they are no tree-level summary).
    # One whose summary another architecture's file gave is none of the
    # files of a build defining it quietly (quiet_builds()).
    views = {arch: dict(o) for arch, o in (overlays or {}).items()}
    for arch, names in quiet.items():
        views.setdefault(arch, {}).update((n, OTHERS) for n in names)
    with to_workers(TreeExports.of(tree, views), mapper) as sent:
        got = list(mapper(again, [work[i] for i in todo],
                          [frozenset(first[i].exports) for i in todo], [sent] * len(todo),
                          [raws[i] for i in todo], [first[i].held_calls for i in todo],
                          wanted))
    out = list(results)
    held = frozenset().union(*(a.held_calls for a in first))
    # The files calling each name holding a lock.  A summary that changes
    # past the rounds matters to them only as the third round's own test
    # asks (takers.meets()): where it adds anything but takes, or a take
    # of a lock one of them names.  A change that meets none of them is
    # no gap in what the run covers.
    holders: dict[str, list[int]] = {}
    for j, a in enumerate(first):
        for n in a.held_calls:
            holders.setdefault(n, []).append(j)

    def meets_holder(called: frozenset[str], take: frozenset[str] | None) -> bool:
        return any(takers.meets(take, ids_of(j)) for g in sorted(called)
                   for j in holders.get(g, ()))

    # Names two files define with different summaries: no caller gets one.
    clash = {n for a in first for n in a.exports if n not in exports}
    for i, b in zip(todo, got, strict=True):
        if b is None:
            continue
        # Its own functions whose summary this round changes, called
        # holding a lock somewhere: those callers were linted with the
        # previous one.
        was = later[i]
        prev = was if was is not None else first[i].exports
        moved = sorted(n for n, s in b.exports.items()
                       if n in held and n not in clash and prev.get(n) != s
                       and meets_holder(frozenset({n}),
                                        takers.take_names(takers.added(s, prev.get(n)))))
        b.exports, b.held_calls = first[i].exports, first[i].held_calls
        b.unknown = [*b.unknown, *((n, 0, _BOUND) for n in moved)]
        out[i] = b
    # A file the third pass left alone whose functions some file calls
    # holding a lock, and which calls one whose summary the second round
    # changed: the summaries of those functions that reach it (through the
    # file's functions, macros and headers' inlines, as a summary composes)
    # would change in a fourth, as far as the change meets their callers.
    names = frozenset(new)
    for i in sorted(set(range(len(work))) - {i for i, b in zip(todo, got, strict=True)
                                             if b is not None}):
        mine = defs[i]
        called = held & mine
        # (a name its build defines quietly did not change for it)
        theirs = names - mute(i)
        met = sorted(n for n in theirs & ids_of(i) - mine if meets_holder(called, added[n])) \
            if called else []
        if met:
            body = BodyReach(work[i][0], texts[i])
            reached = frozenset().union(*(body.reached(g) for g in sorted(called)))
            met = [n for n in met if n in reached]
        if met:
            out[i].unknown = [*out[i].unknown, *((n, 0, _CALLS) for n in met)]
    if progress is not None:
        progress("files, third round (summaries of the second)", len(todo), len(todo))
    return out


_CALLS = ("called here: its summary changed in the second round of cross-file summaries, "
          "and this file's were not computed again with it (the rounds stop at three)")
_BOUND = ("its summary changed in the third round of cross-file summaries: its callers "
          "holding a lock in other files were linted with an earlier one (the rounds stop "
          "at three)")


def _summaries_called_holding(work: list[tuple[Path, str]], first: list[FileResult],
                              later: list[dict[str, Summary] | None],
                              exports: dict[str, Summary], mapper: Any,
                              again: Callable[..., FileResult | None],
                              raws: list[bytes | None], defs: list[frozenset[str]],
                              ids_of: Callable[[int], frozenset[str]],
                              overlays: Mapping[str, Mapping[str, Summary]] | None = None,
                              ) -> list[dict[str, Summary] | None]:
    """``later`` with the second-round summaries of the files the second
    pass left alone (it relints a file for a helper that only takes locks
    where the file may hold one) whose functions some file calls holding a
    lock, if they call such a helper of another file: mm.c's put_page(),
    called under heap_lock by page_alloc.c, calls page_alloc.c's
    free_domheap_pages() holding nothing."""
    taking = frozenset(n for n, s in exports.items()
                       if not n.startswith((FIELD_KEY, CALL_KEY)) and s.effects
                       and takers.takes_only(s))
    if not taking:
        return later
    definer: dict[str, list[int]] = {}
    for i, d in enumerate(defs):
        for n in d - first[i].exports.keys():
            # Only those with no summary of their own yet: put_page()'s
            # shape, a function holding no lock whose callees' takes are
            # another file's.
            definer.setdefault(n, []).append(i)
    # Called holding a lock by a file that does not define them (a file's
    # own callees are in its own summaries already).
    callers: dict[int, set[int]] = {}
    for a, (r, d) in enumerate(zip(first, defs, strict=True)):
        for n in r.held_calls - d:
            for b in definer.get(n, ()):
                if later[b] is None and b != a:
                    callers.setdefault(b, set()).add(a)
    if not callers:
        return later
    named = {n: takers.lock_names(exports[n]) for n in taking}
    # The lock names each caller's file names, of those the takers' locks
    # have: a taker meets one of b's callers where its names meet theirs.
    every = frozenset().union(*(ns for ns in named.values() if ns is not None))
    names_in: dict[int, frozenset[str]] = {}
    todo, wanted = [], []
    for b, cs in sorted(callers.items()):
        # A taker matters where a caller may hold its lock: a caller's file
        # names it (as the second pass's may_meet()).
        for a in cs if every else ():
            if a not in names_in:
                names_in[a] = ids_of(a) & every
        met = frozenset().union(*(names_in[a] for a in cs))
        meet = frozenset(t for t, ns in named.items() if ns is None or not ns.isdisjoint(met))
        if meet:
            todo.append(b)
            wanted.append(meet)
    if not todo:
        return later
    # Each file with its own build's summaries (the second pass's view):
    # a name only another architecture defines is none of its calls.
    with to_workers(TreeExports.of(exports, overlays), mapper) as sent:
        got = list(mapper(again, [work[i] for i in todo],
                          [frozenset(first[i].exports) for i in todo], [sent] * len(todo),
                          [raws[i] for i in todo], [frozenset()] * len(todo), wanted))
    out = list(later)
    for i, b in zip(todo, got, strict=True):
        if b is not None:
            out[i] = b.exports
    return out


class _Texts:
    """Each file's text, read when first asked (most files never are)."""

    def __init__(self, work: list[tuple[Path, str]], raws: list[bytes | None]) -> None:
        self.work, self.raws = work, raws
        self.read: dict[int, bytes] = {}

    def __getitem__(self, i: int) -> bytes:
        got = self.read.get(i)
        if got is None:
            got = self.read[i] = file_text(self.work[i][0], self.raws[i])
        return got


def file_text(path: Path, raw: bytes | None) -> bytes:
    """The text given for a file, else its bytes on disk (b"" if unreadable)."""
    if raw is not None:
        return raw
    try:
        return path.read_bytes()
    except OSError:
        return b""

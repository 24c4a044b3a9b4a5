"""The rounds of cross-file summaries after the second pass of a
whole-tree run, until no summary changes.

The second pass lints each file with the other files' first-pass
summaries; the summaries it computes then are of a second round: put_page()
of mm.c takes the heap lock only through page_alloc.c's
free_domheap_pages(), which its first pass could not see.  Each later round
lints again the files that may call, holding a lock, a function whose
summary the round before changed, with those summaries, and computes again
the summaries of the files whose functions some file calls holding a lock
where they reach such a function (p2m.c's p2m_free_entry() calls put_page():
pod.c, holding the heap lock over it, meets the take a round later).  The
rounds stop when no summary changes, or after ROUNDS: a summary the last
round changes is not followed, and the run says so (``-v``, on the
function's file).  What a result keeps as its exports stays its first
pass's, as the tree cache and the lazy plan compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def later_rounds(work: list[tuple[Path, str]], first: list[FileResult],
                 results: list[FileResult], later: list[dict[str, Summary] | None],
                 exports: dict[str, Summary], mapper: Any,
                 again: Callable[..., FileResult | None], progress: Any = None,
                 raws: list[bytes | None] | None = None,
                 named: list[list[str] | None] | None = None,
                 overlays: Mapping[str, Mapping[str, Summary]] | None = None,
                 ) -> list[FileResult]:
    """``results`` with the files the rounds after the second pass change
    linted again (``again``: workers.again with ``only``), round after
    round until no summary changes (at most ROUNDS rounds in all).
    ``named``: each file's external names (nameindex.external_names())
    where its first pass read them from the same text (None: read here)."""
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
    latest = _summaries_called_holding(work, first, later, exports, mapper, again, raws,
                                       defs, ids_of, overlays)
    rounds = _Rounds(work, first, exports, raws, texts, defs, ids_of, overlays, mapper, again)
    out = list(results)
    # The summaries the files were last linted with: the first round's,
    # then each round's changes.
    tree = dict(exports)
    for number in range(3, ROUNDS + 1):
        plain = _plain(first, latest)
        new = _changed(plain, first, tree)
        if not new:
            break
        last = number == ROUNDS
        step = rounds.step(plain, new, tree)
        with rounds.shipped({**tree, **new}, step) as sent:
            # The files this round leaves alone whose functions some file
            # calls holding a lock, and which call one whose summary
            # changed: the summaries of those functions that reach it
            # (through the file's functions, macros and headers' inlines, as
            # a summary composes) change in the next round, as far as the
            # change meets their callers.  Past the last round, -v says so.
            # reaching() reads each file alone, so what it says of a file
            # does not wait for the round's relints: one map both lints the
            # round's files again and computes the summaries of those it
            # leaves alone (a file asked and not linted again among them).
            ahead = rounds.reaching(step)
            got, summed = rounds.lint_and_sum(step, {} if last else ahead, sent)
            linted = {i for i, b in zip(step.todo, got, strict=True) if b is not None}
            reach = {i: met for i, met in ahead.items() if i not in linted}
        for i, b in zip(step.todo, got, strict=True):
            if b is None:
                continue
            prev = latest[i]
            was = prev if prev is not None else first[i].exports
            if last:
                # Its own functions whose summary this round changes, called
                # holding a lock somewhere: those callers were linted with
                # the previous one.
                moved = rounds.moved(b.exports, was)
                b.unknown = [*b.unknown, *((n, 0, _BOUND.format(ROUNDS)) for n in moved)]
            else:
                latest[i] = b.exports
            b.keep_first_pass(first[i])
            out[i] = b
        if last:
            for i, met in reach.items():
                out[i].unknown = [*out[i].unknown, *((n, 0, _CALLS.format(ROUNDS)) for n in met)]
        for i, b in summed:
            if b is not None:
                latest[i] = b.exports
        tree.update(new)
        if progress is not None:
            progress(f"files, round {number} of cross-file summaries", len(step.todo),
                     len(step.todo))
    return out


# The rounds of cross-file summaries a whole-tree run makes at most (the
# first pass's, the second pass's, and the later ones here): a chain of
# summaries that still changes after them is cut, and -v says where.
ROUNDS = 12

_CALLS = ("called here: its summary changed in the last round of cross-file summaries, "
          "and this file's were not computed again with it (the rounds stop at {})")
_BOUND = ("its summary changed in the last round of cross-file summaries: its callers "
          "holding a lock in other files were linted with an earlier one (the rounds stop "
          "at {})")


def bound_kind(why: str) -> str | None:
    """Which of the rounds' ``unknown`` rows ``why`` is: "calls" (a file's
    summaries not computed again with a changed one), "bound" (a changed
    summary its callers were not linted with), else None."""
    for kind, text in (("calls", _CALLS), ("bound", _BOUND)):
        head, _, tail = text.partition("{}")
        if why.startswith(head) and why.endswith(tail):
            return kind
    return None


@dataclass
class _Step:
    """What one round's changes (``new``) ask: the files linted again
    (``todo``, each for the names it may meet: ``wanted``), the names each
    build defines quietly, and what each change adds (takes only: the lock
    names a caller must name to hold them; None: anything else)."""
    new: Mapping[str, Summary]
    quiet: dict[str, frozenset[str]]
    added: dict[str, frozenset[str] | None]
    todo: list[int]
    wanted: list[frozenset[str]]


class _Rounds:
    """The tree's facts every round reads: who calls what holding a lock."""

    def __init__(self, work: list[tuple[Path, str]], first: list[FileResult],
                 exports: Mapping[str, Summary], raws: list[bytes | None],
                 texts: _Texts, defs: list[frozenset[str]],
                 ids_of: Callable[[int], frozenset[str]],
                 overlays: Mapping[str, Mapping[str, Summary]] | None, mapper: Any,
                 again: Callable[..., FileResult | None]) -> None:
        self.work, self.first, self.raws, self.defs, self.ids_of = work, first, raws, defs, ids_of
        self.overlays, self.mapper, self.again = overlays, mapper, again
        self.paths = [str(w[0]) for w in work]
        # The texts ids_of() reads: each file read once for both.
        self.texts = texts
        self.held = frozenset().union(*(a.held_calls for a in first))
        # The files calling each name holding a lock.
        self.holders: dict[str, list[int]] = {}
        for j, a in enumerate(first):
            for n in a.held_calls:
                self.holders.setdefault(n, []).append(j)
        self.bodies: dict[int, BodyReach] = {}
        # Names two files define with different summaries: no caller gets one.
        self.clash = {n for a in first for n in a.exports if n not in exports}

    def mute(self, quiet: dict[str, frozenset[str]], i: int) -> frozenset[str]:
        """The names file i's build defines quietly."""
        return quiet.get(architecture(self.paths[i]) or "", frozenset())

    def meets_holder(self, called: frozenset[str], take: frozenset[str] | None) -> bool:
        """A summary that changes matters to the files calling it holding a
        lock only as the rounds' own test asks (takers.meets()): where it
        adds anything but takes, or a take of a lock one of them names.  A
        change that meets none of them is no gap in what the run covers."""
        return any(takers.meets(take, self.ids_of(j)) for g in sorted(called)
                   for j in self.holders.get(g, ()))

    def step(self, plain: list[dict[str, Summary]], new: Mapping[str, Summary],
             tree: Mapping[str, Summary]) -> _Step:
        quiet = quiet_builds(plain, new, self.paths, self.defs)
        added = {n: takers.take_names(takers.added(s, tree.get(n))) for n, s in new.items()}
        # Only a file whose calls under a lock may reach one of them (its
        # header inlines and macros are followed in the worker), for a
        # lock it names.
        todo, wanted = [], []
        for i, a in enumerate(self.first):
            if a.held_calls:
                quiet_here = self.mute(quiet, i)
                meet = frozenset(n for n, ns in added.items()
                                 if n not in quiet_here and takers.meets(ns, self.ids_of(i)))
                if meet:
                    todo.append(i)
                    wanted.append(meet)
        return _Step(new, quiet, added, todo, wanted)

    def _views(self, quiet: dict[str, frozenset[str]]) -> dict[str, dict[str, Summary]]:
        # A name each architecture resolves alone stays as the second pass
        # had it: changed() gives none of them (they are no tree-level
        # summary).  One whose summary another architecture's file gave is
        # none of the files of a build defining it quietly (quiet_builds()).
        views = {arch: dict(o) for arch, o in (self.overlays or {}).items()}
        for arch, names in quiet.items():
            views.setdefault(arch, {}).update((n, OTHERS) for n in names)
        return views

    def shipped(self, tree: dict[str, Summary], step: _Step) -> Any:
        """The round's summaries as its tasks carry them (shipping.py), each
        build's files seeing their own (a name a build defines quietly is
        none of its files' calls)."""
        return to_workers(TreeExports.of(tree, self._views(step.quiet)), self.mapper)

    def lint_and_sum(self, step: _Step, reach: dict[int, list[str]], sent: Any
                     ) -> tuple[list[FileResult | None], list[tuple[int, FileResult | None]]]:
        """The round's files linted again with the summaries ``sent``, for
        the names each may meet holding a lock; and in the same map (both
        CPUs kept busy to its end), the summaries of the ``reach`` files
        the round does not lint again computed again:
        round_task()."""
        first = self.first
        todo = set(step.todo)
        order = [*step.todo, *sorted(set(reach) - todo)]
        if not order:
            return [], []
        wanted = dict(zip(step.todo, step.wanted, strict=True))
        got = [t or (None, None) for t in self.mapper(
            round_task, [self.work[i] for i in order],
            [frozenset(first[i].exports) for i in order], [sent] * len(order),
            [self.raws[i] for i in order], [first[i].held_calls for i in order],
            [wanted.get(i) for i in order],
            [frozenset(reach[i]) if i in reach else None for i in order],
            [self.again] * len(order))]
        summed = [(i, s) for i, (_, s) in zip(order, got, strict=True) if i in reach]
        return [b for b, _ in got[:len(step.todo)]], summed

    def moved(self, now: Mapping[str, Summary], was: Mapping[str, Summary]) -> list[str]:
        """The file's functions whose summary ``now`` changes from ``was``,
        called holding a lock somewhere, as far as the change meets those
        callers."""
        return sorted(n for n, s in now.items()
                      if n in self.held and n not in self.clash and was.get(n) != s
                      and self.meets_holder(frozenset({n}),
                                            takers.take_names(takers.added(s, was.get(n)))))

    def reaching(self, step: _Step) -> dict[int, list[str]]:
        """Per file, the changed names its functions called holding a lock
        elsewhere reach, each file read alone (whether the round lints it
        again or not: the caller keeps those it does not)."""
        out: dict[int, list[str]] = {}
        names = frozenset(step.new)
        for i in range(len(self.work)):
            mine = self.defs[i]
            called = self.held & mine
            if not called:
                continue
            # (a name its build defines quietly did not change for it)
            theirs = names - self.mute(step.quiet, i)
            met = sorted(n for n in theirs & self.ids_of(i) - mine
                         if self.meets_holder(called, step.added[n]))
            if met:
                reached = self.reached(i, called)
                met = [n for n in met if n in reached]
            if met:
                out[i] = met
        return out

    def reached(self, i: int, called: frozenset[str]) -> frozenset[str]:
        """What file i's functions ``called`` reach (BodyReach), each file's
        bodies read once for all the rounds."""
        body = self.bodies.get(i)
        if body is None:
            body = self.bodies[i] = BodyReach(self.work[i][0], self.texts[i])
        return frozenset().union(*(body.reached(g) for g in sorted(called)))


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


def round_task(item: tuple[Path, str], own: frozenset[str], exports: Any, raw: bytes | None,
               held: frozenset[str], only: frozenset[str] | None,
               reach: frozenset[str] | None, again: Callable[..., FileResult | None],
               ) -> tuple[FileResult | None, FileResult | None] | None:
    """One file's part of a later round (``again``: workers.again): linted
    again for the names ``only`` it may meet holding a lock (None: not
    asked); if it is not, its summaries computed again for the changed
    names ``reach`` its functions reach (None: none).  (The relint, the
    summaries), or None for neither.  The file comes first: the pool
    sends a task where the file's first pass ran (passes.py)."""
    linted = again(item, own, exports, raw, held, only) if only is not None else None
    if linted is not None:
        return linted, None
    summed = again(item, own, exports, raw, frozenset(), reach) if reach else None
    return (None, summed) if summed is not None else None


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

"""The lazy plan's later round: a file linted alone (the pre-commit hook's
run) gets what a whole-tree run's third round (rounds.py) gives it.

The lazy summaries (lazy.py) are of one round: another file's function
whose take is a third file's (or the linted file's own) has none there.
page_alloc.c's offline_page() calls mm.c's put_page() holding heap_lock;
put_page() reaches page_alloc.c's free_domheap_pages() (which takes it)
through the free_domheap_page() macro: mm.c's first pass cannot see that,
its second pass (with the tree's summaries) does, and the third round
brings put_page()'s second-round summary back to page_alloc.c.

Here, for the file's calls made holding a lock (its first pass's
held_calls, through its headers' inlines and macros) into other files:

- the names whose body, in the file defining them (the name index), calls
  (through that file's own functions, its macros and its headers'
  inlines: a text scan) a function of another file whose summary is at
  hand and could change this file's lint (any but a take of a lock it
  never names): the summaries the file was linted with, and its own;
- those names' summaries as their definers' lint with the summaries at
  hand gives them (partial.exports_of() with ``external``), where the
  whole-tree run lints them with the tree's summaries at all (_relinted():
  workers.again()'s test, or rounds._summaries_called_holding()'s), up to
  MOST_FILES files linted again (a definer whose first-round summaries
  stand costs none); a name they leave as it was, or change in no way
  that meets the file, stops here (most do, before anything else is
  parsed);
- the names whose body reaches, with no summary at hand, a function of
  a third file whose text takes a lock the file holds at the call
  (heldtakers.py: the second hop, a take two files away), whatever the
  summaries at hand say of them;
- for the rest, the first-round summaries of everything their bodies
  call, computed as the lazy plan computes the file's own (while the
  files defining it are at most MOST_REACHED), and their summaries again
  with those: exact;
- the names whose summary over all their definers
  (treeexports.tree_exports()) changed, and the file linted again with
  them where rounds.later_rounds() would (workers.again() with ``only``).

Bounded, never guessing: a name whose definers, or whose callees'
summaries, are past the budget gets no second-round summary (a finding
fewer than the whole-tree run, never one more).  It is one round: the
summaries it computes again are of the second, as rounds.py's third round
uses them; the whole-tree run's rounds after that (a take four summaries
deep: pod.c holding the heap lock over p2m.c's p2m_free_entry(), which
calls put_page()) are its own.  What the later round read (files and their
content hashes) is kept with the result: a kept result stands only while
they are unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.irqentry import CALL_KEY, FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import nameindex, takers
from xenpatch.lint.bodyreach import BodyReach
from xenpatch.lint.findings import FileResult
from xenpatch.lint.treeexports import TreeExports, tree_exports

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.heldtakers import LockTest
    from xenpatch.lint.lazy import Plan
    from xenpatch.lint.roundskept import Kept

# At most this many other files are linted again for their second-round
# summaries; past it, their names get none.  Files whose summaries are at
# hand (the first round's stand for the second) are not counted.  Six left
# 2015's x86 mm.c undecided (guest_physmap_add_entry() and _remove_page(),
# called holding a lock, wanted seven: exit 3 on four of 150 commits of
# the hook replayed on 2015-04..05, none of which a seventh and eighth lint
# made slower).
MOST_FILES = 8
# At most this many files define what those files' callees reach, for
# the callees' summaries.  Counted over the tree's definers, whether the
# cache holds their summaries or not: a run's coverage (its exit code) is
# the tree's, the same with a cold cache as with a warm one.
MOST_REACHED = 64

# (path, text, names, other files' summaries) -> the file's summaries of
# the names, linted with those (partial.exports_of()).
SummariseWith = Callable[[Path, bytes, frozenset[str], Mapping[str, Summary]],
                         "dict[str, Summary]"]
# workers.again: (item, own, exports, raw, held, only) -> a relint or None.
Again = Callable[..., "FileResult | None"]
# (path, names) -> (complete, summaries, content hash): workers.summaries.
Summarise = Callable[[Path, frozenset[str]], "tuple[bool, dict[str, Summary], str | None]"]


@dataclass
class Later:
    """What the later round gave: the summaries that changed (to lint the
    file with, and key its kept result by) and the files it read."""

    changed: dict[str, Summary] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)  # rel -> content hash
    result: FileResult | None = None
    # The names called holding a lock whose second-round summary a budget
    # left uncomputed (FileResult.undecided's form): where a whole-tree run
    # could report more than this one.
    undecided: list[tuple[str, int, str]] = field(default_factory=list)
    # What the second hop followed (FileResult.searched's form, for -v).
    searched: list[tuple[str, int, str]] = field(default_factory=list)

    def text_of(self, plan: Plan, rel: str) -> bytes | None:
        """A file's text (None: unreadable), recorded as read."""
        self.read[rel] = plan.cache.hashes.get(rel, "")
        try:
            return plan.read(rel)
        except OSError:
            return None

    def left_out(self, names: Iterable[str], budget: str) -> None:
        self.undecided.extend((n, 0, (
            f"called holding a lock: its second-round summary was not computed (past the "
            f"later round's budget of {budget}), so what it reaches in other files is "
            "not decided here (a whole-tree run decides it)")) for n in sorted(names))


def later_round(item: tuple[Path, str], raw: bytes, held: frozenset[str],
                given: Mapping[str, Summary], own: Mapping[str, Summary], plan: Plan,
                config: LintConfig, again: Again, summarise: Summarise,
                summarise_with: SummariseWith,
                locks: Mapping[tuple[str, str], frozenset[str]] | None = None,
                needed: frozenset[str] | None = None) -> Later:
    """The file's third-round lint (``result``: None where the whole-tree
    run's stands as ``given`` gives it), with the other files' summaries
    of the second round that changed.  ``held``: the file's first pass's
    held_calls; ``given``: the summaries it was linted with; ``own``: its
    own summaries, of its first pass or of its lint with ``given`` (where
    once.py spared the first pass: a round later, which has every effect
    of the first's and more; they only choose what to look at here).
    ``locks``: the locks held at those calls by their identities, each
    with the names called holding it (FileResult.held_locks): their takes
    in a third file the round follows too (heldtakers.py).  ``needed``:
    the names of ``given`` the file would be given alone (a run of several
    files gives each the summaries of all): the round follows what it
    follows alone, and the budgets count the same files."""
    out = Later()
    if not held:
        return out
    from xenpatch.analysis.headers import header_index
    from xenpatch.lint.heldtakers import LockTest
    from xenpatch.lint.reaching import calls_any, reached_from

    table = config.table
    acquires = {n: o.lock for n, o in table.ops.items() if o.action in ("acquire", "try")}
    wrappers = {**header_index(item[0]).wrappers, **table.wrappers} if locks else {}
    # Per held lock a text can name, its test and what is called holding it.
    hop = [(lock, test, reached_from(item[0], names))
           for lock, names in sorted((locks or {}).items())
           if (test := LockTest([lock], acquires, wrappers))]
    path = item[0]
    ids = nameindex.identifiers(raw)
    external = frozenset(nameindex.external_names(raw))
    # The summaries at hand whose effects, composed into a caller's, could
    # make the file's lint change: any but a take of a lock the file never
    # names (as rounds.later_rounds() asks of what a change adds).  The file's own
    # count where its first pass is not at hand.
    at_hand = {**(given if needed is None else {n: s for n, s in given.items() if n in needed}),
               **own}
    meets = frozenset(n for n, s in at_hand.items()
                      if not n.startswith((FIELD_KEY, CALL_KEY)) and s.effects
                      and takers.meets(takers.take_names(s), ids))
    if not meets and not hop:
        return out
    cache = plan.cache
    me = cache.rel(path.resolve()) if path.exists() else None
    mine = frozenset(d.name for d in nameindex.definitions(raw))
    reach = reached_from(path, held) - mine
    definers = plan.definers()
    # Each name called holding a lock that another file defines, with its
    # definers (all of them: tree_exports() over them decides its summary).
    cands: dict[str, list[str]] = {}
    for n in sorted(reach):
        if n in nameindex.RESERVED or n in table.ops or n in table.wrappers:
            continue
        ds = [r for r in definers.get(n, ()) if r != me]
        if ds and not any(_implements(r, config.implementation) for r in ds):
            cands[n] = ds
    if not cands:
        return out
    files = sorted({r for ds in cands.values() for r in ds})
    texts: dict[str, bytes] = {}
    for r in files:
        if (text := out.text_of(plan, r)) is not None:
            texts[r] = text
    # What each candidate's body reaches in its file (the file's own
    # functions followed, its macros and headers' inlines too) that another
    # file defines: its second-round summary can differ only through those,
    # and matters here only through one of ``meets``.
    from xenpatch.lint.roundskept import Kept

    kept = Kept(cache)
    ext: dict[tuple[str, str], frozenset[str]] = {}
    for r in files:
        if r not in texts:
            continue
        mine_r = sorted(n for n, ds in cands.items() if r in ds)
        reached = {n: kept.reached(r, texts[r], n) for n in mine_r}
        if any(v is None for v in reached.values()):
            # The text test first: cheaper than following the bodies
            # (which a second hop needs whatever the file names).
            if not hop and not calls_any(cache.root / r, meets, raw=texts[r]):
                continue
            closure = BodyReach(cache.root / r, texts[r])
            for n in mine_r:
                if reached[n] is None:
                    reached[n] = kept.keep_reached(r, texts[r], n, closure.reached(n))
        for n in mine_r:
            ext[(r, n)] = frozenset(m for m in reached[n] or ()
                                    if any(d != r for d in definers.get(m, ())))
    kept.save()
    # The second hop: what the candidates reach with no summary at hand
    # whose text takes a lock held at those calls; their summaries are
    # computed below with the rest of what the candidates reach.
    far = _far(hop, ext, at_hand, definers, me, plan, out)
    ext = {k: v for k, v in ext.items() if k[1] in far or not v.isdisjoint(meets)}
    if not ext:
        return out
    # The names that come back into the file first (their change is of its
    # own summaries: the chain this round is for), then those called
    # holding a lock directly, then the smallest definers.
    back = {n for (r, n), reached in ext.items() if not reached.isdisjoint(mine)}

    def order(n: str) -> tuple[bool, bool, int, str]:
        return (n not in back, n not in held, sum(len(texts[r]) for r in cands[n]), n)

    ext = dict(sorted(ext.items(), key=lambda kv: (order(kv[0][1]), kv[0][0])))
    # Every definer of a name must be passed (a name's summary is over
    # them all); a name whose definers are past the budget gets none.
    names: set[str] = {n for _, n in ext if all(r in texts for r in cands[n])}
    # First with the summaries at hand only: a name they leave as it was,
    # or change in no way that meets this file, is left (the summaries of
    # its other callees could still change it: a finding fewer at most,
    # never one more).  Most names stop here, before any other file is
    # summarised for them.
    near = {n: s for n, s in at_hand.items() if not n.startswith((FIELD_KEY, CALL_KEY))}
    spent: set[str] = set()
    names = _within(names, order, cands, _relints(
        names, cands, texts, near, plan, held, external, ids), spent, out)
    # Those reaching a third file's taker go on whatever the summaries at
    # hand say: the taker's own is not among them.
    new = _changed(names - far, cands, texts, near, given, plan, held, external, ids,
                   summarise_with, kept, meeting=True)
    names = {n for n in new if takers.change_meets(new[n], given.get(n), ids)} | \
        (names & far)
    if not names:
        return out
    # Then exactly: the first-round summaries of everything these names'
    # bodies reach, computed where missing (within MOST_REACHED files).
    ext = {k: v for k, v in ext.items() if k[1] in names}
    tree, left = _summaries_of(plan, ext, summarise, out)
    out.left_out(left, f"{MOST_REACHED} files defining what they reach")
    names = _within(names - left, order, cands, _relints(
        names - left, cands, texts, tree, plan, held, external, ids), spent, out)
    new = _changed(names, cands, texts, tree, given, plan, held, external, ids, summarise_with,
                   kept)
    if not new:
        return out
    # As rounds.later_rounds(): what each change adds, if takes only, of locks a
    # caller must name to hold; the file is linted again if a call it makes
    # holding a lock may reach one of them.
    meet = {n for n, s in new.items() if takers.change_meets(s, given.get(n), ids)}
    if not meet:
        return out
    out.changed = new
    out.result = again(item, mine, {**given, **new}, raw, held, frozenset(meet))
    return out


def _far(hop: list[tuple[tuple[str, str], LockTest, frozenset[str]]],
         ext: Mapping[tuple[str, str], frozenset[str]], at_hand: Mapping[str, Summary],
         definers: Mapping[str, list[str]], me: str | None, plan: Plan,
         out: Later) -> frozenset[str]:
    """The second hop: the candidates called holding a lock that reach,
    with no summary at hand, a function taking that lock
    (heldtakers.followed()); the files read for it are recorded.
    ``hop``: per held lock, its test and the names called holding it
    (closed over)."""
    from xenpatch.analysis.irqtakes import shown
    from xenpatch.lint.heldtakers import Spans, followed, spans_of

    kept: dict[str, Spans] = {}

    def spans(r: str, raw: bytes) -> Spans:
        got = kept.get(r)
        if got is None:
            got = kept[r] = spans_of(raw)
        return got

    got: set[str] = set()
    for (t, path), test, called in hop:
        mine = {k: v for k, v in ext.items() if k[1] in called}
        unknown = sorted({m for v in mine.values() for m in v if m not in at_hand})
        taking = followed(test, unknown, definers, me, functools.partial(out.text_of, plan),
                                 spans) if unknown else frozenset()
        for (_, n), v in sorted(mine.items()):
            if not v.isdisjoint(taking):
                got.add(n)
                lock = shown(f"{t}#{path}") if t else path
                out.searched.append((n, 0, (
                    f"called holding '{lock}': it reaches {', '.join(sorted(v & taking))} of "
                    "another file, whose text takes that lock: their summaries computed for "
                    "its own (a take two files away)")))
    return frozenset(got)


def _changed(names: set[str], cands: Mapping[str, list[str]], texts: Mapping[str, bytes],
             tree: dict[str, Summary], given: Mapping[str, Summary], plan: Plan,
             held: frozenset[str], external: frozenset[str], ids: frozenset[str],
             summarise_with: SummariseWith, kept: Kept,
             meeting: bool = False) -> dict[str, Summary]:
    """The names whose second-round summary over their definers, with
    ``tree`` as the other files' summaries, is not the one ``given``.

    ``meeting``: of those, the ones whose change may meet the file
    (takers.change_meets()) are all that is asked.  A name's summary over
    its definers is the one each gives, or none where they disagree
    (tree_exports()), so the first definer to give one decides the name:
    either its summary, or no change.  If that summary's change cannot
    meet the file, neither can the name's, and its other definers are not
    asked for it: the definers whose summaries are at hand (not linted
    again) first, then the smallest.  The answer is the same set of
    names; only their summaries may be of fewer definers."""
    per_file: list[dict[str, Summary]] = []
    trees = TreeExports.of(tree)
    root = plan.cache.root
    files = sorted({r for n in names for r in cands[n]})
    # Each definer's names, and whether it is linted again, decided over
    # all of them (as without ``meeting``).
    asked = {r: frozenset(n for n in names if r in cands[n]) for r in files}
    again = {r: _relinted(root / r, texts[r], asked[r], trees, plan, r, held, external, ids)
             for r in files}
    if meeting:
        files.sort(key=lambda r: (again[r], len(texts[r]), r))
    decided: set[str] = set()
    for r in files:
        mine_g = asked[r] - decided
        if not mine_g:
            continue
        if again[r]:
            got = kept.summaries(
                r, texts[r], mine_g, tree,
                functools.partial(summarise_with, root / r, texts[r], mine_g, tree))
        else:
            got = {n: s for n in mine_g if (s := plan.known(r, n)) is not None}
        per_file.append(got)
        if meeting:
            decided |= {n for n, s in got.items()
                        if not takers.change_meets(s, given.get(n), ids)}
    kept.save()
    later = tree_exports(per_file)
    return {n: s for n, s in later.items()
            if n in names and n not in decided and given.get(n) != s}


def _relints(names: set[str], cands: Mapping[str, list[str]], texts: Mapping[str, bytes],
             tree: dict[str, Summary], plan: Plan, held: frozenset[str],
             external: frozenset[str], ids: frozenset[str]) -> dict[str, bool]:
    """Per definer of ``names``, may _changed() lint it again for them,
    given ``tree``: _relinted() with all its names asked at once and none
    of their own summaries taken as recorded.  That is every file
    _changed() lints for a subset of the names, and the same whatever the
    cache holds, so what the budget covers is the tree's."""
    trees = TreeExports.of(tree)
    root = plan.cache.root
    return {r: _relinted(root / r, texts[r], frozenset(n for n in names if r in cands[n]),
                         trees, plan, r, held, external, ids, recorded=False)
            for r in sorted({r for n in names for r in cands[n]})}


def _within(names: set[str], order: Callable[[str], Any], cands: Mapping[str, list[str]],
            relints: Mapping[str, bool], spent: set[str], out: Later) -> set[str]:
    """The names, in ``order``, whose definers to lint again (``relints``)
    fit in MOST_FILES with those already ``spent`` (added to it); the
    others are left out.  A definer whose summaries are at hand costs
    nothing: a common file's call of a helper each architecture defines
    (domain.c's p2m_get_page_from_gfn(), x86's and Arm's p2m.c) took two
    of the six places though neither needed a lint."""
    within: set[str] = set()
    for n in sorted(names, key=order):
        need = {r for r in cands[n] if relints[r]}
        if len(spent | need) <= MOST_FILES:
            spent |= need
            within.add(n)
    out.left_out(names - within, f"{MOST_FILES} files linted again")
    return within


def _relinted(path: Path, raw: bytes, names: frozenset[str], tree: TreeExports,
              plan: Plan, rel: str, held: frozenset[str], external: frozenset[str],
              ids: frozenset[str], recorded: bool = True) -> bool:
    """Does the whole-tree run give a definer second-round summaries: its
    second pass (workers.again: it calls another file's helper that does more
    than take locks), or, for its functions the linted file calls holding
    a lock with no summary of their own yet, the relint for its summaries
    of rounds._summaries_called_holding() (the linted file one caller among
    those the whole tree has: a take-only helper whose lock it names)?
    Where that needs more than this knows (the definer's own first pass:
    its held calls, its exports, which its definitions stand for here) the
    answer is no: its first-round summaries, a finding fewer at most."""
    from xenpatch.lint.reaching import calls_any

    own = frozenset(d.name for d in nameindex.definitions(raw))
    others = tree.others - own
    if others and calls_any(path, others, raw=raw):
        return True
    if not any(n in held and n not in external
               and (not recorded or plan.known(rel, n) is None) for n in names):
        return False
    meet = frozenset(n for n, s in tree.takers.items()
                     if s.effects and takers.meets(takers.lock_names(s), ids))
    return bool(meet - own) and calls_any(path, meet - own, raw=raw)


def _summaries_of(plan: Plan, ext: Mapping[tuple[str, str], frozenset[str]],
                  summarise: Summarise, out: Later) -> tuple[dict[str, Summary], frozenset[str]]:
    """The tree's first-round summaries of the names ``ext`` reaches (as the
    lazy plan gives the linted file its own), and the candidates left out:
    candidate by candidate in ``ext``'s order, while the files defining
    what their bodies reach are at most MOST_REACHED.  A candidate is
    answered over all its definers or not at all."""
    definers = plan.definers()
    reached: dict[str, set[str]] = {}
    for (_, n), names in ext.items():
        reached.setdefault(n, set()).update(r for m in names for r in definers.get(m, ()))
    counted: set[str] = set()
    left: set[str] = set()
    for n, files in reached.items():
        if len(counted | files) <= MOST_REACHED:
            counted |= files
        else:
            left.add(n)
    ext = {k: v for k, v in ext.items() if k[1] not in left}
    if not ext:
        return {}, frozenset(left)
    every = frozenset().union(*ext.values())
    for r, ns in sorted(plan.wanted(every, set()).items()):
        complete, got, digest = summarise(plan.cache.root / r, ns)
        plan.record(r, ns, got, complete, digest)
    for n in every:
        for r in definers.get(n, ()):
            out.read.setdefault(r, plan.cache.hashes.get(r, ""))
    return tree_exports(plan.exports_for(every, set())), frozenset(left)


def _implements(rel: str, implementation: Iterable[str]) -> bool:
    return any(rel == p or rel.endswith("/" + p) for p in implementation)


def record_out(later: Later) -> dict[str, Any]:
    """What a kept result records of the later round: the files it read."""
    return {"read": dict(sorted(later.read.items()))}


def fresh(kept: Mapping[str, Any], hashes: Mapping[str, str]) -> bool:
    """Does a kept result's later round stand: every file it read as it was?"""
    got = kept.get("rounds")
    if got is None:
        return True
    try:
        return all(hashes.get(r) == h for r, h in got["read"].items())
    except (AttributeError, KeyError, TypeError):
        return False

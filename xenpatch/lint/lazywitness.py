"""XL017 across files in a single-file run (the hook's case): the few
files irqwitness.merge() needs to say what a whole-tree run says of this
file, found lazily.

The case taken: the file calls another file's function with IRQs known
off (its ``CALLS`` record), and that function (its defining file's
``TAKES``, from that file's first pass) takes plainly, in its caller's
state, a lock of its file's scope (an identity qualified by the defining
file: no other file takes it but through that file's functions; of a
function the tree defines twice, the definition its Makefile builds when
the other is known not built, as merge() takes it).  Where
the defining file has no IRQ-flavoured take of the lock (an _irq take of
its own, or a function taking it _irq: another file could call that one),
no file of the tree can make the lock IRQ-safe, so the lock is
IRQ-unsafe and the file's takes with IRQs off are against it -- if some
other file takes it with IRQs known on: the defining file itself (its
``LOCK`` record), or a file calling one of its functions taking the lock
with IRQs known on.  Those are searched in the order the whole-tree run
lists the files (biggest first), so the first found is the take the
whole-tree run names; a search stopping at its bound says nothing.

The function called may take the lock only inside another file's
function it calls in its caller's state (irqwitness ``HOPS``:
create_irq() -> init_one_irq_desc() of common/irq.c, a file naming no
lock op -> alloc_cpumask_var(), a header's inline -> the allocator): the
chain is followed from the first passes of the functions' files, then
as irqhops.py does, up to ``CHAIN_BOUND`` files (a walk stopping there
says so, as the witness search does), and merge() is given, per function
called, the takes decided here.  A file that takes the lock with IRQs on
itself, inside a callee, is its own witness (irqacross.findings()).

The first passes found are given to irqwitness.merge() as the tree, and
the file is linted again with its answer: the finding is the whole-tree
run's report, text and fingerprint alike.  A struct field's lock the
file takes with IRQs off itself is lazyfield.py's search, merged apart
(its identities are none of these)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.irqtakes import Template
from xenpatch.analysis.locktable import Summary
from xenpatch.c.builtobjs import built_one
from xenpatch.lint import irqwitness, lazyfield, nameindex
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.irqrecords import effect, record_templates, witnesses_of
from xenpatch.lint.irqwitness import CALLS, HOPS, IRQ, LOCK, TAKES, composed

# The files a search runs first passes of, at most (biggest first: a
# witness is most often in a big file).  A search runs only where a file
# calls another file's plain take with IRQs off, and one that stops is a
# gap (exit 3): linting each of Xen 4.17's 629 and master's 728 C files
# alone, no search stopped at 24 or at 64, and the runs took the same
# time; a witness past the 24th file (the allocator's, taken with IRQs on
# by the 39th biggest file naming it in a 2008 tree) is found at 64.
BOUND = 64

# The files a chain of calls in the caller's state is followed through
# where no first pass gave their records (lint/irqhops.py), in all.
CHAIN_BOUND = 48

# A file's first pass's XL017 records (irqwitness.XKEY's keys: what the
# searches read of it).
First = Callable[[Path, str], Mapping[str, Summary]]
PerFile = tuple[Path, str, Mapping[str, Summary]]


@dataclass
class Search:
    """merge()'s answer for the file (empty: nothing to report, or not
    decided), the files read (rel -> content hash: a kept result stands
    while they are as they were) and what was left undecided."""

    merged: dict[str, Summary] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)
    # (callee, 0, why): the searches that stopped at their bound, in
    # FileResult.unknown's form (-v lists them; nothing is reported there).
    undecided: list[tuple[str, int, str]] = field(default_factory=list)
    # (function, line, what): the searches run for a field's lock
    # (lazyfield.py), which -v lists.
    searched: list[tuple[str, int, str]] = field(default_factory=list)


def _off_calls(own: Mapping[str, Summary]) -> dict[str, set[str]]:
    """The other files' functions the file calls, by state."""
    out: dict[str, set[str]] = {}
    for k in own:
        if k.startswith(CALLS):
            name, _, st = k[len(CALLS):].rpartition("|")
            out.setdefault(st, set()).add(name)
    return out


def _takers(ex: Mapping[str, Summary], ident: str) -> tuple[set[str], bool]:
    """The file's functions taking ``ident`` plainly in their callers'
    state, and whether any takes it _irq."""
    plain: set[str] = set()
    irq = False
    for k, s in ex.items():
        if not k.startswith(TAKES):
            continue
        for e in s.effects:
            if e.action == "irqtake" and e.origin == ident and "$" not in e.key:
                if e.flavour == "irq":
                    irq = True
                else:
                    plain.add(k[len(TAKES):])
    return plain, irq


def search(item: tuple[Path, str], own: Mapping[str, Summary], root: Path,
           definers: Mapping[str, list[str]], hashes: Mapping[str, str],
           first: First, bound: int | None = None) -> Search:
    """The whole-tree XL017 facts for the file linted alone (module doc);
    ``own``: its exports, ``first``: a file's first pass."""
    out = Search()
    states = _off_calls(own)
    off = states.get("off", set())
    fields = lazyfield.wanted(own)
    if not off and not fields:
        return out  # the common case: no search
    rel = item[1]
    passes: dict[str, Mapping[str, Summary]] = {}

    def run(r: str) -> Mapping[str, Summary]:
        got = passes.get(r)
        if got is None:
            got = passes[r] = first(root / r, r)
            if r in hashes:
                out.read[r] = hashes[r]
        return got

    texts: dict[Path, bytes | None] = {}

    def read(p: Path) -> bytes | None:
        """A file's bytes, read once however many names the search asks
        about (None: unreadable)."""
        if p not in texts:
            try:
                texts[p] = p.read_bytes()
            except OSError:
                texts[p] = None
        return texts[p]

    # The file as the name index names it (under the tree's root; the run
    # may name it from elsewhere, xen/arch/...): never its own witness.
    me = _under(root, item[0]) or rel
    chain = _Chain(root, me, own, definers, run, off) if off else None
    through = _field_takes(chain, off) if chain is not None else {}
    field_merged: dict[str, Summary] = {}
    if fields or through:
        # A struct field's lock (lazyfield.py): merged on its own, its
        # identities being none of the file-scope ones below.  Taken by
        # the file itself, or inside a function it calls with IRQs off
        # (a parameter's field: its class, as merge() takes it).
        fs = lazyfield.search(me, own, root, hashes, run, read,
                              extra={i: _call_site(own, ts[0][0]) for i, ts in through.items()})
        out.read.update(fs.read)
        out.undecided.extend(fs.undecided)
        out.searched.extend(fs.searched)
        if fs.per_file:
            mine, *rest = fs.per_file
            by_name: dict[str, list[Template]] = {}
            for i in fs.decided:
                for n, t in through.get(i, ()):
                    by_name.setdefault(n, []).append(t)
            records = {**mine[2], **{k: s for k, s in own.items() if k.startswith(CALLS)
                                     and k[len(CALLS):].rpartition("|")[0] in by_name}}
            rest.extend(_take_records(root, by_name))
            merged = irqwitness.merge([(item[0], rel, records), *rest])
            if irqwitness.wanted(merged, rel):
                field_merged = merged
    if chain is None:
        out.merged.update(field_merged)
        return out
    per_file: list[tuple[Path, str, Mapping[str, Summary]]] = [(item[0], rel, own)]
    # Per function called with IRQs off, its takes decided here: merge()
    # is given these alone as its record (a take of another lock on the
    # chain would meet no file saying how the tree takes it).
    decided: dict[str, list[Template]] = {}
    for name in sorted(off):
        got = chain.takes.get(name, [])
        if chain.cut and not got and name in definers:
            out.undecided.append((name, 0, (
                f"called with IRQs off: the calls it makes in its caller's state were followed "
                f"through {chain.bound} files without an end, so XL017 across files is not "
                "decided here (a whole-tree run decides it)")))
        for t in got:
            ident = t.ident
            # The lock's file (a file-scope lock's identity names it): its
            # first pass says who else takes it.
            home = irqwitness.home_of(ident)
            if t.off or "$" in t.key or not home or home == me or not (root / home).is_file():
                continue
            ex = run(home)
            takers, irq = _takers(ex, ident)
            if irq or f"{LOCK}{ident}|{IRQ}" in ex:
                continue  # another file may make it IRQ-safe: not decided here
            if not all(_home(root, definers.get(n, [home])) == home for n in takers):
                continue
            decided.setdefault(name, []).append(t)
            if home not in [r for _, r, _ in per_file]:
                per_file.append((root / home, home, ex))
            if f"{LOCK}{ident}|on" in ex:
                continue  # the defining file's own take is the witness
            if any(n in states.get("on", set()) for n in takers):
                continue  # this file's own, inside a callee: findings() names it first
            limit = BOUND if bound is None else bound
            w = _witness(me, home, takers, root, definers, run, limit, read)
            if w is None:
                out.undecided.append((name, 0, (
                    f"called with IRQs off: no take of {home}'s lock with IRQs on found among "
                    f"the {limit} biggest files naming it, so XL017 across files is not "
                    "decided here (a whole-tree run decides it)")))
                continue
            if w not in [r for _, r, _ in per_file]:
                per_file.append((root / w, w, run(w)))
    if len(per_file) == 1:
        out.merged.update(field_merged)
        return out
    # As the whole-tree run orders them: biggest first.
    others = sorted(per_file[1:], key=lambda x: (-_size(x[0]), x[1]))
    names = {k for n in decided for k in (TAKES + n, HOPS + n)}
    others = [(p, r, {k: s for k, s in ex.items() if k not in names}) for p, r, ex in others]
    others.extend(_take_records(root, decided))
    # The witnesses' functions the tree enters only with check_lock() off
    # (a resume path's), settled as the whole-tree run settles them.
    from xenpatch.lint import irqhops, workers

    files = [per_file[0], *others]
    settled: set[Path] = set()
    merged = irqhops.unarmed_merge(files, files, workers.loaded(None), read=settled, only=rel)
    for p in settled:
        r = _under(root, p)
        if r is not None and r in hashes:
            out.read[r] = hashes[r]
    if irqwitness.wanted(merged, rel):
        out.merged.update(merged)
    # The field locks' records are of every file naming them: theirs stand.
    out.merged.update(field_merged)
    return out


def _take_records(root: Path, takes: Mapping[str, list[Template]]) -> list[PerFile]:
    """The takes decided for each function called, as merge() is given
    them: a record of their own per function, in place of its file's."""
    return [(root / f"<{n}>", f"<{n}>", {TAKES + n: Summary(tuple(effect(t) for t in ts), None)})
            for n, ts in sorted(takes.items())]


def _call_site(own: Mapping[str, Summary], name: str) -> tuple[str, int]:
    """Where the file calls ``name`` with IRQs off: (function, line)."""
    ws = witnesses_of(own.get(f"{CALLS}{name}|off", Summary((), None)))
    return (ws[0].fn, ws[0].line) if ws else (name, 0)


def _field_takes(chain: _Chain, off: set[str]) -> dict[str, list[tuple[str, Template]]]:
    """The struct field locks the functions called with IRQs off take
    plainly of a parameter (theirs, or one past a hop: its class):
    identity -> (function called, take).  What a take's path needs of the
    call (arguments non-NULL, path conditions) the relint binds, as a
    whole-tree run's second pass does."""
    out: dict[str, list[tuple[str, Template]]] = {}
    for name in sorted(off):
        for t in chain.takes.get(name, []):
            if "$" in t.key and not t.off and irqwitness.struct_ident(t.ident):
                out.setdefault(t.ident, []).append((name, t))
    return out


class _Chain:
    """The takes of the other files' functions the file calls with IRQs
    off, in their callers' state, through the other files' functions they
    call so (irqwitness HOPS): one walk from all of them (irqhops.walk()),
    from the first passes of the files defining the functions called
    (the one-hop search's own reads), then worked out as a whole-tree
    run's irqhops.complete() does for the functions they call (cheaper
    than those files' first passes), up to ``bound`` files in all."""

    def __init__(self, root: Path, rel: str, own: Mapping[str, Summary],
                 definers: Mapping[str, list[str]], run: Callable[[str], Mapping[str, Summary]],
                 start: set[str], bound: int | None = None) -> None:
        from xenpatch.lint import irqhops

        self.bound = CHAIN_BOUND if bound is None else bound
        seen: list[PerFile] = []
        inlines: list[dict[str, tuple[Path, bytes]]] = []

        def known(n: str) -> set[str] | None:
            if n not in start:
                return None  # worked out
            defs = definers.get(n, [])
            home = rel if rel in defs else _home(root, defs)
            if home is None:
                return None
            ex = own if home == rel else run(home)
            rec = {k: s for k, s in ex.items() if k in (TAKES + n, HOPS + n)}
            if not rec:
                return None  # not in the first pass's records: worked out
            seen.append((root / home, home, rec))
            hops = rec.get(HOPS + n)
            return {e.key for e in hops.effects} if hops is not None else set()

        def home(n: str) -> irqhops.Home | None:
            defs = definers.get(n)
            if defs:
                h = _home(root, defs)
                # Defined in several files, none known to be the one built.
                return None if h is None else (root / h, h, None)
            if not inlines:
                inlines.append(irqhops.common_inlines(root))
            return irqhops.common_inline(inlines[0], root, n)

        made, self.cut = irqhops.walk(sorted(start), known, home, root, bound=self.bound)
        self.per = [*seen, *made]
        own_t: dict[str, list[Template]] = {}
        hops_t: dict[str, list[Template]] = {}
        for _, _, rec in self.per:
            for k, s in rec.items():
                if k.startswith(TAKES):
                    own_t[k[len(TAKES):]] = record_templates(s)
                elif k.startswith(HOPS):
                    hops_t[k[len(HOPS):]] = record_templates(s, "irqcall")
        self.takes = composed(own_t, hops_t)


def _under(root: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        return None


def _home(root: Path, defs: list[str]) -> str | None:
    """The file whose definition of a function the tree's record is: its
    one definer, or of several the one the Makefiles build when the others
    are known not built (merge()'s choice: the parent of a rewrite keeps
    both allocators); else None (the build decides, nothing here can)."""
    if len(defs) == 1:
        return defs[0]
    one = built_one([root / d for d in defs]) if defs else None
    return None if one is None else defs[one]


def _witness(rel: str, home: str, takers: set[str], root: Path,
             definers: Mapping[str, list[str]], run: Callable[[str], Mapping[str, Summary]],
             bound: int, read: Callable[[Path], bytes | None]) -> str | None:
    """The first file (biggest first) calling one of ``takers`` with IRQs
    known on; None if none is found within ``bound`` files."""
    names = takers | _macros(root, takers, read)
    pat = re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names))
                     + rb")\b")
    want = {f"{CALLS}{n}|on" for n in takers}
    cands = []
    for r in sorted({r for rs in definers.values() for r in rs}):
        if r in (rel, home) or not irqwitness.built_together(r, rel):
            continue
        raw = read(root / r)
        if raw is not None and pat.search(raw):
            cands.append((-len(raw), r))
    for _, r in sorted(cands)[:bound]:
        if want & run(r).keys():
            return r
    return None


def _macros(root: Path, names: set[str], read: Callable[[Path], bytes | None]) -> set[str]:
    """The headers' macros whose bodies name one of ``names`` (xmalloc()
    expands to _xmalloc()): a file may call them through those."""
    pat = re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names))
                     + rb")\b")
    out: set[str] = set()
    for h in sorted(root.glob("include/**/*.h")) + sorted(root.glob("arch/*/include/**/*.h")):
        raw = read(h)
        if raw is None or not pat.search(raw):
            continue
        out |= nameindex.macros_naming(raw, pat)
    return out

"""XL017 across files in a single-file run for a struct field's lock
(lazywitness.py searches for a file-scope lock's takes; this for a lock
every file may reach through a pointer: ``d->page_alloc_lock``).

The case taken: the file takes, by its own run (its ``LOCK`` record:
its lock ops, or inside a function of its own), a field's lock plainly
with IRQs known off -- under another lock's _irqsave, say -- or calls
with IRQs known off another file's function taking a field of its
parameter so (lazywitness.py hands those over: merge() is then given the
call and the callee's take, as a whole-tree run's records have them).  The lock's
identity is the whole-tree merge's (irqsafe.identity(): the struct type
and the field path from it, "struct domain#->page_alloc_lock"), so the
takes of it in another file are those naming the same path through the
same type.  A whole-tree run reports the take where no file of the tree
takes the lock in an IRQ-flavoured way (then the lock is IRQ-unsafe) and
some other file takes it with IRQs known on.

The files that may do either name the field's path in their text (each
component after ``->`` or ``.``, as the take's text does) and the type
the identity names (the variable's declaration: the identity is the
declared type's), directly or through a header's macro whose body names
the path, or call a header's inline naming it: a cheap scan of
the tree's files, every architecture's (one _irq take anywhere makes the
lock IRQ-safe to merge()).  Those are linted (their first passes, as a
whole-tree run's), those whose text takes the path with an _irq form
first, biggest first.  A candidate whose record has an _irq take of the
lock (its own, or in a function's ``TAKES`` another file could call)
ends the search: nothing to report here (desc->lock is IRQ-safe by the
first file linted).  Else every candidate is needed, the absence of an
IRQ-flavoured take being what the report rests on: past ``BOUND`` files
the search says so and reports nothing (``undecided``, as lazywitness.py
does).  The candidates' records of the lock, and the file's, are put
through irqwitness.merge(): the finding and the take it names are the
whole-tree run's, which lists the files biggest first too.

Not searched: a take with IRQs on inside another file's function that a
third file calls in a known state (merge()'s ``through`` witnesses come
after every file's own takes, so they are named only where no file takes
the lock with IRQs on itself: then nothing is reported here, a miss and
no false report), and the symmetric case (a plain take with IRQs on of a
lock another file takes _irq), left to the whole-tree run as for a
file-scope lock -- but in a caller's context (irqsafectx.py), which
upchains.py answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.irqtakes import shown
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import nameindex
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.irqrecords import witnesses_of
from xenpatch.lint.irqwitness import IRQ, LOCK, TAKES, struct_ident

# The candidate files linted for one lock, at most (all of them are
# needed: the report rests on none of them taking it _irq).
BOUND = 24

PerFile = tuple[Path, str, Mapping[str, Summary]]


@dataclass
class FieldSearch:
    """The files' records for merge() (the file's own first), the files
    read (rel -> content hash), the searches that stopped at their bound
    and what was searched (-v)."""

    per_file: list[PerFile] = field(default_factory=list)
    # The identities the search decided (its files' records are per_file's).
    decided: list[str] = field(default_factory=list)
    read: dict[str, str] = field(default_factory=dict)
    undecided: list[tuple[str, int, str]] = field(default_factory=list)
    searched: list[tuple[str, int, str]] = field(default_factory=list)


def wanted(own: Mapping[str, Summary],
           extra: Mapping[str, tuple[str, int]] | None = None) -> dict[str, tuple[str, int]]:
    """The field locks the file takes plainly with IRQs known off and
    never _irq itself: ident -> (function, line) of its first such take;
    ``extra``: more such takes, inside other files' functions (search())."""
    out: dict[str, tuple[str, int]] = {}
    for k, s in own.items():
        if not k.startswith(LOCK):
            continue
        ident, _, st = k[len(LOCK):].rpartition("|")
        if st != "off" or not struct_ident(ident):
            continue  # a file-scope or global lock: not a field's
        ws = witnesses_of(s)
        out[ident] = (ws[0].fn, ws[0].line) if ws else ("", 0)
    for ident, at in (extra or {}).items():
        out.setdefault(ident, at)
    # IRQ-safe by the file's own take: nothing against it.
    return {i: at for i, at in out.items() if f"{LOCK}{i}|{IRQ}" not in own}


_PART = re.compile(r"(->|\.)([A-Za-z_]\w*)")


def path_pattern(ident: str) -> re.Pattern[bytes] | None:
    """What the text of a take of the field names: each component of its
    path after ``->`` or ``.`` (blanks allowed); None where the path is
    not such a chain (an index, a call)."""
    path = ident.partition("#")[2]
    parts = _PART.findall(path)
    if not parts or "".join(a + b for a, b in parts) != path.replace(" ", ""):
        return None
    sep = rb"\s*(?:->|\.)\s*"
    body = sep.join(re.escape(b.encode()) for _, b in parts)
    return re.compile(sep + body + rb"\b")


def type_pattern(ident: str) -> re.Pattern[bytes] | None:
    """What declares the variable a take names the lock through: the
    identity's type as a declaration spells it (functions.parameters()
    squashes ``struct domain`` to ``structdomain``); None where it is no
    plain type name (nothing to narrow the search by)."""
    t = ident.partition("#")[0]
    if not re.fullmatch(r"[A-Za-z_]\w*", t):
        return None
    alts = [rb"\b" + re.escape(t.encode()) + rb"\b"]
    for kw in ("struct", "union", "enum"):
        if t.startswith(kw) and len(t) > len(kw):
            alts.append(rb"\b" + kw.encode() + rb"\s+" + re.escape(t[len(kw):].encode()) + rb"\b")
    return re.compile(b"|".join(alts))


def _header_names(headers: list[str], root: Path, pat: re.Pattern[bytes],
                  typed: re.Pattern[bytes] | None, read: Callable[[Path], bytes | None],
                  ) -> tuple[set[str], set[str]]:
    """The headers' macros and inline functions whose bodies name the
    path (a file may take the lock through them); an inline's text names
    the type too (its variable's declaration, as a file's does).  A
    function's text is taken to run to the next definition: too much,
    never too little."""
    macros: set[str] = set()
    inlines: set[str] = set()
    for h in headers:
        raw = read(root / h)
        if raw is None or not pat.search(raw):
            continue
        macros |= nameindex.macros_naming(raw, pat)
        defs = nameindex.definitions(raw)
        for i, d in enumerate(defs):
            end = defs[i + 1].start if i + 1 < len(defs) else len(raw)
            if pat.search(raw, d.brace, max(end, d.brace)) and \
                    (typed is None or typed.search(raw, d.start, max(end, d.brace))):
                inlines.add(d.name)
    return macros, inlines


def _any(pat: re.Pattern[bytes] | None, names: set[str]) -> re.Pattern[bytes] | None:
    """``pat`` or a mention of one of ``names``."""
    alts = [pat.pattern] if pat is not None else []
    if names:
        alts.append(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names))
                    + rb")\b")
    return re.compile(b"|".join(alts)) if alts else None


def _irq_taken(ex: Mapping[str, Summary], ident: str) -> bool:
    """Does the record take the lock in an IRQ-flavoured way: a take of
    its own run, or in one of its functions another file may call?"""
    if f"{LOCK}{ident}|{IRQ}" in ex:
        return True
    return any(e.action == "irqtake" and e.origin == ident and e.flavour == "irq"
               for k, s in ex.items() if k.startswith(TAKES) for e in s.effects)


def search(me: str, own: Mapping[str, Summary], root: Path, hashes: Mapping[str, str],
           run: Callable[[str], Mapping[str, Summary]], read: Callable[[Path], bytes | None],
           bound: int | None = None,
           extra: Mapping[str, tuple[str, int]] | None = None) -> FieldSearch:
    """The tree's records of the field locks the file takes with IRQs
    off (module doc), for merge(); ``me``: the file under the tree's
    root, ``run``: a file's first pass; ``extra``: more such locks, taken
    inside the other files' functions the file calls with IRQs off
    (ident -> the function and line of such a call), which merge() is
    given apart."""
    out = FieldSearch()
    want = wanted(own, extra)
    if not want:
        return out  # the common case: no search
    limit = BOUND if bound is None else bound
    sources = sorted(r for r in hashes if r.endswith(".c") and r != me)
    headers = sorted(r for r in hashes if r.endswith(".h"))
    # Any change of the tree's text may add a take: the result stands
    # while the files scanned are as they were.
    out.read.update({r: hashes[r] for r in [*sources, *headers]})
    keep: dict[str, dict[str, Summary]] = {}
    decided: list[str] = []
    for ident, (fn, line) in sorted(want.items()):
        name = shown(ident)
        pat = path_pattern(ident)
        if pat is None:
            out.undecided.append((fn, line, (
                f"takes '{name}' with IRQs off: its path is no field chain the tree's text "
                "can be searched for, so XL017 across files is not decided here (a whole-tree "
                "run decides it)")))
            continue
        typed = type_pattern(ident)
        macros, inlines = _header_names(headers, root, pat, typed, read)
        # A take in the file's own text, or through a header's macro, names
        # the variable's declared type (the identity's); a header inline's
        # take is in the inline's terms.
        own_text = _any(pat, macros)
        assert own_text is not None
        via_inline = _any(None, inlines)
        irq_text = re.compile(rb"_irq\w*\s*\([^;]*?" + pat.pattern)
        cands = []
        for r in sources:
            raw = read(root / r)
            if raw is None:
                continue
            if (own_text.search(raw) and (typed is None or typed.search(raw))) or \
                    (via_inline is not None and via_inline.search(raw)):
                # Those whose text takes the path _irq first: one such take
                # decides the search (an order only, for its cost).
                cands.append((irq_text.search(raw) is None, -len(raw), r))
        cands.sort()
        irq = None
        recs: dict[str, dict[str, Summary]] = {}
        for _, _, r in cands[:limit]:
            ex = run(r)
            if _irq_taken(ex, ident):
                irq = r
                break
            recs[r] = {k: s for k, s in ex.items() if k.startswith(f"{LOCK}{ident}|")}
        if irq is not None:
            out.searched.append((fn, line, (
                f"'{name}' taken with IRQs off: {irq} takes it IRQ-safe, so nothing is "
                f"against it here ({len(recs) + 1} of the {len(cands)} files naming it "
                "linted)")))
            continue
        if len(cands) > limit:
            out.undecided.append((fn, line, (
                f"takes '{name}' with IRQs off: {len(cands)} files name the field, and none "
                f"of the {limit} the search lints takes it IRQ-safe, so whether one of the "
                "others does is not known and XL017 across files is not decided here (a "
                "whole-tree run decides it)")))
            continue
        files = ", ".join(r for _, _, r in cands) or "none"
        out.searched.append((fn, line, (
            f"'{name}' taken with IRQs off: searched the {len(cands)} files naming it for "
            f"takes with IRQs on or IRQ-safe ({files})")))
        decided.append(ident)
        for r, got in recs.items():
            if got:
                keep.setdefault(r, {}).update(got)
    if not decided or not keep:
        return out
    out.decided = decided
    mine = {k: s for k, s in own.items()
            if k.startswith(LOCK) and k[len(LOCK):].rpartition("|")[0] in decided}
    out.per_file.append((root / me, me, mine))
    # As the whole-tree run orders them: biggest first.
    others = sorted(keep, key=lambda r: (-_size(root / r), r))
    out.per_file.extend((root / r, r, keep[r]) for r in others)
    return out


__all__ = ["BOUND", "FieldSearch", "path_pattern", "search", "type_pattern", "wanted"]

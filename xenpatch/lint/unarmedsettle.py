"""Which functions a whole tree enters only while check_lock() is off,
settled over every mention of their names (analysis/unarmed.py).

Each file's first pass exports, per function it calls but does not define,
the condition under which all its mentions of the name are calls made with
the check off (``ARM + NAME``: the file's non-static functions that must be
entered so from the other files; none: at once), when each mention is such
a call; and per function of its own named by one of its XL017 witnesses
(irqwitness.exports()), the same condition for entering it (``NEED +
NAME``).  Here a non-static function's callers outside its defining C file
are "off" when every mention of its name in a file built with that one
(treeexports.architecture()) is accounted for: a header's prototype, a
file that exported a condition for it, or a header's inline whose body
names no disable/enable call and calls it -- the inline then standing for
a function of the header, whose own mentions are accounted for the same
way.  The conditions are met to a fixpoint, from the calls made with the
check off at once (before __start_xen() arms it, after a disable).

The answer (``UNARMED + NAME|FILE``, FILE its path under xen/) is read by
the defining file's second pass (its functions' ``unarmed`` nodes), and
here by irqwitness.merge(): a witness in a function entered with the check
off is none.  A name with a mention left unaccounted (an .S caller, an
address taken, a file not linted) is never settled.

A run on some files of a tree (lint FILE, the hook) settles nothing here:
a file's own chain from a disable or an arming enable to its static
functions is decided alone (analysis/unarmed.py), but an entry other files
decide keeps its takes checked, so the hook may keep a finding the
whole-tree run drops (check_timer() of Xen 3.4's io_apic.c), never the
other way.  Not done either: the calls witnessing a caller's context for
the one-file check (irqentry.call_witnesses(), lint/irqsafectx.py) are
marked unchecked by the caller's own nodes only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from xenpatch.analysis.fnptrs import code_only
from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.irqentry import LOCKS_KEY
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.unarmed import Need, decode, encode
from xenpatch.lint import nameindex
from xenpatch.lint.config import LintConfig
from xenpatch.lint.irqcalls import _mentions, absolute
from xenpatch.lint.treeexports import architecture

ARM = LOCKS_KEY + "arm:"
NEED = LOCKS_KEY + "need:"
UNARMED = LOCKS_KEY + "unarmed:"

PerFile = tuple[Path, str, Mapping[str, Summary]]
# Files analysed here per run, at most (as irqhops.BOUND).
BOUND = 256
# A function of the tree: its name and the file defining it.
Fn = tuple[str, Path]


def need_summary(need: frozenset[str]) -> Summary:
    return Summary((Effect("irqarm", "spin", "", "plain", "", None, encode(need),
                           inferred=True),), None)


def need_of(s: Summary) -> frozenset[str]:
    return decode(s.effects[0].via) if s.effects else frozenset()


def exports(calls: Mapping[str, Need], own: Mapping[str, Need]) -> dict[str, Summary]:
    """A file's first-pass facts: its calls' conditions, and its own
    functions' named in ``own`` (those its witnesses name)."""
    # The empty name: the file's first pass said all it calls so.
    out = {ARM: need_summary(frozenset())}
    out.update({ARM + n: need_summary(s) for n, s in calls.items() if s is not None})
    out.update({NEED + n: need_summary(s) for n, s in own.items() if s})
    return out


def outside_of(external: Mapping[str, Summary], me: str) -> frozenset[str]:
    """The names of the file at ``me`` (its path under xen/) whose callers
    in other files the tree settled as off."""
    tail = "|" + me
    return frozenset(k[len(UNARMED):-len(tail)] for k in external
                     if k.startswith(UNARMED) and k.endswith(tail))


def settle(per_file: Sequence[PerFile], config: LintConfig,
           bound: int = BOUND) -> tuple[dict[str, Summary], set[tuple[str, str]]]:
    """The settled facts (module doc), and the (function, file as the run
    names it) entered with the check off among those the files' witnesses
    name (``NEED``).  A C file of the run no first pass said anything of
    (it names no lock nor IRQ move: not parsed) is analysed here where it
    mentions the disable/enable calls or a name that could settle, up to
    ``bound`` files: a chain cut there settles nothing more."""
    from xenpatch.lint.unarmedfile import facts_of

    apis = config.irqsafe_unchecked | config.irqsafe_enables
    said: dict[str, dict[Path, frozenset[str]]] = {}
    needs: dict[Path, dict[str, frozenset[str]]] = {}
    display: dict[Path, str] = {}
    ran: set[Path] = set()
    for p, shown, ex in per_file:
        rp = absolute(p)
        display[rp] = shown
        for k, s in ex.items():
            if k == ARM:
                ran.add(rp)
            elif k.startswith(ARM):
                said.setdefault(k[len(ARM):], {})[rp] = need_of(s)
            elif k.startswith(NEED):
                needs.setdefault(rp, {})[k[len(NEED):]] = need_of(s)
    root = find_xen_root(absolute(per_file[0][0])) if per_file else None
    if root is None or not apis:
        return {}, set()
    mentions: dict[str, dict[Path, str]] = {}
    left = [bound]

    def analyse(files: Iterable[Path]) -> bool:
        more = False
        for p in sorted(set(files)):
            if p in ran or p.suffix != ".c" or p not in display or left[0] <= 0:
                continue
            ran.add(p)
            left[0] -= 1
            got = facts_of(p, p.relative_to(root).as_posix(), config) \
                if p.is_relative_to(root) else None
            for n, c in (got or {}).items():
                if c is not None:
                    said.setdefault(n, {})[p] = c
                    more = True
        return more

    # The files arming or disarming the check: where a chain starts.
    analyse(p for w in _mentions(root, set(apis)).values() for p in w)
    hopeful: set[str] = set()
    while True:
        # First as if every mention were accounted for: the names that
        # could settle at all, the only ones the tree's text is read for.
        grew = True
        while grew:
            grew = False
            for n, by in said.items():
                if n not in hopeful and all(c <= hopeful for c in by.values()):
                    hopeful.add(n)
                    grew = True
        new = hopeful - set(mentions)
        if not new:
            break
        mentions.update({n: {} for n in new})
        mentions.update(_mentions(root, new))
        if not analyse(p for n in new for p in mentions[n]):
            break
    if not hopeful:
        return {}, set()
    rules: dict[Fn, list[frozenset[Fn]]] = {}
    inl: dict[Fn, list[frozenset[Fn]]] = {}
    headers: dict[Path, dict[str, str]] = {}
    for n in sorted(hopeful):
        where = mentions.get(n, {})
        for d in (p for p, how in where.items() if how == "def"):
            conds = _accounted(n, d, where, said.get(n, {}), apis, headers, inl)
            if conds is not None:
                rules[(n, d)] = conds
    # The header inlines standing for a caller: their own mentions.
    if inl:
        more = _mentions(root, {i for i, _ in inl})
        for (i, h), _ in list(inl.items()):
            if len(re.findall(r"\b" + re.escape(i) + r"\b", headers[h]["\0code"])) != 1:
                continue  # named again in its header: a caller not stated
            where = {p: how for p, how in more.get(i, {}).items() if p != h}
            conds = _accounted(i, h, where, said.get(i, {}), apis, headers, None)
            if conds is not None:
                rules[(i, h)] = conds
    off: set[Fn] = set()
    grew = True
    while grew:
        grew = False
        for f, conds in rules.items():
            if f not in off and all(c <= off for c in conds):
                off.add(f)
                grew = True
    out = {f"{UNARMED}{n}|{d.relative_to(root).as_posix()}": need_summary(frozenset())
           for n, d in sorted(off) if d.suffix == ".c" and d.is_relative_to(root)}
    quiet = {(name, display[p]) for p, got in needs.items() for name, s in got.items()
             if all((x, p) in off for x in s)}
    return out, quiet


def _accounted(n: str, d: Path, where: Mapping[Path, str], said: Mapping[Path, frozenset[str]],
               apis: frozenset[str], headers: dict[Path, dict[str, str]],
               inl: dict[Fn, list[frozenset[Fn]]] | None) -> list[frozenset[Fn]] | None:
    """The conditions for n's callers outside ``d`` (its definition) to be
    off, or None when a mention is no call the tree can state."""
    conds: list[frozenset[Fn]] = []
    for p, how in where.items():
        if p == d or not _together(p, d):
            continue
        if how == "def":
            return None  # defined twice in one build: which one is the build's
        if p in said:
            conds.append(frozenset((x, p) for x in said[p]))
        elif how == "proto":
            continue
        elif p.suffix == ".h" and inl is not None:
            by = _inline_callers(p, n, apis, headers)
            if by is None:
                return None
            for i in by:
                inl.setdefault((i, p), [])
            conds.append(frozenset((i, p) for i in by))
        else:
            return None
    return conds


def _together(a: Path, b: Path) -> bool:
    x, y = architecture(str(a)), architecture(str(b))
    return x is None or y is None or x == y


def _inline_callers(h: Path, n: str, apis: frozenset[str],
                    memo: dict[Path, dict[str, str]]) -> frozenset[str] | None:
    """The inlines of header ``h`` whose bodies hold its every mention of
    ``n`` (each followed by "("), none naming a disable/enable call; None
    when a mention is elsewhere."""
    if h not in memo:
        try:
            code = code_only(h.read_bytes())
        except OSError:
            return None
        bodies: dict[str, str] = {}
        for d in nameindex.definitions(code):
            end = _close(code, d.brace)
            if end is not None and d.static:
                bodies[d.name] = code[d.brace:end].decode(errors="replace")
        memo[h] = bodies
        memo[h]["\0code"] = code.decode(errors="replace")
    bodies = memo[h]
    word = re.compile(r"\b" + re.escape(n) + r"\b")
    total = len(word.findall(bodies["\0code"]))
    by = frozenset(i for i, b in bodies.items() if i != "\0code" and word.search(b))
    inside = sum(len(word.findall(bodies[i])) for i in by)
    calls = sum(len(re.findall(r"\b" + re.escape(n) + r"\s*\(", bodies[i])) for i in by)
    if not by or inside != total or calls != total or any(
            re.search(r"\b" + re.escape(a) + r"\b", bodies[i]) for i in by for a in apis):
        return None
    return by


def _close(code: bytes, brace: int) -> int | None:
    depth = 0
    for j in range(brace, len(code)):
        c = code[j]
        if c == 0x7B:
            depth += 1
        elif c == 0x7D:
            depth -= 1
            if depth == 0:
                return j + 1
    return None


__all__ = ["ARM", "NEED", "UNARMED", "exports", "need_of", "outside_of", "settle"]

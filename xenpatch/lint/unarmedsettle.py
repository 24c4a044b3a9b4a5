"""Which functions a whole tree enters only while check_lock() is off,
settled over every mention of their names (analysis/unarmed.py).

Each file's first pass exports, per function of its own named by one of
its XL017 witnesses (irqwitness.exports()), the condition for entering it
with the check off (``NEED + NAME``: the file's non-static functions whose
callers in the other files must all call with it off; analysis/unarmed.py).
Here those functions' callers are looked for up the tree: the C files
mentioning one are analysed (facts_of(): per function the
file calls but does not define, the condition under which each of its
mentions is a call made with the check off, if each is a call), and so on
up from their conditions.  A non-static function's callers outside its
defining C file are "off" in a build when every mention of its name in
that build's files (archbuild.build_of(): common code and one
architecture's) is accounted for -- a header's prototype, a file whose
condition for it was found, or a header's inline whose body names no
disable/enable call and calls it (the inline then standing for a function
of the header, whose own mentions are accounted for the same way; a
prototype beside it is no use) -- and one of them at least is a call.
The conditions are met to a fixpoint per build, from the calls made with
the check off at once (before __start_xen() arms it, after a disable).
A function is entered with the check off when it is so in every build
with a call of it, one at least (a function no C calls is a way in from
outside: a hypercall, an entry from assembly), and no build has a mention
left unaccounted: common code x86's boot path calls before its enable is
settled for x86's takes though Arm's start_xen(), which never arms the
check, calls it too -- but a common take so reached is settled only if
Arm's calls are off as well.

The answer (``UNARMED + NAME|FILE``, FILE its path under xen/) is read by
the defining file's second pass (its functions' ``unarmed`` nodes), and
here by irqwitness.merge(): a witness in a function entered with the check
off is none.  A name with a mention left unaccounted (an .S caller, an
address taken, a file not linted) is never settled.

A run on some files of a tree (lint FILE, the hook) settles the entries
of the file's own witnesses its XL017 search across files meets
(lazywitness.py), reading the tree's other C files as the whole-tree run
does: a 2013 apic.c linted alone reported lapic_resume()'s allocation
with IRQs off, which acpi/power.c calls only between spin_debug_disable()
and spin_debug_enable().  Another file's witness in a function entered
with the check off stays one there (a finding the whole-tree run may
drop).  Not done: the calls witnessing a caller's context for the
one-file check (irqentry.call_witnesses(), lint/irqsafectx.py) are marked
unchecked by the caller's own nodes only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from functools import partial
from pathlib import Path

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.fnptrs import code_only
from xenpatch.analysis.headers import _INLINE, _definition, find_xen_root, header_index
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.unarmed import Need
from xenpatch.c.brackets import closing
from xenpatch.c.source import SourceError
from xenpatch.lint import nameindex
from xenpatch.lint.archbuild import arches, build_of
from xenpatch.lint.config import LintConfig
from xenpatch.lint.irqcalls import _mentions, absolute, prototype_mentions
from xenpatch.lint.treescan import TreeScan
from xenpatch.lint.unarmedfile import Marked
from xenpatch.lint.unarmedkeys import NEED, UNARMED, need_of, need_summary

PerFile = tuple[Path, str, Mapping[str, Summary]]
# Files analysed here per run, at most (as irqhops.BOUND).
BOUND = 256
# A function of the tree: its name and the file defining it.
Fn = tuple[str, Path]


def settle(per_file: Sequence[PerFile], config: LintConfig, only: Set[str] | None = None,
           bound: int = BOUND, scan: TreeScan | None = None,
           read: set[Path] | None = None,
           ) -> tuple[dict[str, Summary], set[tuple[str, str]]]:
    """The settled facts (module doc), and the (function, file as the run
    names it) entered with the check off among those the files' witnesses
    name (``NEED``), of the files ``only`` names (None: all).  Only the
    functions such an entry waits on are looked for, up their callers: the
    C files of the run mentioning one are analysed here (facts_of()), up
    to ``bound`` files (a chain cut there settles nothing more).  ``scan``:
    the tree's text as the run's other settles read it (treescan.py).
    ``read``: a run on a few files of the tree (the hook's XL017 search,
    lazywitness.py), whose callers in the tree's other C files are
    analysed too, as the whole-tree run analyses them; the files mentioning
    a name looked for are added to it (an edit of one may change the
    answer)."""
    apis = config.irqsafe_unchecked | config.irqsafe_enables
    said: dict[str, dict[Path, frozenset[str]]] = {}
    needs: dict[Path, dict[str, frozenset[str]]] = {}
    display: dict[Path, str] = {}
    ran: set[Path] = set()
    for p, shown, ex in per_file:
        rp = absolute(p)
        display[rp] = shown
        if only is not None and shown not in only:
            continue
        for k, s in ex.items():
            if k.startswith(NEED):
                needs.setdefault(rp, {})[k[len(NEED):]] = need_of(s)
    root = find_xen_root(absolute(per_file[0][0])) if per_file else None
    todo = {(x, p) for p, got in needs.items() for s in got.values() for x in s}
    if root is None or not apis or not todo:
        return {}, set()
    left = [bound]

    def analyse(p: Path) -> None:
        if p in ran or p.suffix != ".c" or left[0] <= 0 or (
                p not in display and (read is None or not p.is_relative_to(root))):
            return
        ran.add(p)
        left[0] -= 1
        got = facts_of(p, p.relative_to(root).as_posix(), config) \
            if p.is_relative_to(root) else None
        for n, c in (got or {}).items():
            if c is not None:
                said.setdefault(n, {})[p] = c

    # Up the callers of the functions the witnesses' entries wait on, per
    # build: a file of one architecture (archbuild.build_of()) is linked
    # with common code and its own architecture's only.
    arch = partial(build_of, root)
    builds: tuple[str | None, ...] = arches(root) or (None,)
    mentions: dict[str, dict[Path, str]] = {}
    headers: dict[Path, dict[str, str]] = {}
    # Per build, the conditions for a function's callers there to be off.
    rules: dict[str | None, dict[Fn, list[frozenset[Fn]]]] = {b: {} for b in builds}
    # A function some build has a caller of it stated nowhere.
    open_: set[Fn] = set()
    done: set[Fn] = set()
    while todo:
        names = {n for n, _ in todo} - set(mentions)
        if names:
            mentions.update({n: {} for n in names})
            mentions.update(_mentions(root, names, scan=scan if scan is not None
                                      and scan.root == root else None))
            if read is not None:
                read.update(p for n in names for p in mentions[n])
        for n, d in sorted(todo):
            for p in mentions[n]:
                if p != d:
                    analyse(p)
        done |= todo
        new: set[Fn] = set()
        for n, d in sorted(todo):
            where = mentions[n]
            if d.suffix == ".h":
                if len(re.findall(r"\b" + re.escape(n) + r"\b", headers[d]["\0code"])) != 1:
                    continue  # named again in its header: a caller not stated
                where = {p: how for p, how in where.items() if p != d}
            elif where.get(d) != "def":
                continue
            home = arch(d)
            for b in builds:
                if home is not None and b is not None and home != b:
                    continue  # not in that build
                conds = _accounted(n, d, {p: how for p, how in where.items()
                                          if b is None or arch(p) in (None, b)},
                                   said.get(n, {}), apis, headers, d.suffix == ".c")
                if conds is None:
                    open_.add((n, d))  # a caller not stated
                elif conds:
                    rules[b][(n, d)] = conds
                    new |= {f for c in conds for f in c}
                # (No call in this build: it is entered in others only.)
        todo = new - done
    off = _settled(rules, open_)
    out = {f"{UNARMED}{n}|{d.relative_to(root).as_posix()}": need_summary(frozenset())
           for n, d in sorted(off) if d.suffix == ".c" and d.is_relative_to(root)}
    quiet = {(name, display[p]) for p, got in needs.items() for name, s in got.items()
             if all((x, p) in off for x in s)}
    return out, quiet


def _accounted(n: str, d: Path, where: Mapping[Path, str], said: Mapping[Path, frozenset[str]],
               apis: frozenset[str], headers: dict[Path, dict[str, str]],
               inlines: bool) -> list[frozenset[Fn]] | None:
    """The conditions for n's callers outside ``d`` (its definition) to be
    off, or None when a mention is no call the tree can state.  ``where``:
    the mentions of n in one build's files; ``inlines``: may a header's
    inline stand for its callers (d a C file)?"""
    conds: list[frozenset[Fn]] = []
    for p, how in where.items():
        if p == d:
            continue
        if how == "def":
            return None  # defined twice in one build: which one is the build's
        if p in said:
            conds.append(frozenset((x, p) for x in said[p]))
        elif how == "proto":
            continue
        elif p.suffix == ".h" and inlines:
            by = _inline_callers(p, n, apis, headers)
            if by is None:
                return None
            conds.append(frozenset((i, p) for i in by))
        else:
            return None
    return conds


def _settled(rules: Mapping[str | None, Mapping[Fn, list[frozenset[Fn]]]],
             open_: Set[Fn]) -> set[Fn]:
    """The functions entered with the check off in every build calling
    them: met to a fixpoint per build (a condition is met in the build
    it is one of), none with a caller stated nowhere (``open_``), one
    build calling it at least."""
    per: dict[str | None, set[Fn]] = {}
    for b, got in rules.items():
        off = per[b] = set()
        grew = True
        while grew:
            grew = False
            for f, conds in got.items():
                if f not in off and all(c <= off for c in conds):
                    off.add(f)
                    grew = True
    called = {f for got in rules.values() for f in got} - set(open_)
    return {f for f in called if all(f in per[b] for b, got in rules.items() if f in got)}


def _inline_callers(h: Path, n: str, apis: frozenset[str],
                    memo: dict[Path, dict[str, str]]) -> frozenset[str] | None:
    """The inlines of header ``h`` whose bodies hold its every mention of
    ``n`` (each followed by "(") but its prototypes (a declaration is no
    use: ``extern int f(void);`` beside the inline calling f) and its own
    inline definitions (the stub another configuration builds in its
    place: ``static inline int lapic_resume(void) { return 0; }``), none
    naming a disable/enable call; None when a mention is elsewhere.  A
    header mentioning ``n`` in none of its inlines' bodies has no caller
    (an empty set)."""
    if h not in memo:
        try:
            code = code_only(h.read_bytes())
        except OSError:
            return None
        bodies: dict[str, str] = {}
        for d in nameindex.definitions(code):
            end = closing(code, d.brace, 0x7B, 0x7D)
            if end is not None and d.static:
                bodies[d.name] = code[d.brace:end + 1].decode(errors="replace")
        memo[h] = bodies
        memo[h]["\0code"] = code.decode(errors="replace")
    bodies = memo[h]
    # Its own name's mentions as the name of an inline the header defines
    # (the header index's reading: a stub is often one line, which
    # nameindex.definitions() does not take).
    code = bodies["\0code"].encode()
    defined = sum(1 for m in _INLINE.finditer(code)
                  if m.group(1) == n.encode() and _definition(code, m.start()) is not None)
    word = re.compile(r"\b" + re.escape(n) + r"\b")
    total = len(word.findall(bodies["\0code"]))
    by = frozenset(i for i, b in bodies.items() if i[:1] != "\0" and word.search(b))
    inside = sum(len(word.findall(bodies[i])) for i in by)
    calls = sum(len(re.findall(r"\b" + re.escape(n) + r"\s*\(", bodies[i])) for i in by)
    declared = prototype_mentions(bodies["\0code"].encode(), n) \
        if inside + defined != total else 0
    if inside + defined + declared != total or calls != inside or any(
            re.search(r"\b" + re.escape(a) + r"\b", bodies[i]) for i in by for a in apis):
        return None
    if not by and not defined:
        return None  # prototypes only: _accounted()'s "proto", not asked here
    return by


__all__ = ["facts_of", "settle"]


def facts_of(path: Path, rel: str, config: LintConfig) -> dict[str, Need] | None:
    """The conditions of the calls of the C file at ``path`` (``rel``: its
    path under xen/) of other files' functions; None where it cannot be
    parsed."""
    from xenpatch.lint.filelint import _parse, tree_path

    try:
        raw = path.read_bytes()
        src = _parse(rel, raw, config, path)
    except (OSError, SourceError):
        return None
    headers = header_index(path)
    fa = FileAnalysis(config, src, headers, {})
    fa.tree_path = tree_path(path, headers.root)
    return Marked(fa, config, mark=False).calls

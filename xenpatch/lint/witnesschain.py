"""A caller's IRQ state carried through other files' functions that leave
IRQs as they found them, up to a call: the WITNESS of a function two or
more files away from the call that gives the state.

irqentry.call_witnesses() gives one file's calls in a known state of
another file's functions: a hypercall's handler (entered with IRQs on,
analysis/irqroots.py) calling mp_register_gsi() of mpparse.c.  That file
names neither a lock nor the IRQ API, so no pass of it runs, and even one
would not know the state it is entered in (another file's call gives it).
mp_register_gsi() calls io_apic.c's io_apic_set_pci_routing() with IRQs
as its caller had them -- nothing between its entry and the call moves
them -- so the handler's state reaches io_apic.c two calls away, where a
plain take after an irqrestore is taken with IRQs on.

Here such a middle function is run entered in the state another file's
call gives it (one caller's word, as a context is: irqcontext.py), and
each call it makes of another file's function asked for (a WITNESS want,
irqentries.entry_wants()) that is reached in that state on every path is
a witness in turn, one hop further: its summary carries every hop, the
nearest first (irqentry.witness_hops()), so the report shows the path
from the way in.  The same guarantees as a direct witness: a run whose
entry is the caller's word (no guess), the state known on every path to
the call, no hop whose caller passes a literal where the middle function
branches on that argument (irqentry.specialised()), a chain after
spin_debug_disable() marked unchecked (no witness for XL017), files of
two architectures never chained.

Bounded: at most ``HOPS`` middle functions between the call giving the
state and the function asking, and ``FILES`` middle files analysed per
search; a chain cut there is one witness fewer, never a wrong one.  Only
direct calls from a non-static function of the middle file are followed
(a static helper in between is offchains.py's kind of chain, not done
here).  The search is the whole-tree run's (irqcalls.settle(): every
first pass's witnesses known) and the single-file run's where another
file takes the lock IRQ-safe (upchains.py: the callers found by their
text), through the same resolve().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis import fnptrs
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqentry import (
    STATES,
    UNCHECKED,
    call_witnesses,
    tested_params,
    witness_hops,
)
from xenpatch.analysis.irqtakes import unchecked_nodes
from xenpatch.analysis.kept import run_entered
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import nameindex
from xenpatch.lint.irqwitness import built_together

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig


@dataclass(frozen=True)
class TreeText:
    """The tree's text as a whole-tree run reads it (irqcalls.py's own
    readers, handed in: they import this module, not the other way)."""

    defined_once: Callable[..., set[str]]
    mentions: Callable[..., dict[str, dict[Path, str]]]
    absolute: Callable[[Path], Path]


# Middle functions between the call giving the state and the asking
# function's file, at most (do_physdev_op() -> mp_register_gsi() ->
# io_apic_set_pci_routing(): one).
HOPS = 3
# Middle files analysed per search, at most (a file is run again when a
# caller of its gets a witness later).
FILES = 48

# Per name, per state, a witness (a WITNESS key's summary).
Witnesses = dict[str, dict[str, Summary]]


def file_chains(fa: FileAnalysis, incoming: Mapping[str, Mapping[str, Summary]],
                wanted: Iterable[str], unchecked: frozenset[str] = frozenset()) -> Witnesses:
    """Per function of ``wanted`` (another file's) the file calls, per
    state, the first call of it reached in that state on every path of a
    non-static function of the file run entered in the state another
    file's call gives it (``incoming``: per function name, per state, that
    call's witness), with that witness's hops after its own (module doc)."""
    want = set(wanted)
    skip = {*fa.fns, *fa.table.ops, *fa.table.wrappers, *fa.macro_calls, *fa.headers.inlines}
    out: Witnesses = {}
    for f in fa.order:
        by = incoming.get(f.name)
        if not by or f.is_static or f.node is None or f.src is not fa.src:
            continue
        for st in sorted(by):
            if st not in STATES:
                continue
            came = by[st]
            hops = witness_hops(came)
            if not hops or not built_together(fa.src.path, hops[0][1]):
                continue
            fa.prepare(f)
            if tested_params(f) & hops[0][3]:
                continue  # the caller's constant picks this function's paths
            res = run_entered(f, st, fa.prepare)
            if res is None:
                continue
            quiet = unchecked_nodes(f, unchecked)
            got = call_witnesses([(f, res)], fa.src.raw, skip, frozenset({st}),
                                 lambda _g, q=quiet: q)  # type: ignore[misc]
            for name in sorted(want & set(got)):
                w = got[name].get(st)
                if w is None or st in out.get(name, {}):
                    continue
                first = w.effects[0]
                if any(e.flavour == UNCHECKED for e in came.effects):
                    first = replace(first, flavour=UNCHECKED)
                out.setdefault(name, {})[st] = Summary((first, *came.effects), None)
    return out


def callers_in(raw: bytes, name: str) -> list[str]:
    """The non-static functions of the text whose body names ``name`` (a
    superset of its callers: the run decides)."""
    return _Bodies(raw).naming(name)


class _Bodies:
    """A text's non-static function bodies (code only), each split into
    identifiers when first asked: a search asks a middle file about each
    callee it may call (4.17: 1,682 asks of 361 files)."""

    def __init__(self, raw: bytes) -> None:
        self.code = code = fnptrs.code_only(raw)
        defs = nameindex.definitions(code)
        self.bodies: list[tuple[str, bool, bytes]] = []
        for i, d in enumerate(defs):
            end = defs[i + 1].start if i + 1 < len(defs) else len(code)
            self.bodies.append((d.name, d.static, code[d.brace:max(end, d.brace)]))
        self.ids: dict[int, frozenset[str]] = {}

    def naming(self, name: str) -> list[str]:
        word = name.encode()
        out: list[str] = []
        for i, (n, static, body) in enumerate(self.bodies):
            if static or n == name or word not in body:
                continue
            ids = self.ids.get(i)
            if ids is None:
                ids = self.ids[i] = nameindex.identifiers(body)
            if name in ids:
                out.append(n)
        return out


def resolve(asked: Mapping[str, frozenset[str]],
            known: Callable[[Iterable[str]], Witnesses],
            users: Callable[[Iterable[str]], dict[str, list[str]]],
            text: Callable[[str], bytes | None],
            analyse: Callable[[str, Mapping[str, Mapping[str, Summary]]], FileAnalysis | None],
            unchecked: frozenset[str] = frozenset(),
            hops: int = HOPS, files: int = FILES) -> Witnesses:
    """The chained witnesses of the ``asked`` names (per name, the states
    no direct witness gives), up to ``hops`` middle functions and
    ``files`` middle files (module doc).  ``known(names)``: the direct
    witnesses other files' calls give those names; ``users(names)``: per
    name, the C files (as ``text`` and ``analyse`` name them) whose code
    mentions it without defining it; ``analyse(file, incoming)``: the
    file's analysis with those witnesses as its external facts."""
    # Upward: per level, the middle files and the functions of theirs
    # naming a function of the level below.
    levels: list[list[tuple[str, str, list[str]]]] = []  # (file, callee, its callers there)
    seen = set(asked)
    todo = sorted(asked)
    bodies: dict[str, _Bodies | None] = {}  # per file, read once
    for _ in range(hops):
        if not todo:
            break
        level: list[tuple[str, str, list[str]]] = []
        nxt: list[str] = []
        found = users(todo)
        for b in todo:
            for r in found.get(b, []):
                if r not in bodies:
                    raw = text(r)
                    bodies[r] = _Bodies(raw) if raw is not None else None
                got = bodies[r]
                if got is None:
                    continue
                callers = got.naming(b)
                if callers:
                    level.append((r, b, callers))
                    nxt.extend(a for a in callers if a not in seen)
                    seen.update(callers)
        levels.append(level)
        todo = sorted(set(nxt))
    if not levels or not any(levels):
        return {}
    names = {a for level in levels for _, _, cs in level for a in cs}
    have: Witnesses = {n: dict(by) for n, by in known(sorted(names)).items()}
    # Per middle file: its level (the nearest to the asking file when on
    # several), the callees it is asked about and its functions naming them.
    where: dict[str, tuple[int, set[str], set[str]]] = {}
    for depth, level in enumerate(levels):
        for r, b, callers in level:
            entry = where.setdefault(r, (depth, set(), set()))
            entry[1].add(b)
            entry[2].update(callers)
    used: dict[str, frozenset[tuple[str, str]]] = {}
    budget = files
    while budget > 0:
        # The nearest file whose callers have a witness it was not run
        # with: a middle function's witness made first where a level
        # below reads it, the nearest ones while the budget lasts.
        ready: list[tuple[int, str, frozenset[tuple[str, str]]]] = []
        for r, (depth, _, middle) in where.items():
            now = frozenset((a, st) for a in middle for st in have.get(a, {}))
            if now - used.get(r, frozenset()):
                ready.append((depth, r, now))
        if not ready:
            break
        _, r, now = min(ready)
        used[r] = now
        budget -= 1
        incoming = {a: have[a] for a in sorted({a for a, _ in now})}
        fa = analyse(r, incoming)
        if fa is None:
            continue
        for b, by in file_chains(fa, incoming, where[r][1], unchecked).items():
            for st, w in by.items():
                have.setdefault(b, {}).setdefault(st, w)
    return {b: mine for b, sts in asked.items()
            if (mine := {st: s for st, s in have.get(b, {}).items() if st in sts})}


def tree_chains(per_file: Iterable[tuple[Path, str]], every: Mapping[str, Mapping[str, Summary]],
                asked: Mapping[str, frozenset[str]], root: Path, config: LintConfig,
                tree: TreeText) -> Witnesses:
    """resolve() over a whole tree's first passes: ``per_file``, each
    file's path and name in the run; ``every``: the witnesses they
    exported, per name and state (the first, in the run's order);
    ``tree``: how the run reads the tree's text (irqcalls.py hands its own
    in, which imports this module)."""
    from xenpatch.lint.irqsafe import CODE

    _defined_once, _mentions, absolute = tree.defined_once, tree.mentions, tree.absolute
    if CODE not in config.enabled or not asked:
        return {}
    shown = {absolute(p): d for p, d in per_file}
    by_name = {d: p for p, d in shown.items()}

    def users(names: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(names)
        got = _mentions(root, wanted, wanted)
        return {n: sorted(shown[p] for p, how in where.items()
                          if how == "use" and p.suffix == ".c" and p in shown)
                for n, where in got.items()}

    def text(r: str) -> bytes | None:
        try:
            return by_name[r].read_bytes()
        except (KeyError, OSError):
            return None

    def known(names: Iterable[str]) -> Witnesses:
        # A call reaches the one definition the tree has (as settle()
        # takes a direct witness).
        have = {n for n in names if n in every}
        return {n: dict(every[n]) for n in sorted(_defined_once(root, have))} if have else {}

    def analyse(r: str, incoming: Mapping[str, Mapping[str, Summary]]) -> FileAnalysis | None:
        from xenpatch.analysis.irqentry import WITNESS

        ext = {f"{WITNESS}{n}|{st}": s for n, by in incoming.items() for st, s in by.items()}
        return analysis_of(by_name[r], r, config, ext)

    return resolve(asked, known, users, text, analyse, config.irqsafe_unchecked)


def analysis_of(path: Path, rel: str, config: object, external: Mapping[str, Summary]
                ) -> FileAnalysis | None:
    """The C file's analysis, as its first pass would make it, with the
    ``external`` facts (the witnesses of its functions)."""
    from xenpatch.analysis.headers import header_index
    from xenpatch.c.source import SourceError
    from xenpatch.lint.filelint import _parse

    implementation = getattr(config, "implementation", ())
    if any(rel == p or rel.endswith("/" + p) for p in implementation):
        return None  # the lock API's own code
    try:
        raw = path.read_bytes()
        src = _parse(rel, raw, config, path)  # type: ignore[arg-type]
    except (OSError, SourceError):
        return None
    return FileAnalysis(config, src, header_index(path), dict(external))  # type: ignore[arg-type]


__all__ = ["FILES", "HOPS", "Witnesses", "analysis_of", "callers_in", "file_chains", "resolve",
           "tree_chains"]

"""For a run on a few files of a tree (the pre-commit hook's): what a
whole-tree run gives a file's XL017 in a caller's context beyond its
direct callers (upcallers.py) -- the state a caller's caller gives it
through other files' functions leaving IRQs as they found them
(witnesschain.py), and the tree's IRQ-safe takes of a struct field's
lock the file takes plainly in such a context (irqwitness.SAFE, which a
whole-tree run's merge() gives).

The chain: for a function the file asks about with IRQs on too
(irqentry.ON_TOO) and no direct caller gives a state, the tree's files
naming it (their text) are the middle files, their non-static functions
naming it the middle functions; those functions' own callers in other
files are found as upcallers.py finds a file's (their text names the
IRQ API, or defines a hypercall's handler), and given a first pass.
Bounded as witnesschain.resolve() is, and by callerroots.MOST_CALLERS first
passes and middle files.

The IRQ-safe takes: asked only where a context with IRQs on is given (a
take with IRQs on needs one to be against the lock's convention); the
files naming the field's path and the identity's type (lazyfield.py's
scan) are linted, those whose text takes the path in an _irq form first,
biggest first, until one takes it so (its own take, a ``LOCK`` record):
one is enough, it makes the lock IRQ-safe in every build it is in.  None
found among ``lazyfield.BOUND`` candidates: no record, no finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.irqentry import STATES, WITNESS
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import lazyfield, nameindex, witnesschain
from xenpatch.lint.callerroots import MOST_CALLERS, enters_on, read_or_none
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.irqwitness import ASK, IRQ, LOCK, SAFE, witnesses_of

if TYPE_CHECKING:
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.treecache import TreeCache
    from xenpatch.lint.upcallers import FirstPass, _Side


def chained(cache: TreeCache, side: _Side, rel: str, state: str,
            facts: Mapping[str, Summary], on: Iterable[str], config: LintConfig,
            first_pass: FirstPass, display_of: Callable[[Path], str]) -> dict[str, Summary]:
    """The WITNESS facts witnesschain.resolve() gives the ``on`` names
    (asked with IRQs on too) in the states ``facts`` (the direct callers')
    leave out."""

    asked = {n: missing for n in sorted(on)
             if (missing := frozenset(s for s in STATES if f"{WITNESS}{n}|{s}" not in facts))}
    if not asked:
        return {}
    root = cache.root
    texts: dict[str, bytes | None] = {}

    def text(r: str) -> bytes | None:
        if r not in texts:
            texts[r] = read_or_none(root / r)
        return texts[r]

    def raw_of(r: str) -> bytes:
        return text(r) or b""

    def defines(r: str, name: str) -> bool:
        return any(d.name == name for d in nameindex.definitions(raw_of(r)))

    def users(names: Iterable[str]) -> dict[str, list[str]]:
        found = side.mentions(root, state, list(names))
        return {n: [r for r in rs if r != rel and r.endswith(".c") and not defines(r, n)]
                for n, rs in found.items()}

    passes = [0]

    def known(names: Iterable[str]) -> witnesschain.Witnesses:
        from xenpatch.lint.irqcalls import _defined_once

        # A call reaches the one definition the tree has (as settle() takes
        # a direct witness).
        wanted = set(names)
        if not wanted:
            return {}
        found = side.mentions(root, state, sorted(_defined_once(root, wanted)))
        out: witnesschain.Witnesses = {}
        for n in sorted(found):
            # A whole-tree run's order: biggest first (the first witness
            # of a name is the one named).
            for r in sorted(found[n], key=lambda r: (-_size(root / r), r)):
                if r == rel or not r.endswith(".c") or defines(r, n):
                    continue
                if not (side.can_state(cache, r, False, raw_of, config)
                        or enters_on(r, raw_of, config, root)):
                    continue
                if passes[0] >= MOST_CALLERS:
                    return out  # cut: fewer witnesses, never a wrong one
                passes[0] += 1
                ex = side.first(r, raw_of(r), display_of(root / r), root / r, first_pass)
                for st in STATES:
                    s = ex.get(f"{WITNESS}{n}|{st}")
                    if s is not None:
                        out.setdefault(n, {}).setdefault(st, s)
        return out

    def analyse(r: str, incoming: Mapping[str, Mapping[str, Summary]]) -> FileAnalysis | None:
        ext = {f"{WITNESS}{n}|{st}": s for n, by in incoming.items() for st, s in by.items()}
        return witnesschain.analysis_of(root / r, display_of(root / r), config, ext)

    got = witnesschain.resolve(asked, known, users, text, analyse, config.irqsafe_unchecked,
                               files=MOST_CALLERS)
    return {f"{WITNESS}{n}|{st}": s for n, by in got.items() for st, s in by.items()}


def safe_takes(cache: TreeCache, side: _Side, rel: str, own: Mapping[str, Summary],
               first_pass: FirstPass, display_of: Callable[[Path], str]) -> dict[str, Summary]:
    """irqwitness.SAFE for the field locks the file asks about (its
    ``ASK`` keys): the first file of the scan taking one in an _irq form
    (module doc)."""

    idents = sorted(k[len(ASK):] for k in own if k.startswith(ASK))
    if not idents:
        return {}
    root = cache.root
    sources = sorted(r for r in cache.hashes if r.endswith(".c") and r != rel)
    headers = sorted(r for r in cache.hashes if r.endswith(".h"))
    out: dict[str, Summary] = {}
    for ident in idents:
        pat = lazyfield.path_pattern(ident)
        if pat is None:
            continue
        typed = lazyfield.type_pattern(ident)
        macros, inlines = lazyfield._header_names(headers, root, pat, typed, read_or_none)
        own_text = lazyfield._any(pat, macros)
        via_inline = lazyfield._any(None, inlines)
        irq_text = re.compile(rb"_irq\w*\s*\([^;]*?" + pat.pattern)
        cands = []
        for r in sources:
            raw = read_or_none(root / r)
            if raw is None:
                continue
            if (own_text is not None and own_text.search(raw)
                    and (typed is None or typed.search(raw))) or \
                    (via_inline is not None and via_inline.search(raw)):
                cands.append((irq_text.search(raw) is None, -len(raw), r, raw))
        cands.sort(key=lambda c: c[:3])
        for _, _, r, raw in cands[:lazyfield.BOUND]:
            ex = side.first(r, raw, display_of(root / r), root / r, first_pass)
            s = ex.get(f"{LOCK}{ident}|{IRQ}")
            ws = witnesses_of(s) if s is not None else []
            if ws:
                out[SAFE + ident] = Summary(s.effects[:1], None)  # type: ignore[union-attr]
                break
    return out


__all__ = ["chained", "safe_takes"]

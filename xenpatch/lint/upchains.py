"""For a run on a few files of a tree (the pre-commit hook's): what a
whole-tree run gives a file's XL017 against another file's IRQ-safe take
of a struct field's lock -- that take (irqwitness.SAFE, merge()'s answer
to the file's ``ASK``), and the state a caller's caller gives the file's
function through other files' functions that leave IRQs as they found
them (witnesschain.py).

io_apic_set_pci_routing() takes desc->lock plainly after restoring the
flags saved with another lock, so with IRQs as its caller had them;
mpparse.c's mp_register_gsi() calls it without moving IRQs, and the
PHYSDEVOP hypercall calls that with IRQs on; irq.c takes desc->lock with
spin_lock_irqsave().  Two files up, one file aside: neither is a direct
caller upcallers.py reads.

Cost decides the order.  Following the chains reads and analyses other
files (Xen 4.17's grant_table.c took 5.1 s cold when every run followed
them), and a chain's state is against nothing unless the lock is taken
IRQ-safe somewhere.  So the IRQ-safe takes are searched first, in the
tree's text: the files naming the field's path and the identity's type
(lazyfield.py's scan) whose text could take it in an _irq form -- their
own text, or a header macro or inline whose body does.  Most locks have
none, and nothing is linted.  Those that could are linted in a whole-tree
run's order (biggest first), until a take is found that every build of
the file meets: the one a whole-tree run names.  Only when some lock has
such a take are the chains followed, as witnesschain.resolve() follows
them in a whole-tree run, bounded by callerroots.MOST_CALLERS first
passes and middle files, and only for the names whose entry decides a
take of such a lock (the first pass says which: irqwitness.ASK_BY).  A
search stopping at a bound is one finding fewer, never a wrong one.
Both answers are kept per tree state: they read other files only, so an
edit of the linted file reads them back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.irqentry import STATES, WITNESS
from xenpatch.analysis.locktable import Summary
from xenpatch.c.texts import read_or_none
from xenpatch.lint import lazyfield, nameindex, witnesschain
from xenpatch.lint.callerroots import MOST_CALLERS, CallerSide, FirstPass, enters_on
from xenpatch.lint.irqrecords import Witness, witnesses_of
from xenpatch.lint.irqwitness import (
    ASK,
    ASK_BY,
    IRQ,
    LOCK,
    SAFE,
    safe_takes,
)
from xenpatch.lint.treecache import summary_in, summary_out
from xenpatch.lint.treeexports import architecture

if TYPE_CHECKING:
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.treecache import TreeCache


class _Texts:
    """The tree's files read once per run (every lock's scan reads them)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.got: dict[str, bytes | None] = {}
        self.irq: dict[str, list[bytes]] = {}

    def __call__(self, rel: str) -> bytes | None:
        if rel not in self.got:
            self.got[rel] = read_or_none(self.root / rel)
        return self.got[rel]

    def at(self, path: Path) -> bytes | None:
        return self(path.relative_to(self.root).as_posix())

    def irq_args(self, rel: str) -> list[bytes]:
        """The text after each ``..._irq...(`` of the file, to the next
        ``;``: where an _irq take names its lock (found once per file, for
        every lock asked)."""
        got = self.irq.get(rel)
        if got is None:
            got = self.irq[rel] = _irq_args(self(rel) or b"")
        return got


def irq_safe_takes(cache: TreeCache, side: CallerSide, rel: str, own: Mapping[str, Summary],
                   first_pass: FirstPass, display_of: Callable[[Path], str],
                   texts: _Texts | None = None) -> dict[str, Summary]:
    """irqwitness.SAFE for the field locks the file asks about (its ``ASK``
    keys), as merge() gives them in a whole-tree run (module doc)."""
    idents = sorted(k[len(ASK):] for k in own if k.startswith(ASK))
    if not idents:
        return {}
    root = cache.root
    text = texts or _Texts(root)
    sources = sorted(r for r in cache.hashes if r.endswith(".c") and r != rel)
    headers = sorted(r for r in cache.hashes if r.endswith(".h"))
    home = architecture(rel)
    found: dict[tuple[str, str], list[Witness]] = {}
    for ident in idents:
        pat = lazyfield.path_pattern(ident)
        if pat is None:
            continue  # no field chain to search the text for: none found
        typed = lazyfield.type_pattern(ident)
        last = _PART_NAME.findall(ident.partition("#")[2])[-1].encode()
        # The header macros and inlines whose bodies take the path _irq.
        irq_macros: set[str] = set()
        irq_inlines: set[str] = set()
        for h in headers:
            raw = text(h)
            if raw is not None and _irq_take(text.irq_args(h), pat, last):
                macros, inlines = lazyfield._header_names(
                    [h], root, _irq_pattern(pat), typed, text.at)
                irq_macros |= macros
                irq_inlines |= inlines
        via_macro = _Mention(irq_macros)
        via_inline = _Mention(irq_inlines)
        word = _type_word(ident)
        cands: list[tuple[int, str, str, bytes]] = []
        for r in sources:
            raw = text(r)
            if raw is None:
                continue
            # A take in its own text or through a macro names the variable's
            # declared type (the identity's), as lazyfield.py's scan reads
            # one: its own take's variable declared so; an inline's take is
            # in the inline's terms.
            if via_inline(raw) or (typed is None and (
                    _irq_take(text.irq_args(r), pat, last) or via_macro(raw))) or (
                    typed is not None and word in raw and (
                        _typed_take(raw, text.irq_args(r), pat, last, typed)
                        or (via_macro(raw) and typed.search(raw) is not None))):
                cands.append((-len(raw), display_of(root / r), r, raw))
        # A whole-tree run's order (biggest first, then by name): its first
        # IRQ-safe take is the one its reports name.
        cands.sort(key=lambda c: c[:2])
        got: list[Witness] = []
        for _, shown, r, raw in cands[:lazyfield.BOUND]:
            s = side.first(r, raw, shown, root / r, first_pass).get(f"{LOCK}{ident}|{IRQ}")
            ws = witnesses_of(s) if s is not None else []
            got.extend(ws)
            # A take in common code, or in the file's own architecture, is
            # met by every build of the file: none after it comes first.
            if any(architecture(w.file) in (None, home) for w in ws):
                break
        if got:
            found[(ident, IRQ)] = got
    return safe_takes(found, idents)


_PART_NAME = re.compile(r"(?:->|\.)\s*([A-Za-z_]\w*)")
_IRQ_CALL = re.compile(rb"_irq\w*\s*\(")


class _Mention:
    """Does a text name one of a few words: a literal search first (a
    regular expression starting at a word boundary is tried at every byte
    of every file)."""

    def __init__(self, names: set[str]) -> None:
        self.words = [n.encode() for n in sorted(names)]
        self.pat = lazyfield._any(None, names)

    def __call__(self, raw: bytes) -> bool:
        return self.pat is not None and any(w in raw for w in self.words) and \
            self.pat.search(raw) is not None


def _type_word(ident: str) -> bytes:
    """The identity's type's last word (``irq_desc`` of ``structirq_desc``),
    which any text naming the type holds."""
    t = ident.partition("#")[0]
    for kw in ("struct", "union", "enum"):
        if t.startswith(kw) and len(t) > len(kw):
            return t[len(kw):].encode()
    return t.encode()


def _irq_pattern(pat: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """A take of the path in an _irq form, as one regular expression."""
    return re.compile(rb"_irq\w*\s*\([^;]*?" + pat.pattern)


def _irq_args(raw: bytes) -> list[bytes]:
    """_Texts.irq_args() of a text.  Literal searches first: a regular
    expression tried at every byte of the tree's 1,300 files, per lock,
    was seconds of a cold hook run."""
    out: list[bytes] = []
    i = raw.find(b"_irq")
    while i >= 0:
        m = _IRQ_CALL.match(raw, i)
        if m is not None:
            end = raw.find(b";", m.end())
            out.append(raw[m.end():end if end >= 0 else len(raw)])
        i = raw.find(b"_irq", i + 4)
    return out


_ROOT = re.compile(rb"([A-Za-z_]\w*)\s*$")


def _typed_take(raw: bytes, args: list[bytes], pat: re.Pattern[bytes], last: bytes,
                typed: re.Pattern[bytes]) -> bool:
    """Does the text take the path in an _irq form through a variable it
    declares with the identity's type (``struct irq_desc *desc``, then
    ``spin_lock_irqsave(&desc->lock, ...)``)?  The identity is the
    variable's declared type: a take through another type's variable is
    another lock, and its file need not be linted to know."""
    for a in args:
        if last not in a:
            continue
        for m in pat.finditer(a):
            root = _ROOT.search(a, 0, m.start())
            if root is None:
                continue
            decl = re.compile(rb"(?:" + typed.pattern + rb")[\s*]*(?:const\b[\s*]*)?"
                              + re.escape(root.group(1)) + rb"\b")
            if decl.search(raw):
                return True
    return False


def _irq_take(args: list[bytes], pat: re.Pattern[bytes], last: bytes) -> bool:
    """Does one of the _irq calls' arguments (``args``) name the path
    (``pat``, ending in the word ``last``): ``spin_lock_irqsave(&desc->lock,
    ...)``."""
    return any(last in a and pat.search(a) is not None for a in args)


def chained(cache: TreeCache, side: CallerSide, rel: str, state: str,
            facts: Mapping[str, Summary], on: Iterable[str], config: LintConfig,
            first_pass: FirstPass, display_of: Callable[[Path], str],
            texts: _Texts | None = None) -> dict[str, Summary]:
    """The WITNESS facts witnesschain.resolve() gives the ``on`` names
    (asked with IRQs on too) in the states ``facts`` (the direct callers')
    leave out."""
    asked = {n: missing for n in sorted(on)
             if (missing := frozenset(s for s in STATES if f"{WITNESS}{n}|{s}" not in facts))}
    if not asked:
        return {}
    return _kept(side, ["chains", state, rel, display_of(cache.root),
                        sorted((n, sorted(m)) for n, m in asked.items())],
                 lambda: _chained(cache, side, rel, state, asked, config, first_pass,
                                  display_of, texts))


# The searches' answers kept per tree (the oldest dropped first).
_KEPT = 64


def _kept(side: CallerSide, what: list[object],
          make: Callable[[], dict[str, Summary]]) -> dict[str, Summary]:
    """``make()``'s answer, kept in ``side`` under ``what``: the tree's
    state but the linted file's (whose text is in neither search), the
    file, how the run shows the tree's files (the witnesses name them) and
    what was asked."""
    key = hashlib.sha256(json.dumps(what).encode()).hexdigest()
    got = side.searches.get(key)
    if got is not None:
        return {k: summary_in(v) for k, v in got.items()}
    made = make()
    while len(side.searches) >= _KEPT:
        del side.searches[next(iter(side.searches))]
    side.searches[key] = {k: summary_out(v) for k, v in sorted(made.items())}
    side.dirty = True
    return made


def _chained(cache: TreeCache, side: CallerSide, rel: str, state: str,
             asked: Mapping[str, frozenset[str]], config: LintConfig, first_pass: FirstPass,
             display_of: Callable[[Path], str], texts: _Texts | None) -> dict[str, Summary]:
    root = cache.root
    text = texts or _Texts(root)

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
            for r in sorted(found[n], key=lambda r: (-len(raw_of(r)), display_of(root / r))):
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


def against_safe(cache: TreeCache, side: CallerSide, rel: str, state: str,
                 own: Mapping[str, Summary], facts: Mapping[str, Summary],
                 on: Iterable[str], config: LintConfig, first_pass: FirstPass,
                 display_of: Callable[[Path], str]) -> dict[str, Summary]:
    """The IRQ-safe takes the file's field locks stand against, and only
    where there is one, the chained states of the ``on`` names (module
    doc: the cheap search first)."""
    texts = _Texts(cache.root)
    asks = sorted(k for k in own if k.startswith(ASK))
    safe = _kept(side, ["safe", state, rel, display_of(cache.root), asks],
                 lambda: irq_safe_takes(cache, side, rel, own, first_pass, display_of, texts))
    if not safe:
        return {}
    # Only the names whose entry decides a take of such a lock: irq.c asks
    # of 27 names, of which few take desc->lock.
    locks = {k[len(SAFE):] for k in safe}
    names = {n for k in own if k.startswith(ASK_BY)
             for ident, _, n in [k[len(ASK_BY):].rpartition("|")] if ident in locks}
    return {**safe, **chained(cache, side, rel, state, facts, sorted(set(on) & names), config,
                              first_pass, display_of, texts)}


__all__ = ["against_safe", "chained", "irq_safe_takes"]

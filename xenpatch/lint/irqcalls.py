"""The IRQ state other files call a function in, settled over the tree.

A file's first pass exports, per function it calls but does not define,
the IRQ state its calls agree on, when every mention of the name in its
code is such a call (irqentry.call_states(), "%irq:->()NAME").  That says
nothing of the files that mention the name without saying so: a header's
inline or macro, an assembly caller, a file that takes its address or calls
it where the state is unknown.  So before any file reads one, every
mention of the name in the tree is accounted for here: each is in a file
that exported the same state, in the one C file defining the function, or
in a header's prototype.  Anything else (a second definition, a mention in
a directive, an inline body, a struct, a .S file, a C file that exported
nothing for it) drops the name: its entry stays unknown.

What remains lets the defining file take these callers' word for a
non-static function (irqentry.entry_states()), as it does its own callers'
for a static one.  The check reads the text of the tree once per run, for
the few names exported with a known state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from xenpatch.analysis import fnptrs
from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.irqentry import CALL_KEY, summary_state
from xenpatch.analysis.locktable import Summary
from xenpatch.c.source import directives
from xenpatch.lint import nameindex

# Where a caller may hide: what the build compiles or includes.
_SUFFIXES = (".c", ".h", ".S", ".s", ".inc")
_IDENT = re.compile(rb"[A-Za-z_]\w*")
_DIRECTIVE = re.compile(rb"#(?:\\\r?\n|[^\n])*")


def settle(per_file: Sequence[tuple[Path, Mapping[str, Summary]]]) -> dict[str, Summary]:
    """The "%irq:->()NAME" facts the tree stands by: those the files that
    export one agree on, kept only where every mention of NAME in the tree
    is accounted for (module doc).  ``per_file``: each linted file's path
    and own exports (run.tree_exports() leaves these facts out)."""
    wanted: dict[str, Summary] = {}
    said: dict[str, set[Path]] = {}
    clash: set[str] = set()
    for p, ex in per_file:
        for k, s in ex.items():
            if not k.startswith(CALL_KEY):
                continue
            n = k[len(CALL_KEY):]
            if summary_state(s) not in ("on", "off") or wanted.setdefault(n, s) != s:
                clash.add(n)
            said.setdefault(n, set()).add(p.resolve())
    for n in clash:
        wanted.pop(n, None)
    if not wanted:
        return {}
    roots = {find_xen_root(p.resolve()) for p, _ in per_file}
    root = roots.pop() if len(roots) == 1 else None
    if root is None:
        return {}
    return {CALL_KEY + n: wanted[n] for n in accounted(root, wanted.keys(), said)}


def accounted(root: Path, names: Iterable[str], said: Mapping[str, set[Path]]) -> set[str]:
    """The ``names`` whose every mention under ``root`` is in a file of
    ``said[name]``, in the one C file defining it, or a header's prototype."""
    ok = set(names)
    definers: dict[str, list[Path]] = {}
    for path in sorted(_sources(root)):
        if not ok:
            break
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        if not any(n.encode() in raw for n in ok):
            continue
        code = fnptrs.code_only(raw)
        here = {m.decode() for m in _IDENT.findall(code)} & ok
        if not here:
            continue
        p = path.resolve()
        defined = {d.name for d in nameindex.definitions(code)} if path.suffix == ".c" \
            else set()
        for n in here:
            if p in said.get(n, ()):
                continue
            if n in defined:
                definers.setdefault(n, []).append(p)
            elif path.suffix != ".h" or not prototypes_only(code, n):
                ok.discard(n)
    # A function defined twice (one per architecture, or under #ifdef):
    # which one a call reaches is the build's.
    return {n for n in ok if len(definers.get(n, ())) == 1}


def defines_any(raw: bytes, names: frozenset[str]) -> bool:
    """Does the text define (not static) one of ``names``?"""
    if not names or not any(n.encode() in raw for n in names):
        return False
    return any(not d.static and d.name in names for d in nameindex.definitions(raw))


def _sources(root: Path) -> Iterable[Path]:
    for suffix in _SUFFIXES:
        yield from root.rglob("*" + suffix)


def prototypes_only(code: bytes, name: str) -> bool:
    """Is every mention of ``name`` in a header's code (comments and
    literals blank) a declaration at file scope: ``... name(...)`` up to a
    ``;``, no body, not in a directive (a macro may call it)?"""
    for m in directives(_DIRECTIVE, code):
        if re.search(rb"\b" + re.escape(name.encode()) + rb"\b", m.group(0)):
            return False
    pat = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
    for m in pat.finditer(code):
        if code.count(b"{", 0, m.start()) != code.count(b"}", 0, m.start()):
            return False  # in an inline's body, a struct, an initialiser
        rest = code[m.end():]
        if not rest.lstrip().startswith(b"("):
            return False
        semi, brace = rest.find(b";"), rest.find(b"{")
        if semi < 0 or (0 <= brace < semi):
            return False
    return True


__all__ = ["accounted", "defines_any", "prototypes_only", "settle"]

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
for a static one.

The calls through a struct field are merged over the tree as each file's
first pass saw them ("%irq:->FIELD"), the calling file's own word
included, said before its functions' entries were known.  For a file that
calls through a field itself, what the OTHER files' calls agree on is
settled here the same way ("%irq:->FIELD|FILE", FILE its path under
xen/; "-": no other file names the field), which its second pass reads instead.

A single call is a fact too, whatever the other callers do: a file's
first call with IRQs known off of a function another file defines
("%irq:->()@NAME|off", irqentry.call_witnesses()) is the context
lint/irqcontext.py checks NAME in, for a file asking for it (a function
whose own callers disagree).  No mention needs accounting for, only the
definition: NAME must be defined with external linkage by one C file of
the tree (one per architecture: which one a call reaches is the build's).

The check reads the text of the tree once per run, for the few names
exported with a known state or a field a file could not state alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.irqentry import (
    CALL_KEY,
    FIELD_KEY,
    LOCKS_KEY,
    ON_TOO,
    STATED,
    STATES,
    WANT,
    WITNESS,
    field_summary,
    meet,
    summary_state,
)
from xenpatch.analysis.locktable import Summary
from xenpatch.c.patterns import LINE_REST
from xenpatch.c.source import directives
from xenpatch.lint import entrysettle, nameindex
from xenpatch.lint.inputs import tree_sources
from xenpatch.lint.treescan import TreeScan

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig

# Where a caller may hide: what the build compiles or includes.
_DIRECTIVE = re.compile(rb"#" + LINE_REST)
# What bytes.lstrip() strips, then "(".
_OPEN_PAREN = re.compile(rb"[ \t\n\r\x0b\x0c]*\(")


def settle(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]],
           defined: Mapping[Path, frozenset[str]] | None = None,
           config: LintConfig | None = None,
           scan: TreeScan | None = None) -> dict[str, Summary]:
    """The tree-level facts: the IRQ states (_settle_irq()) and, from
    lint/entrysettle.py, the locks other files' calls of a function, or
    through a field, hold.  ``config``: the run's, for the states carried
    through other files' functions (witnesschain.py; None: none); ``scan``:
    the tree's text, read once for all the run's settles (treescan.py;
    None: read here)."""
    if scan is None:
        scan = TreeScan.of_run(per_file)
    out = _settle_irq(per_file, defined, config, scan)
    out.update(entrysettle.settle(per_file, scan))
    return out


def _settle_irq(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]],
                defined: Mapping[Path, frozenset[str]] | None = None,
                config: LintConfig | None = None,
                scan: TreeScan | None = None) -> dict[str, Summary]:
    """The tree-level IRQ facts that stand once every mention in the tree
    is accounted for (module doc).  ``per_file``: each linted file's path,
    name in the run (FileResult.path) and own exports (treeexports.tree_exports()
    leaves the call facts out).  ``defined``: the external functions of
    some C files (by absolute path, nameindex.external_names() of the text
    on disk), which need not be read again for them.  ``scan``: the
    tree's text as the run read it (treescan.py), if of this tree."""
    calls: dict[str, Summary] = {}
    said: dict[str, set[Path]] = {}
    clash: set[str] = set()
    fields: dict[str, dict[Path, tuple[str, str]]] = {}
    # What the files would read: their functions' entries, their own views
    # of fields (irqentry.WANT); only those are settled.
    wants: set[str] = set()
    field_wants: dict[str, set[Path]] = {}
    # One call per state from other files, for the functions whose callers
    # differ (irqentry.WITNESS: irqcontext.py reads them).
    witness_wants: set[str] = set()
    on_wants: set[str] = set()  # the names asked with ON_TOO
    witnesses: dict[str, dict[str, Summary]] = {}
    for p, display, ex in per_file:
        rp = absolute(p)
        for k, s in ex.items():
            if k.startswith(LOCKS_KEY):
                continue  # irqwitness.merge()'s
            st = summary_state(s)
            if k.startswith(WITNESS):
                rest = k[len(WITNESS):]
                if st == WANT:
                    name, _, on = rest.partition("|")
                    (on_wants if "|" + on == ON_TOO else witness_wants).add(name)
                else:
                    name, _, state = rest.partition("|")
                    witnesses.setdefault(name, {}).setdefault(state, s)
                continue
            if k.startswith(CALL_KEY):
                n = k[len(CALL_KEY):]
                if st == WANT:
                    wants.add(n)
                    continue
                if st not in STATED or calls.setdefault(n, s) != s:
                    clash.add(n)
                said.setdefault(n, set()).add(rp)
            elif k.startswith(FIELD_KEY):
                name, sep, _ = k[len(FIELD_KEY):].partition("|")
                if sep:
                    if st == WANT:
                        field_wants.setdefault(name, set()).add(rp)
                else:
                    fields.setdefault(name, {})[rp] = (display, st)
    calls = {n: s for n, s in calls.items() if n in wants and n not in clash}
    # A field worth settling: one a file stores a function in whose entry
    # matters, and calls through in a state it could not state alone.
    unsure = {f: by for f, by in fields.items() if f in field_wants}
    every = witnesses
    witnesses = {n: got for n, w in witnesses.items()
                 if (got := {st: s for st, s in w.items()
                             if (n in witness_wants and st != "on") or n in on_wants})}
    # XL017's asks no file's own call answers: a state carried through
    # other files' functions (witnesschain.py).
    chain = {n: missing for n in on_wants
             if (missing := frozenset(STATES) - set(witnesses.get(n, {})))} \
        if config is not None else {}
    if not calls and not unsure and not witnesses and not chain:
        return {}
    root = find_xen_root(absolute(per_file[0][0]))
    if root is None or any(not absolute(p).is_relative_to(root) for p, _, _ in per_file):
        return {}
    if scan is None or scan.root != root:
        scan = TreeScan(root)
    if chain:
        from xenpatch.lint.witnesschain import TreeText, tree_chains

        assert config is not None
        tree = TreeText(partial(_defined_once, scan=scan), partial(_mentions, scan=scan),
                        absolute)
        for n, chained in tree_chains([(p, d) for p, d, _ in per_file], every, chain, root,
                                      config, tree).items():
            witnesses.setdefault(n, {}).update(chained)
    out: dict[str, Summary] = {}
    if witnesses:
        # A call reaches the one definition the tree has; with one per
        # architecture, which one is the build's.
        once = _defined_once(root, set(witnesses), defined or {}, scan)
        out.update({f"{WITNESS}{n}|{st}": s for n in sorted(once)
                    for st, s in witnesses[n].items()})
    if not calls and not unsure:
        return out
    stated = {n: said.get(n, set()) for n in calls}
    stated.update({f: set(by) for f, by in unsure.items() if f not in stated})
    mentions = _mentions(root, set(calls) | set(unsure), set(calls),
                         stated if not set(calls) & set(unsure) else None, scan)
    out.update({CALL_KEY + n: calls[n] for n in _accounted(calls, said, mentions)})
    for f, by in unsure.items():
        where = mentions.get(f, {})
        for x in by:
            if x not in field_wants[f] or not x.is_relative_to(root):
                continue
            others = [p for p in where if p != x]
            if any(p not in by for p in others):
                continue  # a mention that is no call stated: a caller unknown
            agreed = meet(by[p][1] for p in others) if others else "-"
            if agreed is not None:
                out[f"{FIELD_KEY}{f}|{x.relative_to(root).as_posix()}"] = \
                    field_summary(agreed)
    return out


def absolute(p: Path) -> Path:
    """The path made absolute, links kept: the tree's walk names files so
    (resolving every path cost more than the rest of the check)."""
    return Path(os.path.abspath(p))



def _mentions(root: Path, names: set[str], functions: set[str] | None = None,
              stated: Mapping[str, set[Path]] | None = None,
              scan: TreeScan | None = None) -> dict[str, dict[Path, str]]:
    """Per name, the files of the tree whose code mentions it, with how:
    "def" (a C file defining it; asked of ``functions`` only, default all),
    "proto" (a header declaring it only), "use" (anything else).  With
    ``stated`` (per name, the files whose mentions are accounted for), a
    name another file uses is dropped at once and looked for no further:
    nothing can settle it any more (a field named "init" is in most files).
    ``scan``: the tree as the run read it (treescan.py; default: read now)."""
    fns = names if functions is None else functions
    scan = scan if scan is not None else TreeScan(root)
    out: dict[str, dict[Path, str]] = {}
    live = set(names)
    hits = scan.naming(n.encode() for n in names)
    for i in sorted(hits):
        if not live:
            break
        here = {w.decode() for w in hits[i]} & live
        if not here:
            continue
        path = scan.paths[i]
        code = scan.code(i)
        p = absolute(path)
        defined = {d.name for d in scan.definitions(i)} \
            if path.suffix == ".c" and not here.isdisjoint(fns) else set()
        for n in here:
            how = "def" if n in defined else \
                "proto" if path.suffix == ".h" and prototypes_only(
                    code, n, scan.memo(("directives", i), partial(_directive_text, code))) \
                else "use"
            out.setdefault(n, {})[p] = how
            if how == "use" and stated is not None and p not in stated.get(n, ()):
                live.discard(n)
    return out


def _accounted(calls: Mapping[str, Summary], said: Mapping[str, set[Path]],
               mentions: Mapping[str, Mapping[Path, str]]) -> set[str]:
    """The called names whose every mention is in a file that stated it,
    in the one C file defining it, or in a header's prototype."""
    ok = set()
    for n in calls:
        where = mentions.get(n, {})
        mine = said.get(n, set())
        defs = [p for p, how in where.items() if how == "def" and p not in mine]
        # A function defined twice (one per architecture, or under #ifdef):
        # which one a call reaches is the build's.
        if len(defs) == 1 and all(how != "use" or p in mine for p, how in where.items()):
            ok.add(n)
    return ok


def _defined_once(root: Path, names: set[str],
                  defined: Mapping[Path, frozenset[str]] | None = None,
                  scan: TreeScan | None = None) -> set[str]:
    """The ``names`` that exactly one C file of the tree defines with
    external linkage.  ``defined``: what some files define so (a file
    defining none of ``names`` is not read).  ``scan``: the tree as the
    run read it (treescan.py; default: each file read now)."""
    count: dict[str, int] = {}
    # A definition's declarator starts its line (nameindex.definitions()
    # asks the same): a file where no line does so is not parsed for it.
    head = re.compile(rb"(?m)^(?:[A-Za-z_][^\n;(]*?\b)?(?:" +
                      b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\s*\(")
    if scan is not None:
        scan.naming(())  # read
        paths: Iterable[Path] = scan.paths
    else:
        paths = tree_sources(root)
    for i, path in enumerate(paths):
        if path.suffix != ".c":
            continue
        known = defined.get(path) if defined else None
        if known is not None and known.isdisjoint(names):
            continue
        if scan is not None:
            raw = scan.raw(i)
            if raw is None:
                continue
        else:
            try:
                raw = path.read_bytes()
            except OSError:
                continue
        if head.search(raw) is None:
            continue
        # The raw text, as the name index reads every file of a tree.
        defs = scan.raw_definitions(i) if scan is not None else nameindex.definitions(raw)
        for d in defs:
            if d.name in names and not d.static:
                count[d.name] = count.get(d.name, 0) + 1
    return {n for n, c in count.items() if c == 1}


def defines_any(raw: bytes, names: frozenset[str]) -> bool:
    """Does the text define (not static) one of ``names``?"""
    if not names or not any(n.encode() in raw for n in names):
        return False
    return any(not d.static and d.name in names for d in nameindex.definitions(raw))



def prototypes_only(code: bytes, name: str, directive_text: bytes | None = None) -> bool:
    """Is every mention of ``name`` in a header's code (comments and
    literals blank) a declaration at file scope: ``... name(...)`` up to a
    ``;``, no body, not in a directive (a macro may call it)?
    ``directive_text``: _directive_text(code), if worked out before (a
    header is asked about many names)."""
    word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
    if directive_text is None:
        directive_text = _directive_text(code)
    if word.search(directive_text):
        return False
    # The braces before each mention, counted on from the one before.
    depth, at = 0, 0
    for m in word.finditer(code):
        start = m.start()
        depth += code.count(b"{", at, start) - code.count(b"}", at, start)
        at = start
        if depth:
            return False  # in an inline's body, a struct, an initialiser
        if _OPEN_PAREN.match(code, m.end()) is None:
            return False
        semi, brace = code.find(b";", m.end()), code.find(b"{", m.end())
        if semi < 0 or 0 <= brace < semi:
            return False
    return True


def prototype_mentions(code: bytes, name: str) -> int:
    """How many mentions of ``name`` in a header's code (comments and
    literals blank) are declarations at file scope, as prototypes_only()
    reads one: ``... name(...)`` up to a ``;``, no body, at brace depth 0,
    outside a directive (a macro may call it)."""
    word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
    spans = [(m.start(), m.end()) for m in directives(_DIRECTIVE, code)]
    depth, at, found = 0, 0, 0
    for m in word.finditer(code):
        start = m.start()
        depth += code.count(b"{", at, start) - code.count(b"}", at, start)
        at = start
        if depth or any(a <= start < b for a, b in spans) or \
                _OPEN_PAREN.match(code, m.end()) is None:
            continue
        semi, brace = code.find(b";", m.end()), code.find(b"{", m.end())
        if semi >= 0 and not 0 <= brace < semi:
            found += 1
    return found


def _directive_text(code: bytes) -> bytes:
    """The code's directives, one a line (a word of one is a word here)."""
    return b"\n".join(m.group(0) for m in directives(_DIRECTIVE, code))


__all__ = ["defines_any", "prototype_mentions", "prototypes_only", "settle"]

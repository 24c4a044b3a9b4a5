"""XL010 where the first take is the callers': a lock every caller holds
(analysis/lockentry.py), taken again inside the function.

Within a file, the callers are its own (static functions: any file may
call one that is not).  A function stored in a struct field is also
called through that field from other files; what those calls hold is a
whole-tree fact, settled here over the files' first passes:

- each file exports, per field it calls through, the global locks held at
  every such call (``HELD_KEY + "->" + FIELD``), when each of its mentions
  of the field is a call found in an analysed function, a store or a test;
- a file storing a static function whose lock takes could deadlock in a
  field asks for it (``HELD_KEY + "?->" + FIELD``);
- settle() accounts for every mention of the field's name in the tree's
  other files: each in a file that exported the field, or a store, a
  struct member's declaration, a member of it (``x.f.y``), a function's
  prototype or definition of that name.  Any other mention (a macro, a
  copy, a call it could not state) leaves the field unknown.  What the
  calls agree on goes to the asking file (``HELD_KEY + "->" + FIELD + "|" +
  FILE``; no effect: no other file calls through it).

A lock key is carried across files only when neither file declares its
name static at file scope (a static of that name in each is two objects).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import find_xen_root
from xenpatch.analysis.irqentry import CALL_KEY, entry_matters, stores_any
from xenpatch.analysis.irqentry import _direct_calls as direct_calls
from xenpatch.analysis.lockentry import (
    Flows,
    HeldSet,
    Hold,
    always_taken,
    contexts,
    entry_holds,
    global_root,
    meet,
    self_takes,
)
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.source import directives, identifier_set
from xenpatch.lint.checks import CHECKS, RawFinding

# Under irqentry.CALL_KEY on purpose: every filter keeping the whole-tree
# call facts out of the functions' summaries covers these too.
HELD_KEY = CALL_KEY + "="
# What a file asks: HELD_KEY + "?->" + FIELD, HELD_KEY + "?()" + FUNCTION.
WANT_KEY = HELD_KEY + "?"
FIELD = HELD_KEY + "->"
# What its direct calls of another file's function hold.
CALLS = HELD_KEY + "()"
_SUFFIXES = (".c", ".h", ".S", ".s", ".inc")

Run = Callable[[FunctionUnit], "Result | None"]


def _summary(held: HeldSet) -> Summary:
    return Summary(tuple(Effect("held", h.kind, h.mode, h.flavour, k, None, "\n".join(h.where))
                         for k, h in sorted(held.items())), None)


def _held(s: Summary) -> dict[str, Hold]:
    return {e.key: Hold(e.kind, e.mode, e.flavour, tuple(w for w in e.via.split("\n") if w))
            for e in s.effects if e.action == "held"}


_WANT = Summary((Effect("want", "spin", "", "plain", "", None, ""),), None)


def file_statics(code: bytes) -> frozenset[str]:
    """Names the text (comments and strings blank) declares ``static``
    outside any function (``static spinlock_t l;``, ``static struct {...}
    s;``, ``static DEFINE_SPINLOCK(l);``): a lock of that name is the file's
    own."""
    out: set[str] = set()
    for m in re.finditer(rb"\bstatic\s+DEFINE_\w+\s*\(\s*([A-Za-z_]\w*)", code):
        out.add(m.group(1).decode())
    depth, i, n = 0, 0, len(code)
    start: int | None = None  # where a file-scope "static" statement began
    words: list[tuple[bytes, int]] = []  # its depth-0 words, with their end
    paren = 0
    init = False
    while i < n:
        c = code[i:i + 1]
        if c == b"{":
            if depth == 0 and code[:i].rstrip().endswith(b")"):
                start, words = None, []  # a function's body: no declarator follows
            depth += 1
        elif c == b"}":
            depth -= 1
        elif c == b"(" and depth == 0:
            paren += 1
        elif c == b")" and depth == 0:
            paren -= 1
        elif c == b";" and depth == 0 and paren == 0:
            if start is not None:
                for w, end in words:
                    if re.match(rb"\s*(?:\[[^\]]*\]\s*)*[;=,]", code[end:end + 80]):
                        out.add(w.decode())
            start, words, init = None, [], False
        elif c == b"=" and depth == 0 and paren == 0:
            init = True  # an initialiser's words name no declarator
        elif c == b"," and depth == 0 and paren == 0:
            init = False
        elif depth == 0 and paren == 0 and (c.isalpha() or c == b"_"):
            m = re.compile(rb"[A-Za-z_]\w*").match(code, i)
            assert m is not None
            if m.group(0) == b"static" and start is None:
                start, words = i, []
            elif start is not None and not init:
                words.append((m.group(0), m.end()))
            i = m.end()
            continue
        i += 1
    return frozenset(out)


def _shared(held: HeldSet, statics: frozenset[str]) -> dict[str, Hold]:
    return {k: h for k, h in held.items() if global_root(k) not in statics}


# ---------------------------------------------------------------- one file

def _field_word_ok(src_text: Callable[[Node], str], n: Node) -> bool:
    """Is this mention of a field's name (a field_identifier) a call
    through it, a store, a test or a member of it?"""
    fe = n.parent
    if fe is None:
        return False
    if fe.type in ("field_designator", "field_declaration", "function_declarator"):
        return True
    if fe.type != "field_expression":
        return False
    p = fnptrs.up(fe)
    if p is None:
        return False
    if p.type == "call_expression":
        fn = p.child_by_field_name("function")
        return fn is not None and fnptrs.strip(fn) == fe
    if p.type == "field_expression" and p.child_by_field_name("argument") == fe:
        return True  # x.f.y: f is no function pointer
    if p.type == "assignment_expression" and p.child_by_field_name("left") == fe:
        return True
    return p.type in ("if_statement", "while_statement", "condition_clause") or (
        p.type == "unary_expression" and bool(p.children) and p.children[0].type == "!") or (
        p.type == "binary_expression" and p.children[1].type in ("==", "!=", "&&", "||"))


def _ident_ok(n: Node) -> bool:
    """A plain identifier of a field's name: a function's declarator, or a
    direct call not inside another call's arguments (a macro there may
    call through the field it names)."""
    p = fnptrs.up(n)
    if p is None:
        return False
    if p.type == "function_declarator" and p.child_by_field_name("declarator") == n:
        return True
    if p.type != "call_expression":
        return False
    fn = p.child_by_field_name("function")
    if fn is None or fnptrs.strip(fn) != n:
        return False
    q = p.parent
    while q is not None and q.type != "function_definition":
        if q.type == "argument_list":
            return False
        q = q.parent
    return True


def field_exports(fa: FileAnalysis, flows: Flows,
                  entry: Mapping[str, HeldSet], code: bytes) -> dict[str, Summary]:
    """Per field the file calls through, the global locks held at every call
    (not the file's own statics), when every mention of the field's name in
    the file is accounted for (module doc)."""
    fields = {m.group(1).decode() for m in re.finditer(
        rb"(?:->|\.)\s*([A-Za-z_]\w*)\s*\)?\s*\(", code)}
    if not fields:
        return {}
    src = fa.src
    by_start = {f.node.start_byte: f for f in fa.order}
    statics: frozenset[str] | None = None
    out: dict[str, Summary] = {}
    for fld in sorted(fields):
        sets: list[HeldSet] = []
        ok = True
        for m in re.finditer(rb"\b" + re.escape(fld.encode()) + rb"\b", code):
            n = src.root.descendant_for_byte_range(m.start(), m.end())
            if n is None or n.start_byte != m.start() or n.end_byte != m.end():
                ok = False
                break
            if n.type == "identifier":
                if not _ident_ok(n):
                    ok = False
                    break
                continue
            if n.type != "field_identifier" or not _field_word_ok(src.text, n):
                ok = False
                break
            fe = n.parent
            call = fnptrs.up(fe) if fe is not None and fe.type == "field_expression" else None
            if call is None or call.type != "call_expression":
                continue
            fn: Node | None = call
            while fn is not None and fn.type != "function_definition":
                fn = fn.parent
            g = by_start.get(fn.start_byte) if fn is not None else None
            if g is None:
                ok = False
                break
            s = flows.held(g, call, entry.get(g.name, {}), "", (),
                           f"'{g.name}' ({src.path}:{src.line_of(call.start_byte)})")
            if s is not None:
                sets.append(s)
        if not ok or not sets:
            continue
        held = meet(sets)
        if held:
            statics = file_statics(code) if statics is None else statics
            held = _shared(held, statics)
        if held:
            out[FIELD + fld] = _summary(held)
    return out


def call_exports(fa: FileAnalysis, flows: Flows, entry: Mapping[str, HeldSet],
                 code: bytes) -> dict[str, Summary]:
    """Per function of another file this file calls, the global locks held
    at every call (not the file's own statics), when each mention of its
    name in the file is such a call, in a function holding something."""
    mine = set(fa.fns)
    found: dict[str, list[HeldSet]] = {}
    for g in fa.order:
        e = entry.get(g.name, {})
        if g not in flows.analysed and not e:
            continue  # no lock of its own, none on entry: holds none
        if g.info is None or g.node is None:
            continue
        for call, n in direct_calls(g, code, mine):
            s = flows.held(g, call, e, n, (),
                           f"'{g.name}' ({fa.src.path}:{fa.src.line_of(call.start_byte)})")
            if s is not None:
                found.setdefault(n, []).append(s)
    out: dict[str, Summary] = {}
    statics: frozenset[str] | None = None
    for n, sets in sorted(found.items()):
        held = meet(sets)
        if not held:
            continue
        # Every mention a call counted here: another (a call in a function
        # holding nothing, an address taken, a macro) is a caller unstated.
        if len(re.findall(rb"\b" + re.escape(n.encode()) + rb"\b", code)) != len(sets):
            continue
        statics = file_statics(code) if statics is None else statics
        held = _shared(held, statics)
        if held:
            out[CALLS + n] = _summary(held)
    return out


def _wants(fa: FileAnalysis, flows: Flows, refs: fnptrs.FnRefs) -> dict[str, Summary]:
    """The fields this file stores a static function in, and its functions
    other files may call, that reach (through its direct calls) a function
    taking a global lock on every path: what the other files' calls hold
    is worth settling for those only."""
    takers = {f.name for f in flows.analysed if always_taken(f)}
    if not takers:
        return {}
    by_node = {f.node.start_byte: f for f in fa.order}
    matters = entry_matters(takers, refs, by_node)
    statics = {f.name for f in fa.order if f.is_static}
    out = {WANT_KEY + "->" + fld: _WANT for fld, names in refs.stored.items()
           if names & matters & statics}
    # A function other files may call: their direct calls, and the fields
    # it is stored in whatever its linkage.
    for f in fa.order:
        if f.name in matters and not f.is_static and f.name not in refs.escapes:
            out[WANT_KEY + "()" + f.name] = _WANT
            out.update({WANT_KEY + "->" + fld: _WANT for fld in refs.fields_of(f.name)})
    return out


def settled_fields(external: Mapping[str, Summary], me: str,
                   prefix: str = FIELD) -> dict[str, HeldSet | None]:
    """Field (or, with ``prefix`` CALLS, function) -> what the other files'
    calls through it (of it) hold (None: no other file calls it), as
    settle() said for the file at ``me``."""
    out: dict[str, HeldSet | None] = {}
    if not me:
        return out
    for k, s in external.items():
        if k.startswith(prefix) and "|" in k:
            name, _, who = k[len(prefix):].partition("|")
            if who == me:
                out[name] = _held(s) if s.effects else None
    return out


def check(fa: FileAnalysis, done: Sequence[tuple[FunctionUnit, Result]], refs: fnptrs.FnRefs,
          run: Run, enabled: Iterable[str], exports: bool
          ) -> tuple[list[tuple[FunctionUnit, Result, RawFinding]], dict[str, Summary]]:
    """XL010 in the file's functions for the locks their callers hold on
    entry (and one direct caller's context), with, for a first pass over a
    tree (``exports``), what this file's calls through fields hold and the
    fields it asks the tree about."""
    if "XL010" not in set(enabled) and not exports:
        return [], {}
    flows = Flows(done, run)
    if not flows.analysed:
        return [], {}
    by_node = {f.node.start_byte: f for f in fa.order}
    # Every function of the file: one with no lock of its own (a wrapper
    # stored in a field) passes its callers' holds on.
    units = [f for f in fa.order if f.node is not None]
    code = fnptrs.code_only(fa.src.raw)
    settled = settled_fields(fa.external, fa.tree_path)
    called = settled_fields(fa.external, fa.tree_path, CALLS)
    statics = file_statics(code) if settled or called else frozenset()
    fields = {k: (None if v is None else _shared(v, statics)) for k, v in settled.items()}
    calls = {k: (None if v is None else _shared(v, statics)) for k, v in called.items()}
    entry = entry_holds(units, refs, by_node, flows, fields, calls)
    ctx = contexts(units, refs, by_node, flows, entry)
    out: dict[str, Summary] = {}
    if exports:
        out.update(field_exports(fa, flows, entry, code))
        out.update(call_exports(fa, flows, entry, code))
        out.update(_wants(fa, flows, refs))
    found: list[tuple[FunctionUnit, Result, RawFinding]] = []
    if "XL010" not in set(enabled):
        return found, out
    own = {f.name for f in fa.order}
    for f in units:
        every, one = entry.get(f.name, {}), ctx.get(f.name, {})
        if not every and not one:
            continue
        fl = flows.get(f)
        if fl is None:
            continue
        for take, h in self_takes(fl, {**one, **every}, own):
            who = "every caller" if take.key in every else "a caller"
            sites = ", ".join(h.where[:3]) + (", ..." if len(h.where) > 3 else "")
            msg = CHECKS["XL010"].message.format(key=take.key, via=take.via,
                                                 acq_line="entry")
            msg = msg.replace("already held since line entry",
                              f"already held on entry by {who} ({sites})")
            note = (take.line, take.col, f"'{take.key}' held by {who}: {sites}")
            found.append((f, fl.res, RawFinding("XL010", take.node, take.state, take.line,
                                                take.col, take.key, msg, notes=(note,))))
    return found, out


# --------------------------------------------------------------- the tree

def _sources(root: Path) -> Iterable[Path]:
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(_SUFFIXES):
                yield Path(d, n)


def _mention_ok(code: bytes, start: int, end: int) -> bool:
    """A mention, in a file that said nothing of the field, that no call
    through it can hide in: a store, a member's declaration, a member of
    it, a prototype or definition of a function of that name."""
    before = code[max(0, start - 200):start]
    after = code[end:end + 200]
    line_start = code.rfind(b"\n", 0, start) + 1
    if re.search(rb"(?:->|\.)\s*$", before):
        return re.match(rb"\s*(?:=(?!=)|\.|->)", after) is not None
    if re.search(rb"\(\s*\*\s*$", before) and re.match(rb"\s*\)\s*\(", after):
        return True
    if re.match(rb"\s*\(", after) and re.fullmatch(
            rb"\s*(?:(?:static|extern|inline|const|unsigned|signed|struct)\s+)*"
            rb"[A-Za-z_]\w*[\s*]+", code[line_start:start]):
        depth = code.count(b"{", 0, start) - code.count(b"}", 0, start)
        return depth == 0
    return False


def _words(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]]
           ) -> tuple[dict[str, set[Path]], dict[str, dict[Path, HeldSet]]]:
    """(field -> the files asking about it, field -> file -> what its calls
    through it hold), by absolute path."""
    wants: dict[str, set[Path]] = {}
    said: dict[str, dict[Path, HeldSet]] = {}
    for p, _, ex in per_file:
        rp = Path(os.path.abspath(p))
        for k, s in ex.items():
            if k.startswith(WANT_KEY):
                wants.setdefault(k[len(WANT_KEY):], set()).add(rp)
            elif k.startswith((FIELD, CALLS)) and "|" not in k:
                said.setdefault(k[len(HELD_KEY):], {})[rp] = _held(s)
    return wants, said


def _word_ok(code: bytes, name: str, header: bool) -> bool:
    """Is every mention of the asked ``name`` ("->FIELD" or "()FUNCTION")
    in a file that said nothing of it harmless: for a field, _all_ok(); for
    a function, a header's prototype."""
    if name.startswith("->"):
        return _all_ok(code, name[2:].encode())
    from xenpatch.lint.irqcalls import prototypes_only  # it settles through this module

    return header and prototypes_only(code, name[2:])


def mentions_ok(raw: bytes, name: str, header: bool = False) -> bool:
    """Is every mention of the asked ``name`` ("->FIELD", "()FUNCTION") in
    the text (of a header?) one no call can hide in (_word_ok())?"""
    return _word_ok(fnptrs.code_only(raw), name, header)


_DIRECTIVE = re.compile(rb"#(?:\\\r?\n|[^\n])*")


def _all_ok(code: bytes, w: bytes) -> bool:
    word = re.compile(rb"\b" + re.escape(w) + rb"\b")
    for d in directives(_DIRECTIVE, code):
        if word.search(d.group(0)):
            return False  # a macro's body may call through it
    return all(_mention_ok(code, m.start(), m.end()) for m in word.finditer(code))


def _decide(x: Path, said: Mapping[Path, HeldSet]) -> Summary | None:
    """What the other files' calls through a field hold, for the file ``x``,
    every mention being accounted for (no effect: none calls through it)."""
    sets = [s for p, s in said.items() if p != x]
    if not sets:
        return Summary((), None)
    held = meet(sets)
    return _summary(held) if held else None


def settle(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]]) -> dict[str, Summary]:
    """The fields the files asked about (WANT_KEY), each with what every
    other file's calls through it hold, where every mention in the tree
    is accounted for (module doc)."""
    wants, said = _words(per_file)
    if not wants:
        return {}
    root = find_xen_root(Path(os.path.abspath(per_file[0][0])))
    if root is None:
        return {}
    # Per field, the files whose mentions are unaccounted for.
    bad: dict[str, set[Path]] = {f: set() for f in wants}
    words = {f[2:].encode(): [n for n in wants if n[2:] == f[2:]] for f in wants}
    for path in sorted(_sources(root)):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        # A substring search per name costs more than splitting the text
        # into words once past a few dozen names (irqcalls._mentions()).
        if len(words) > 24:
            if not any(w in words for w in identifier_set(raw)):
                continue
        elif not any(w in raw for w in words):
            continue
        code = fnptrs.code_only(raw)
        ids = identifier_set(code)
        rp = Path(os.path.abspath(path))
        for w in ids & words.keys():
            names = words[w]
            for name in names:
                if rp not in said.get(name, {}) and \
                        not _word_ok(code, name, path.suffix == ".h"):
                    bad[name].add(rp)
    out: dict[str, Summary] = {}
    for name, askers in sorted(wants.items()):
        for x in sorted(askers):
            if not x.is_relative_to(root) or bad[name] - {x}:
                continue
            rel = x.relative_to(root).as_posix()
            got = _decide(x, said.get(name, {}))
            if got is not None:
                out[f"{HELD_KEY}{name}|{rel}"] = got
    return out


def asked(exports: Mapping[str, Summary]) -> frozenset[str]:
    """The fields ("->FIELD") and functions ("()NAME") a first pass asks
    the tree about."""
    return frozenset(k[len(WANT_KEY):] for k in exports if k.startswith(WANT_KEY))


def caller_fields(path: Path, rel: str, own: Mapping[str, Summary],
                  mentions: Mapping[str, Sequence[str]], root: Path,
                  read: Callable[[str], bytes | None],
                  first: Callable[[str, bytes], Mapping[str, Summary]],
                  most: int) -> dict[str, Summary]:
    """For a run on a few files (the hook's: lint/upcallers.py), settle()'s
    answer for the fields the file at ``path`` (``rel`` under ``root``)
    asks about: ``mentions``, per field, the files of the tree naming it
    (relative); ``read(r)``, a file's text; ``first(r, text)``, its first
    pass's exports.  A file whose mentions are all of the harmless kinds
    needs no pass; a C file whose are not gets one (at most ``most`` in
    all); any other file, or more, leaves the field unknown."""
    out: dict[str, Summary] = {}
    x = Path(os.path.abspath(path))
    budget = most
    for fld in sorted(asked(own)):
        # The files needing a pass, found before any is run: past the
        # budget, the field is left unknown at no more cost.
        need: list[tuple[str, bytes]] = []
        ok = True
        for r in mentions.get(fld[2:], ()):
            if r == rel:
                continue
            raw = read(r)
            if raw is not None and mentions_ok(raw, fld, r.endswith(".h")):
                continue
            if raw is None or not r.endswith(".c"):
                ok = False
                break
            need.append((r, raw))
        if not ok or len(need) > budget:
            continue
        budget -= len(need)
        said: dict[Path, HeldSet] = {}
        for r, raw in need:
            s = first(r, raw).get(HELD_KEY + fld)
            if s is None:
                ok = False  # a mention its first pass could not state
                break
            said[Path(os.path.abspath(root / r))] = _held(s)
        if ok:
            got = _decide(x, said)
            if got is not None:
                out[f"{HELD_KEY}{fld}|{rel}"] = got
    return out


_SETTLED: dict[int, tuple[Mapping[str, Summary], frozenset[str]]] = {}


def stores_settled(summaries: Mapping[str, Summary], text: bytes) -> bool:
    """Does the text store into a field, or define a function, the tree
    settled for some file (a second pass may find in it what the first
    could not)?"""
    got = _SETTLED.get(id(summaries))
    if got is None or got[0] is not summaries:
        names = frozenset(k[len(HELD_KEY):].partition("|")[0] for k in summaries
                          if k.startswith((FIELD, CALLS)) and "|" in k)
        _SETTLED.clear()
        _SETTLED[id(summaries)] = got = (summaries, names)
    from xenpatch.lint.irqcalls import defines_any  # it settles through this module

    fields = [n[2:] for n in got[1] if n.startswith("->")]
    fns = frozenset(n[2:] for n in got[1] if n.startswith("()"))
    return stores_any(text, fields) or defines_any(text, fns)


__all__ = ["FIELD", "HELD_KEY", "asked", "caller_fields", "check", "file_statics",
           "mentions_ok", "settle", "settled_fields", "stores_settled"]

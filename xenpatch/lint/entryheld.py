"""XL010 where the first take is the callers': a lock every caller holds
(analysis/lockentry.py), taken again inside the function.

Within a file, the callers are its own (a function that is not static may
be called by any file).  Other files' calls -- through a struct field the
function is stored in, or direct calls of one that is not static -- are a
whole-tree fact, settled over the files' first passes (lint/entrysettle.py):

- each file exports, per field it calls through and per function of
  another file it calls, the global locks held at every such call
  (``HELD_KEY + "->" + FIELD``, ``HELD_KEY + "()" + NAME``), when each of
  its mentions of the name is such a call in an analysed function (for a
  field, or a store or a test);
- a file storing or defining a function that reaches a lock taken on every
  path asks for its field or name (``HELD_KEY + "?->" + FIELD``,
  ``HELD_KEY + "?()" + NAME``), and reads back what settle() gives it.

A lock key is carried across files only when neither file declares its
name static at file scope (a static of that name in each is two objects).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.extmemo import of_mapping
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqentry import LOCKS_KEY, direct_calls, entry_matters
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
from xenpatch.c import fields as fid
from xenpatch.c.patterns import whole_word
from xenpatch.c.source import word_runs
from xenpatch.lint.checks import CHECKS, RawFinding, held_on_entry

# Under irqentry.LOCKS_KEY (itself under CALL_KEY and FIELD_KEY) on
# purpose: every filter keeping the whole-tree facts out of the functions'
# summaries covers these too, and irqcalls' IRQ settle passes them by.
HELD_KEY = LOCKS_KEY + "held:"
# What a file asks: HELD_KEY + "?->" + FIELD, HELD_KEY + "?()" + FUNCTION.
WANT_KEY = HELD_KEY + "?"
FIELD = HELD_KEY + "->"
# What its direct calls of another file's function hold.
CALLS = HELD_KEY + "()"

Run = Callable[[FunctionUnit], "Result | None"]

_TOKEN = re.compile(rb"[{}();=,]|[A-Za-z_]\w*")


def _before(code: bytes, i: int) -> bytes:
    """The last byte before ``i`` that is not a blank."""
    j = i - 1
    while j >= 0 and code[j] in b" \t\r\n\f\v":
        j -= 1
    return code[j:j + 1]


def summary_of(held: HeldSet) -> Summary:
    return Summary(tuple(Effect("held", h.kind, h.mode, h.flavour, k, None, "\n".join(h.where))
                         for k, h in sorted(held.items())), None)


def held_of(s: Summary) -> dict[str, Hold]:
    return {e.key: Hold(e.kind, e.mode, e.flavour, tuple(w for w in e.via.split("\n") if w))
            for e in s.effects if e.action == "held"}


# A file's ask; "own": it calls the name itself (so "no other file calls
# it" is a fact worth having: its own calls then decide).
_WANT = Summary((Effect("want", "spin", "", "plain", "", None, ""),), None)
_WANT_OWN = Summary((Effect("want", "spin", "", "plain", "", None, "own"),), None)


def asks_own(s: Summary) -> bool:
    return any(e.action == "want" and e.via == "own" for e in s.effects)


def file_statics(code: bytes) -> frozenset[str]:
    """Names the text (comments and strings blank) declares ``static``
    outside any function (``static spinlock_t l;``, ``static struct {...}
    s;``, ``static DEFINE_SPINLOCK(l);``): a lock of that name is the file's
    own."""
    out: set[str] = set()
    for m in re.finditer(rb"\bstatic\s+DEFINE_\w+\s*\(\s*([A-Za-z_]\w*)", code):
        out.add(m.group(1).decode())
    depth = 0
    start: int | None = None  # where a file-scope "static" statement began
    words: list[tuple[bytes, int]] = []  # its depth-0 words, with their end
    paren = 0
    init = False
    # Only these tokens matter; every other byte is passed over.
    for t in _TOKEN.finditer(code):
        c = t.group(0)
        i = t.start()
        if c == b"{":
            if depth == 0 and _before(code, i) == b")":
                start, words = None, []  # a function's body: no declarator follows
            depth += 1
        elif c == b"}":
            depth -= 1
        elif depth != 0:
            continue
        elif c == b"(":
            paren += 1
        elif c == b")":
            paren -= 1
        elif paren != 0:
            continue
        elif c == b";":
            if start is not None:
                for w, end in words:
                    if re.match(rb"\s*(?:\[[^\]]*\]\s*)*[;=,]", code[end:end + 80]):
                        out.add(w.decode())
            start, words, init = None, [], False
        elif c == b"=":
            init = True  # an initialiser's words name no declarator
        elif c == b",":
            init = False
        elif c == b"static" and start is None:
            start, words = i, []
        elif start is not None and not init:
            words.append((c, t.end()))
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
        fn = p.child_by_field_id(fid.FUNCTION)
        return fn is not None and fnptrs.strip(fn) == fe
    if p.type == "field_expression" and p.child_by_field_id(fid.ARGUMENT) == fe:
        return True  # x.f.y: f is no function pointer
    if p.type == "assignment_expression" and p.child_by_field_id(fid.LEFT) == fe:
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
    if p.type == "function_declarator" and p.child_by_field_id(fid.DECLARATOR) == n:
        return True
    if p.type != "call_expression":
        return False
    fn = p.child_by_field_id(fid.FUNCTION)
    if fn is None or fnptrs.strip(fn) != n:
        return False
    q = p.parent
    while q is not None and q.type != "function_definition":
        if q.type == "argument_list":
            return False
        q = q.parent
    return True


def field_exports(fa: FileAnalysis, flows: Flows, entry: Mapping[str, HeldSet], code: bytes,
                  statics: Callable[[], frozenset[str]]) -> dict[str, Summary]:
    """Per field the file calls through, the global locks held at every call
    (not the file's own statics: ``statics()``, file_statics() of ``code``),
    when every mention of the field's name in the file is accounted for
    (module doc)."""
    fields = {m.group(1).decode() for m in re.finditer(
        rb"(?:->|\.)\s*([A-Za-z_]\w*)\s*\)?\s*\(", code)}
    if not fields:
        return {}
    src = fa.src
    by_start = {f.node.start_byte: f for f in fa.order}
    out: dict[str, Summary] = {}
    for fld in sorted(fields):
        sets: list[HeldSet] = []
        ok = True
        for m in whole_word(fld.encode()).finditer(code):
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
            held = _shared(held, statics())
        if held:
            out[FIELD + fld] = summary_of(held)
    return out


def call_exports(fa: FileAnalysis, flows: Flows, entry: Mapping[str, HeldSet], code: bytes,
                 statics: Callable[[], frozenset[str]]) -> dict[str, Summary]:
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
    mentions = _mentions(code, found) if found else {}
    for n, sets in sorted(found.items()):
        held = meet(sets)
        if not held:
            continue
        # Every mention a call counted here: another (a call in a function
        # holding nothing, an address taken, a macro) is a caller unstated.
        if mentions.get(n, 0) != len(sets):
            continue
        held = _shared(held, statics())
        if held:
            out[CALLS + n] = summary_of(held)
    return out


def _mentions(code: bytes, names: Iterable[str]) -> dict[str, int]:
    r"""How often each of ``names`` (C identifiers) is a whole word of
    ``code``: ``len(re.findall(rb"\bNAME\b", code))``, for all of them in
    one pass (a whole word of the text is a maximal run of word bytes)."""
    wanted = {n.encode() for n in names}
    counts: dict[str, int] = {}
    for w in word_runs(code):
        if w in wanted:
            k = w.decode()
            counts[k] = counts.get(k, 0) + 1
    return counts


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
    def field(fld: str) -> Summary:
        return _WANT_OWN if refs.field_calls.get(fld) else _WANT

    out = {WANT_KEY + "->" + fld: field(fld) for fld, names in refs.stored.items()
           if names & matters & statics}
    # A function other files may call: their direct calls, and the fields
    # it is stored in whatever its linkage.
    for f in fa.order:
        if f.name in matters and not f.is_static and f.name not in refs.escapes:
            out[WANT_KEY + "()" + f.name] = _WANT_OWN if refs.direct.get(f.name) else _WANT
            out.update({WANT_KEY + "->" + fld: field(fld) for fld in refs.fields_of(f.name)})
    return out


def settled_fields(external: Mapping[str, Summary], me: str,
                   prefix: str = FIELD) -> dict[str, HeldSet | None]:
    """Field (or, with ``prefix`` CALLS, function) -> what the other files'
    calls through it (of it) hold (None: no other file calls it), as
    settle() said for the file at ``me``."""
    if not me:
        return {}
    return dict(of_mapping(external, ("settled fields", prefix),
                           lambda: _settled_per_file(external, prefix)).get(me, {}))


def _settled_per_file(external: Mapping[str, Summary], prefix: str
                      ) -> dict[str, dict[str, HeldSet | None]]:
    """settled_fields() of every file, from one scan of ``external``."""
    out: dict[str, dict[str, HeldSet | None]] = {}
    for k, s in external.items():
        if k.startswith(prefix) and "|" in k:
            name, _, who = k[len(prefix):].partition("|")
            if who:
                out.setdefault(who, {})[name] = held_of(s) if s.effects else None
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
    # The file's statics, worked out once if a step needs them.
    statics = functools.cache(lambda: file_statics(code))
    fields = {k: (None if v is None else _shared(v, statics())) for k, v in settled.items()}
    calls = {k: (None if v is None else _shared(v, statics())) for k, v in called.items()}
    entry = entry_holds(units, refs, by_node, flows, fields, calls)
    ctx = contexts(units, refs, by_node, flows, entry)
    out: dict[str, Summary] = {}
    if exports:
        out.update(field_exports(fa, flows, entry, code, statics))
        out.update(call_exports(fa, flows, entry, code, statics))
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
            # The message's own words, as XL010's template words the rest.
            if take.key in every:
                why = f"every caller holds it ({_sites(h.where)})"
            else:
                why = f"called from {h.where[0]}"
                if h.where[1:]:
                    why += f", which holds it from {_sites(h.where[1:])}"
            msg = held_on_entry(
                CHECKS["XL010"].message.format(key=take.key, via=take.via, acq_line=0), why)
            note = (take.line, take.col, f"'{take.key}' held on entry: {why}")
            found.append((f, fl.res, RawFinding("XL010", take.node, take.state, take.line,
                                                take.col, take.key, msg, notes=(note,))))
    return found, out


def _sites(where: Sequence[str]) -> str:
    return ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")


__all__ = ["CALLS", "FIELD", "HELD_KEY", "WANT_KEY", "asks_own", "call_exports", "check",
           "field_exports", "file_statics", "held_of", "settled_fields", "summary_of"]

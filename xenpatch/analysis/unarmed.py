"""Functions entered while Xen's check_lock() checks nothing.

check_lock() latches a lock's IRQ safety only while the counter spin_debug
is positive: not at boot before __start_xen() arms it with
spin_debug_enable(), nor after spin_debug_disable() (S3 suspend, shutdown,
stop_machine) until it is armed again.  A take where the check is off
latches nothing, and is neither a finding of XL017 nor another take's
witness (irqtakes.unchecked_nodes() leaves such nodes out).

What is proved here, under one assumption: the counter moves only by
direct calls of the rules' ``unchecked`` (disable) and ``enables`` APIs,
each made where it keeps the counter balanced -- an enable runs with the
counter at most zero (it arms the check, or balances a disable before
it); no function leaves the check armed for its caller other than by such
a call in its own body.  Then:

- An *arming* function calls an enable that every way on from its entry
  passes: the paths missing it neither return nor join the code after
  it (they end in a panic or a halt), it is in no loop, and no disable
  of its own can precede it: it is entered with the check off.  Its
  nodes no enable call may precede are unchecked (``unarmed``).
- A call site in a function g is unchecked when a disable of g may
  precede it and no enable of g may (an enable after the disable is
  followed here, unlike irqtakes.unchecked_nodes()), or when no enable of
  g may precede it and g is arming or itself entered unchecked.
- A function is entered unchecked when every mention of its name is such
  a call, and there is one at least (a function nothing calls is entered
  from outside: a hypercall, an entry from assembly): not stored in a
  field, not passed as a pointer, not named by a macro (other than its
  own #define alternative), not handed to an API calling it back.  Over
  one file that is a condition (``Need``): the file's non-static
  functions whose every caller in the other files must be unchecked too,
  or ``NEVER``.  A whole-tree run settles those conditions over every
  mention in the tree (lint/unarmedsettle.py); a name it does not settle
  keeps its takes checked (one finding more, never a guess).

A header inline's calls (smpboot_setup_io_apic() calling setup_IO_APIC())
are its callers' business: the whole-tree settlement reads its body.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.irqentry import calls_in_body, cfg_nodes, node_of
from xenpatch.analysis.irqtakes import call_nodes, calls_reach
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.patterns import LINE_REST, whole_word
from xenpatch.c.source import directives
from xenpatch.graphs import reachable

# A condition: the file's non-static functions whose callers outside the
# file must all be unchecked; None: never unchecked.
Need = frozenset[str] | None
NEVER: Need = None
_NOTHING: frozenset[str] = frozenset()
_DIRECTIVE = re.compile(rb"#" + LINE_REST)


def union(a: Need, b: Need) -> Need:
    return None if a is None or b is None else a | b


@dataclass
class Apis:
    """The calls that disarm and arm check_lock() (rules/lint.toml
    [irqsafe] ``unchecked``/``enables``), with per-function memos."""

    disables: frozenset[str]
    enables: frozenset[str]
    # Makes a unit's CFG where it has none yet (FileAnalysis.prepare()).
    prepare: Callable[[FunctionUnit], None] = lambda _: None
    _after: dict[FunctionUnit, tuple[set[int], set[int]]] = field(default_factory=dict)
    _arming: dict[FunctionUnit, bool] = field(default_factory=dict)
    _named: dict[tuple[FunctionUnit, frozenset[str]], bool] = field(default_factory=dict)

    def after(self, g: FunctionUnit) -> tuple[set[int], set[int]]:
        """(the nodes a disable of g may precede, those an enable may)."""
        got = self._after.get(g)
        if got is None:
            self.cfg(g)
            got = self._after[g] = (calls_reach(g, self.disables), calls_reach(g, self.enables))
        return got

    def cfg(self, g: FunctionUnit) -> Cfg | None:
        if g.cfg is None:
            self.prepare(g)
        return g.cfg

    def arming(self, g: FunctionUnit) -> bool:
        """Does g arm the check: an enable every way on from its entry
        passes, no disable of its own before it (module doc)?"""
        got = self._arming.get(g)
        if got is None:
            got = self._arming[g] = self._arms(g)
        return got

    def _arms(self, g: FunctionUnit) -> bool:
        if not self.enables or not self._names(g, self.enables) or self.cfg(g) is None:
            return False
        disabled, _ = self.after(g)
        cfg = g.cfg
        assert cfg is not None
        ends = (Kind.RETURN, Kind.EXIT)
        for e in call_nodes(g, self.enables):
            if e in disabled:
                continue  # a disable of g's may come first: it balances that one
            # Every way on passes it: the paths from the entry that miss it
            # neither return nor join the code after it (they end in a
            # panic or a halt, as __start_xen()'s early failures do).
            miss = reachable([cfg.entry], _stopping_at(cfg, e))
            after = reachable(cfg.nodes[e].succ, lambda i: cfg.nodes[i].succ)
            if e not in after and not any(cfg.nodes[i].kind in ends for i in miss) \
                    and not (miss & after):
                return True
        return False

    def _names(self, g: FunctionUnit, names: frozenset[str]) -> bool:
        """Does g's text name one of ``names`` (the APIs: asked per call
        site, worked out once per function and set)?"""
        key = (g, names)
        got = self._named.get(key)
        if got is None:
            text = g.src.raw[g.node.start_byte:g.node.end_byte]
            got = self._named[key] = any(n.encode() in text for n in names)
        return got

    def site(self, g: FunctionUnit, node: Callable[[], int | None]) -> Need:
        """A call at the CFG node ``node()`` of g: unchecked at once
        (empty), never, or as g's entry ("\0" + g's name: closure()
        resolves it).  The CFG is read only where g names one of the APIs."""
        if not self._names(g, self.disables | self.enables):
            return frozenset({"\0" + g.name})
        if self.cfg(g) is None:
            return NEVER
        at = node()
        if at is None:
            return NEVER
        disabled, enabled = self.after(g)
        if at in enabled:
            return NEVER
        if at in disabled or self.arming(g):
            return _NOTHING
        return frozenset({"\0" + g.name})

    def unarmed(self, g: FunctionUnit) -> frozenset[int]:
        """g's nodes no enable of g may precede: unchecked if g is entered
        with the check off."""
        cfg = self.cfg(g)
        if cfg is None:
            return frozenset()
        _, enabled = self.after(g)
        return frozenset(i for i in range(len(cfg.nodes)) if i not in enabled)


@dataclass
class Closure:
    """A file's conditions (module doc): per function of the file, and per
    other file's function it calls (``calls``)."""

    own: dict[str, Need]
    calls: dict[str, Need]


def closure(units: Iterable[FunctionUnit], refs: fnptrs.FnRefs, raw: bytes,
            apis: Apis, calls: bool = True) -> Closure:
    """The file's conditions (module doc).  ``units``: its functions;
    ``refs``: their references (fnptrs.index()); ``calls``: those of its
    calls of other files' functions too (else none)."""
    fns = {g.name: g for g in units}
    by_start = {g.node.start_byte: g for g in fns.values()}
    code = fnptrs.code_only(raw)
    macro_uses = _macro_mentions(code, set(fns))
    nodes: dict[FunctionUnit, dict[tuple[int, int, str], int]] = {}

    def node_in(g: FunctionUnit, call: Node) -> Callable[[], int | None]:
        def at() -> int | None:
            if g.cfg is None:
                return None
            if g not in nodes:
                nodes[g] = cfg_nodes(g.cfg)
            return node_of(nodes[g], call)
        return at

    # Per own function, its call sites' needs ("\0NAME": NAME's entry).
    raw_need: dict[str, Need] = {}
    for name, g in fns.items():
        got = refs.callers(name) if name not in refs.escapes or not _named_only(
            g, refs, code) else (list(refs.direct.get(name, [])), refs.callbacks.get(name, []))
        if got is None or got[1] or refs.fields_of(name) or name in macro_uses or (
                g.is_static and not got[0]):
            # (A static function no call reaches: none to be entered from.)
            raw_need[name] = NEVER
            continue
        need: Need = frozenset() if g.is_static else frozenset({name})
        for caller, call in got[0]:
            h = by_start.get(caller.start_byte)
            need = union(need, apis.site(h, node_in(h, call)) if h is not None else NEVER)
            if need is None:
                break
        raw_need[name] = need
    # Its calls of the functions it does not define, by text.
    found: dict[str, Need] = {}
    counts: dict[str, int] = {}
    for g in fns.values() if calls else ():
        for call, n in _calls(g, code, set(fns)):
            counts[n] = counts.get(n, 0) + 1
            if found.get(n, _NOTHING) is not None:
                found[n] = union(found.get(n, _NOTHING), apis.site(g, node_in(g, call)))
    mentions = _word_counts(code, set(found))
    own = _resolve(raw_need)
    return Closure(own, {n: _bind(s, own) for n, s in found.items()
                         if mentions.get(n, 0) == counts[n]})


def _calls(g: FunctionUnit, code: bytes, mine: set[str]) -> Iterable[tuple[Node, str]]:
    """The calls in g's body of functions neither ``mine`` nor its
    parameters or locals (irqentry.direct_calls(), without preparing a
    deferred unit: its text facts are enough)."""
    # Its parameters and locals where known (a unit not prepared has none
    # read: a pointer of that name called counts as a call, and its
    # declaration as a mention that is none: never unchecked).
    facts = g.text_facts()
    own = set(facts.params) | facts.locals if facts is not None else set()
    return calls_in_body(g, code, mine | own)


def _named_only(g: FunctionUnit, refs: fnptrs.FnRefs, code: bytes) -> bool:
    """Is every mention of g's name the index calls an escape one that
    names it without using it: its definition, a prototype at file scope,
    the name a ``#define`` gives its alternative (x86_64's empty
    machine_real_restart())?  Else a direct call the index saw."""
    calls = {c.child_by_field_name("function").start_byte  # type: ignore[union-attr]
             for _, c in refs.direct.get(g.name, [])}
    for m in whole_word(g.name.encode()).finditer(code):
        if m.start() in calls:
            continue
        n = g.src.root.descendant_for_byte_range(m.start(), m.end())
        p = n.parent if n is not None else None
        if n is None or p is None or n.type != "identifier":
            return False
        if p.type == "preproc_function_def" and p.child_by_field_name("name") == n:
            continue
        if p.type == "function_declarator" and p.parent is not None and (
                p.parent.type == "function_definition" and p.parent == g.node or
                p.parent.type == "declaration" and p.parent.parent is not None and
                p.parent.parent.type == "translation_unit"):
            continue
        return False
    return True


def _resolve(raw: Mapping[str, Need]) -> dict[str, Need]:
    """The own functions' needs with "\0NAME" replaced by NAME's need, to
    a fixpoint (a call chain back to itself adds nothing: every way into
    it is one of the chain's other callers)."""
    out: dict[str, Need] = {n: frozenset(x for x in s if not x.startswith("\0"))
                            if s is not None else NEVER for n, s in raw.items()}
    changed = True
    while changed:
        changed = False
        for n, s in raw.items():
            if s is None or out[n] is None:
                continue
            cur: Need = out[n]
            for x in s:
                if x.startswith("\0"):
                    cur = union(cur, out.get(x[1:], NEVER))
                    if cur is None:
                        break
            if cur != out[n]:
                out[n] = cur
                changed = True
    return out


def _bind(s: Need, own: Mapping[str, Need]) -> Need:
    if s is None:
        return NEVER
    out: Need = frozenset(x for x in s if not x.startswith("\0"))
    for x in s:
        if x.startswith("\0"):
            out = union(out, own.get(x[1:], NEVER))
    return out


def _word_counts(code: bytes, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    words = Counter(_WORD.findall(code))
    return {n: words.get(n.encode(), 0) for n in names}


_WORD = re.compile(rb"[A-Za-z_]\w*")


def _macro_mentions(code: bytes, names: set[str]) -> set[str]:
    """The ``names`` a directive of the file mentions other than as the
    name it defines (``#define f(x, y)``: f's alternative, no use of it)."""
    out: set[str] = set()
    for m in directives(_DIRECTIVE, code):
        text = m.group(0)
        head = re.match(rb"#\s*define\s+([A-Za-z_]\w*)", text)
        body = text[head.end():] if head is not None else text
        for w in re.findall(rb"[A-Za-z_]\w*", body):
            if (d := w.decode()) in names:
                out.add(d)
    return out


def entered_unchecked(c: Closure, outside: Iterable[str]) -> set[str]:
    """The file's functions entered unchecked, given the non-static ones
    whose callers in other files all are (``outside``)."""
    out = frozenset(outside)
    return {n for n, s in c.own.items() if s is not None and s <= out}


def encode(s: frozenset[str]) -> str:
    return ",".join(sorted(s))


def decode(text: str) -> frozenset[str]:
    return frozenset(x for x in text.split(",") if x)


def _stopping_at(cfg: Cfg, stop: int) -> Callable[[int], Sequence[int]]:
    """The CFG's successors, none past ``stop``."""
    return lambda i: () if i == stop else cfg.nodes[i].succ


__all__ = ["NEVER", "Apis", "Closure", "Need", "closure", "decode", "encode",
           "entered_unchecked", "union"]

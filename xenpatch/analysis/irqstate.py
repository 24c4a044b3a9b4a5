"""This CPU's interrupt state along a path: on, off, or unknown.

The held-lock dataflow carries it as facts of its states (so every path
condition it already tells apart keeps its own IRQ state); this module says
which calls move it (``IrqTable``, from rules/locks.toml), what each move
does to the facts (``transfer``), and what is wrong at a move given the
state it meets (``check``).  Nothing is guessed: a state nobody can state
(the function's entry, a restore of flags whose content is unknown, a
trylock's outcome) is unknown, and unknown never reports.

Facts (names start with ``%``, which no other fact does):

* ``%irq``  "on" / "off"; absent: unknown.
* ``%en``   "1": the last move on this path was an enable (an ``_irq``
  unlock, local_irq_enable(), a callee that enables); what a summary reads
  to say "this function turns IRQs on on every path".
* ``%cpu``  "1": IRQs are off by a CPU-level disable or save (or an assert),
  not by a lock this function may hand to a callee to release.
* ``%f:V``  what flags variable V holds: ``value,open,clobbered,saver,line``
  -- the saved state (on/off/?; "u": a local no save has written yet), how
  many saves into V are still to be restored, whether a save overwrote V
  while an earlier one was still open, and the lock whose ``_irqsave`` wrote
  it ("-": local_irq_save).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tree_sitter import Node

from xenpatch.analysis.events import IrqAct, OpAct
from xenpatch.analysis.locktable import Effect, LockTableError, read_locks_toml
from xenpatch.c.cfg import call_args, call_name
from xenpatch.c.source import SourceFile

if TYPE_CHECKING:
    from xenpatch.analysis.pathstate import Result, State

# The summary effect of a function that turns IRQs on on every path.
IRQ_ON = "irqon"
IRQ_KEY = "*irq"
IRQ_FLAVOURS = frozenset({"irq", "irqsave", "recursive_irqsave"})
_SAVING = frozenset({"irqsave", "recursive_irqsave"})
_EFFECTS = ("off", "on", "save", "restore", "read")
_LITERAL = re.compile(r"^(?:false|true|NULL|\d+[uUlL]*|0x[0-9a-fA-F]+[uUlL]*)$")
_CAP = 3


@dataclass(frozen=True)
class EntryRoot:
    """Functions entered in ``state`` by the tree's entry code, named from
    a header of the tree: for each ``#define <define>NAME <number>`` of
    ``header`` (a path under xen/), the functions ``<prefix>NAME``."""

    header: str
    define: str
    prefixes: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class IrqTable:
    """The IRQ API: CPU-level calls (name -> (effect, flags index)), the
    flags argument of the lock ops' _irqsave forms (name -> "1", "&1", "ret"),
    and the APIs that call a function argument with a known IRQ state
    (name -> (argument index, "on"/"off"); -1: an API whose index only
    its ``params`` entry gives, read from the tree by analysis/cbargs.py)."""

    calls: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    callbacks: dict[str, tuple[int, str]] = field(default_factory=dict)
    # The functions the tree's own entry code calls in a known IRQ state
    # (rules/locks.toml's [irqentry]; analysis/irqroots.py reads the tree).
    entries: tuple[EntryRoot, ...] = ()
    # The callback's parameter name, for the APIs whose argument order the
    # tree's own declaration says (callbacks' index: where it declares none).
    params: dict[str, str] = field(default_factory=dict)
    # The architectures whose code the callback's state was read in, for
    # the APIs that say (their files elsewhere: unknown).
    arches: dict[str, frozenset[str]] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.calls.items())), tuple(sorted(self.flags.items())),
                     tuple(sorted(self.callbacks.items())), self.entries,
                     tuple(sorted(self.params.items())), tuple(sorted(self.arches.items()))))

    def flags_arg(self, name: str, args: list[str], target: str | None) -> str | None:
        """The flags variable a lock op's call names, or None."""
        where = self.flags.get(name)
        if where is None:
            return None
        if where == "ret":
            return target
        ptr = where.startswith("&")
        i = int(where.lstrip("&"))
        if i >= len(args):
            return None
        a = _bare(args[i])
        if ptr:
            m = re.fullmatch(r"&\s*\(?\s*([A-Za-z_]\w*)\s*\)?", a)
            return m.group(1) if m else None
        return a


def _bare(text: str) -> str:
    t = text.strip()
    while t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    return t


def load_irq_table(path: Path, data: dict[str, Any] | None = None) -> IrqTable:
    """The IRQ API of ``path`` (locks.toml); ``data``: its content, already parsed."""
    if data is None:
        data = read_locks_toml(path)
    calls: dict[str, tuple[str, int | None]] = {}
    for name, spec in data.get("irq", {}).items():
        eff = spec.get("effect")
        idx = spec.get("flags")
        if eff not in _EFFECTS:
            raise LockTableError(f"{path}: irq.{name}: effect must be one of "
                                 f"{', '.join(_EFFECTS)}")
        if (idx is None) != (eff in ("off", "on")) or (idx is not None and (
                not isinstance(idx, int) or idx < 0)):
            raise LockTableError(f"{path}: irq.{name}: flags (an argument index) is "
                                 "needed by save, restore and read, and only by them")
        calls[name] = (eff, idx)
    flags: dict[str, str] = {}
    for name, where in data.get("irqflags", {}).items():
        w = str(where)
        if not re.fullmatch(r"ret|&?\d+", w):
            raise LockTableError(f"{path}: irqflags.{name}: an argument index, \"&N\" "
                                 "or \"ret\"")
        flags[name] = w
    callbacks: dict[str, tuple[int, str]] = {}
    params: dict[str, str] = {}
    arches: dict[str, frozenset[str]] = {}
    for name, spec in data.get("irqcallback", {}).items():
        arg, param, state = spec.get("arg", -1), spec.get("param"), spec.get("state")
        archs = spec.get("arches")
        if archs is not None and not (isinstance(archs, list) and archs and all(
                isinstance(a, str) and re.fullmatch(r"\w+", a) for a in archs)):
            raise LockTableError(f"{path}: irqcallback.{name}: arches must list "
                                 "architecture names")
        if archs is not None:
            arches[name] = frozenset(archs)
        if not isinstance(arg, int) or isinstance(arg, bool) or arg < -1 or \
                (arg == -1 and param is None) or \
                (param is not None and not (isinstance(param, str)
                                            and re.fullmatch(r"[A-Za-z_]\w*", param))) or \
                state not in ("on", "off"):
            raise LockTableError(f"{path}: irqcallback.{name}: needs param (the callback's "
                                 "parameter name) or arg (an argument index), or both, "
                                 "and state (\"on\" or \"off\")")
        callbacks[name] = (arg, state)
        if param is not None:
            params[name] = param
    entries: list[EntryRoot] = []
    for name, spec in data.get("irqentry", {}).items():
        header, define, prefixes, state = (spec.get(k) for k in
                                           ("header", "define", "prefixes", "state"))
        if not (isinstance(header, str) and isinstance(define, str)
                and re.fullmatch(r"\w+", define) and isinstance(prefixes, list) and prefixes
                and all(isinstance(x, str) and re.fullmatch(r"\w+", x) for x in prefixes)
                and state in ("on", "off")):
            raise LockTableError(f"{path}: irqentry.{name}: needs header (a path under "
                                 "xen/), define (a macro prefix), prefixes (function name "
                                 "prefixes) and state (\"on\" or \"off\")")
        entries.append(EntryRoot(header, define, tuple(prefixes), state))
    return IrqTable(calls, flags, callbacks, tuple(entries), params, arches)


# -- what a call does to the IRQ state (for actions.py) -----------------------

_ASSERTS = frozenset({"ASSERT", "BUG_ON"})
# The API's test of the IRQ state, whose assertion states it.
ENABLED_TEST = "local_irq_is_enabled"
_IS_ENABLED = re.compile(r"^(!?)\s*" + ENABLED_TEST + r"\s*\(\s*\)$")


def call_acts(src: SourceFile, call: Node, name: str | None, table: IrqTable,
              line: int, col: int) -> list[IrqAct]:
    """A call no lock op resolves: local_irq_*() or an assertion on the
    IRQ state (``ASSERT(!local_irq_is_enabled())``; BUG_ON says the
    opposite of its condition)."""
    if name is None:
        return []
    if name in _ASSERTS:
        args = call_args(call)
        if len(args) != 1:
            return []
        m = _IS_ENABLED.match(" ".join(_bare(src.text(args[0])).split()))
        if m is None:
            return []
        on = (m.group(1) == "") == (name == "ASSERT")
        return [IrqAct("", "assert_on" if on else "assert_off", line=line, col=col)]
    spec = table.calls.get(name)
    if spec is None:
        return []
    eff, idx = spec
    texts = [src.text(a) for a in call_args(call)]
    var = _bare(texts[idx]) if idx is not None and idx < len(texts) else None
    # flavour: what settles a swapped release (see Engine.release).
    flavour = {"on": "irq", "restore": "irqsave"}.get(eff, "")
    return [IrqAct(flavour, eff, var, "-", name, line, col)]


def lock_acts(e: Effect, name: str, args: list[str], target: str | None, table: IrqTable,
              line: int, col: int) -> list[IrqAct]:
    """What a lock op's _irq/_irqsave form does to the IRQ state, after
    its lock effect."""
    if e.flavour not in IRQ_FLAVOURS:
        return []
    saving = e.flavour in _SAVING
    if e.action == "acquire":
        op = "lock_save" if saving else "lock_off"
    elif e.action == "release":
        op = "lock_restore" if saving else "lock_on"
    elif e.action == "try":
        op = "forget"
    else:
        return []
    var = table.flags_arg(name, args, target) if saving else None
    return [IrqAct("", op, var, e.key, e.via, line, col)]


def unsaved_locals(src: SourceFile, body: Node | None, locals_: Iterable[str],
                   restored: set[str], table: IrqTable) -> tuple[str, ...]:
    """The locals among ``restored`` that nothing but a save writes: until a
    save on the path has written one, restoring it restores garbage.  Any
    other use that may write it (``&v``, an assignment from anything but an
    _irqsave op, an argument of a call not known to only read it) leaves it
    out."""
    cands = set(restored) & set(locals_)
    if body is None or not cands:
        return ()
    bad: set[str] = set()
    for n in _identifiers_named(src, body, cands):
        v = src.text(n)
        if v not in bad and not _only_saved_or_read(src, n, table):
            bad.add(v)
    return tuple(sorted(cands - bad))


def _identifiers_named(src: SourceFile, body: Node, names: set[str]) -> Iterator[Node]:
    """The identifier nodes under ``body`` whose text is one of ``names``:
    ``[n for n in walk(body) if n.type == "identifier" and src.text(n) in
    names]`` without walking every node of the body.  Each such node spans
    an occurrence of its name in the text, so the occurrences are found in
    the text and the smallest node spanning each is taken if it is one."""
    raw, lo, hi = src.raw, body.start_byte, body.end_byte
    for name in sorted(names):
        b = name.encode()
        i = raw.find(b, lo, hi)
        while i >= 0:
            n = body.descendant_for_byte_range(i, i + len(b))
            if n is not None and n.type == "identifier" and n.start_byte == i \
                    and n.end_byte == i + len(b):
                yield n
            i = raw.find(b, i + 1, hi)


def _only_saved_or_read(src: SourceFile, n: Node, table: IrqTable) -> bool:
    p = n.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is None:
        return False
    if p.type in ("init_declarator", "declaration"):
        # unsigned long flags = 0;  is not a save either.
        return p.type == "declaration" or p.child_by_field_name("value") is None
    if p.type == "assignment_expression":
        rhs = p.child_by_field_name("right")
        while rhs is not None and rhs.type == "parenthesized_expression":
            rhs = rhs.named_children[0] if rhs.named_child_count else None
        return rhs is not None and rhs.type == "call_expression" and \
            table.flags.get(call_name(src, rhs) or "") == "ret"
    if p.type == "argument_list" and p.parent is not None:
        name = call_name(src, p.parent) or ""
        return name in table.flags or name in table.calls or name in _ASSERTS
    # Read in an expression (a comparison, an argument of an operator).
    return p.type in ("binary_expression", "unary_expression", "return_statement",
                      "expression_statement", "condition_clause")


# -- the facts -------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    value: str  # "on" / "off" / "?" / "u" (not written yet)
    open: int
    clobbered: bool
    saver: str  # lock key, or "-" for local_irq_save
    line: int

    def text(self) -> str:
        return f"{self.value},{self.open},{int(self.clobbered)},{self.line},{self.saver}"

    @staticmethod
    def parse(t: str | None) -> Saved | None:
        if t is None:
            return None
        v, n, c, line, saver = t.split(",", 4)
        return Saved(v, int(n), c == "1", saver, int(line))


def _flags_key(var: str) -> str:
    return "%f:" + var


def transfer(s: State, act: IrqAct | OpAct) -> State:
    """The state after an IRQ move (an OpAct here is a callee's IRQ_ON)."""
    if isinstance(act, OpAct):
        return _on(s)
    op = act.op
    if op in ("on", "lock_on"):
        return _on(s)
    if op == "off":
        return _off(s, cpu=True)
    if op in ("lock_off", "callee_off"):
        return _off(s, cpu=False)
    if op in ("save", "lock_save"):
        return _off(_save(s, act), cpu=act.op == "save")
    if op in ("restore", "lock_restore"):
        return _restore(s, act)
    if op == "read":
        if act.var is None:
            return s
        cur = s.fact("%irq") or "?"
        return s.with_fact(_flags_key(act.var), Saved(cur, 0, False, "-", act.line).text())
    if op == "assert_on":
        return s.with_fact("%irq", "on").with_fact("%cpu", None)
    if op == "assert_off":
        return s.with_fact("%irq", "off").with_fact("%cpu", "1")
    if op == "forget":
        s = s.with_fact("%irq", None).with_fact("%en", None).with_fact("%cpu", None)
        if act.var is not None:
            # A trylock wrote the flags on success only: kept, but not as a
            # section to match (a retry loop saves again each round).
            s = s.with_fact(_flags_key(act.var), Saved("?", 0, False, "-", act.line).text())
        return s
    if op == "unsaved":
        for v in (act.var or "").split():
            s = s.with_fact(_flags_key(v), Saved("u", 0, False, "-", 0).text())
        return s
    return s


def callee_off(s: State) -> State:
    """After a helper that returns holding a lock it took with IRQs off
    (a summary effect's ``irq``): off, by a lock as an _irq take leaves
    them; nothing to check (the helper's own take was checked in it)."""
    return _off(s, cpu=False)


def callee_act(e: Effect, line: int, col: int) -> IrqAct | None:
    """The IRQ move of a call whose summary effect ``e`` says what IRQ
    state it leaves where it holds: off after an acquire helper's call,
    unknown after a release helper's that drops the lock _irq/_irqrestore;
    None for any other."""
    if e.irq == "off" and e.action == "acquire":
        return IrqAct("", "callee_off", None, e.key, e.via, line, col)
    if e.irq == "?" and e.action == "release":
        return IrqAct("", "forget", None, e.key, e.via, line, col)
    return None


def callee_after(s: State, e: Effect) -> State:
    """callee_act()'s move where the effect happens on one side of a
    try-like helper's result test (dataflow's try_success)."""
    if e.irq == "off" and e.action in ("try", "acquire"):
        return callee_off(s)
    if e.irq == "?" and e.action == "release":
        return transfer(s, IrqAct("", "forget", None, e.key, e.via))
    return s


def _on(s: State) -> State:
    return s.with_fact("%irq", "on").with_fact("%en", "1").with_fact("%cpu", None)


def _off(s: State, cpu: bool) -> State:
    s = s.with_fact("%irq", "off").with_fact("%en", None)
    return s.with_fact("%cpu", "1") if cpu else s


def _save(s: State, act: IrqAct) -> State:
    if act.var is None:
        return s
    cur = s.fact("%irq") or "?"
    old = Saved.parse(s.fact(_flags_key(act.var)))
    if old is not None and old.open > 0 and old.value != "u":
        new = Saved(cur, min(old.open + 1, _CAP), True, act.key or "-", act.line)
    else:
        new = Saved(cur, 1, False, act.key or "-", act.line)
    return s.with_fact(_flags_key(act.var), new.text())


def _restore(s: State, act: IrqAct) -> State:
    s = s.with_fact("%en", None).with_fact("%cpu", None)
    old = Saved.parse(s.fact(_flags_key(act.var))) if act.var is not None else None
    if old is None or old.value not in ("on", "off"):
        s = s.with_fact("%irq", None)
    else:
        s = s.with_fact("%irq", old.value)
    if old is not None and act.var is not None and old.value != "u":
        n = max(old.open - 1, 0)
        s = s.with_fact(_flags_key(act.var),
                        Saved(old.value, n, old.clobbered and n > 0, old.saver, old.line).text())
    return s


# -- what is wrong at a move -------------------------------------------------


@dataclass(frozen=True)
class IrqIssue:
    check: str  # "lock_irq_off", "enable_in_section", "restore_flags", "call_enables"
    key: str  # the lock named (or the flags variable, or the callee)
    fmt: dict[str, object]
    site: int = -1  # CFG node where the section at fault opened, if known


def _sections(s: State, but: str | None) -> Iterator[tuple[str, int, int]]:
    """IRQ-off sections this function opened and has not closed: (what,
    line, site) -- held _irq/_irqsave locks, then open local_irq_save()s."""
    for h in s.held:
        if h.flavour in IRQ_FLAVOURS and not h.entry and not h.unknown and h.site >= 0 \
                and h.key != but:
            yield f"'{h.key.rstrip(chr(39))}'", h.line, h.site
    for k, v in s.facts:
        if k.startswith("%f:"):
            sv = Saved.parse(v)
            if sv is not None and sv.open > 0 and sv.value != "u" and sv.saver == "-":
                yield f"local_irq_save({k[3:]})", sv.line, -1


def check(s: State, act: IrqAct | OpAct) -> list[IrqIssue]:
    """What is wrong with this move in state ``s`` (the state it meets);
    only what the state knows."""
    if isinstance(act, OpAct):
        return _check_call(s, act.effect)
    op = act.op
    if op == "lock_off":
        if s.fact("%irq") == "off":
            return [IrqIssue("lock_irq_off", act.key or "", {"via": act.via})]
        return []
    if op in ("on", "lock_on"):
        for what, line, site in _sections(s, act.key if op == "lock_on" else None):
            return [IrqIssue("enable_in_section", (act.key or "") if op == "lock_on" else act.via,
                             {"via": act.via, "what": what, "open_line": line}, site)]
        return []
    if op in ("restore", "lock_restore"):
        return _check_restore(s, act)
    return []


def _check_restore(s: State, act: IrqAct) -> list[IrqIssue]:
    var = act.var
    key = act.key if act.op == "lock_restore" else act.via
    if var is None:
        return []
    if _LITERAL.match(var):
        return [IrqIssue("restore_flags", key or "", {
            "via": act.via, "why": f"the constant '{var}', not a saved IRQ state"})]
    sv = Saved.parse(s.fact(_flags_key(var)))
    if sv is None:
        return []
    if sv.value == "u":
        return [IrqIssue("restore_flags", key or "", {
            "via": act.via, "why": f"'{var}', which no save on this path wrote"})]
    if sv.clobbered and sv.open == 1:
        return [IrqIssue("restore_flags", key or "", {
            "via": act.via, "why": f"'{var}', overwritten by the save at line {sv.line} "
            "while its own save was still open"})]
    if sv.saver not in ("-", act.key) and sv.value != "off" and sv.open > 0:
        h = s.get(sv.saver)
        if h is not None and not h.entry and not h.unknown:
            return [IrqIssue("restore_flags", key or "", {
                "via": act.via, "why": f"'{var}', saved when '{sv.saver}' was taken at line "
                f"{sv.line}, which is still held"}, h.site)]
    return []


def _check_call(s: State, e: Effect) -> list[IrqIssue]:
    for what, line, site in _sections(s, None):
        return [IrqIssue("call_enables", e.via, {"via": e.via, "what": what,
                                                 "open_line": line}, site)]
    if s.fact("%irq") == "off" and s.fact("%cpu") == "1":
        return [IrqIssue("call_enables", e.via, {
            "via": e.via, "what": "IRQs turned off in this function", "open_line": 0})]
    return []


# An entry state: IRQs off by the one caller whose context the function is
# run in (lint/irqcontext.py), as an ASSERT(!local_irq_is_enabled()) at its
# entry would say: an enable then breaks the caller's IRQs-off section.
CALLER_OFF = "off:caller"
# IRQs off before a function first turns them on, never having turned them
# off (its own body says so: irqroots.self_stated(); a CPU's bring-up, an
# entry from assembly), and what its calls and the callees only it calls
# are entered in: "off" to the IRQ-state checks, but nothing XL017 reads
# (on a bring-up Xen's check_lock() is off until it turns spin_debug on,
# as __start_xen() and start_secondary() do; where it is on, a VM exit's
# handler, a witness fewer is a finding fewer, never a false one) and no
# context of its own (lint/irqcontext.py), as Xen's boot code runs a CPU
# through code written for every state; one hop: a function entered so
# exports nothing further (irqsafe.guessed_entries()).
BOOT = "off:boot"


def entry_facts(entry: str | None) -> tuple[tuple[str, str], ...]:
    """The IRQ facts a run entered in ``entry`` starts with."""
    if entry is None:
        return ()
    if entry == BOOT:
        return (("%irq", "off"),)
    if entry == CALLER_OFF:
        return (("%irq", "off"), ("%cpu", "1"))
    return (("%irq", entry),)


def is_irq_move(act: object) -> bool:
    return isinstance(act, IrqAct) or (isinstance(act, OpAct) and act.effect.action == IRQ_ON)


def issues(res: Result, acts: Sequence[Sequence[object]],
           unknown: str) -> Iterator[tuple[int, State, int, int, IrqIssue]]:
    """Every issue of a dataflow run: (node, state on arrival, line, col,
    issue).  The moves of a node are replayed from each state the run
    reached it in; the lock operations between them are what the run did
    (held sets are the run's, known facts only)."""

    nodes = {i for i, a in enumerate(acts) if any(is_irq_move(x) for x in a)}
    if not nodes:
        return
    for n, st in list(res.parents):
        if n not in nodes or st.fact(unknown) is not None:
            continue
        cur = st
        released: set[str] = set()  # locks this node released while held
        for a in acts[n]:
            if isinstance(a, OpAct) and a.effect.action in ("acquire", "release") and \
                    a.effect.flavour in IRQ_FLAVOURS:
                h = cur.get(a.effect.key)
                if a.effect.action == "release" and h is not None and not h.unknown:
                    released.add(a.effect.key)
                cur = _replay_lock(cur, a.effect)
            if not is_irq_move(a):
                continue
            assert isinstance(a, IrqAct | OpAct)
            for issue in check(cur, a):
                if issue.check == "restore_flags" and isinstance(a, IrqAct) and \
                        a.op == "lock_restore" and a.key not in released and \
                        not _LITERAL.match(a.var or ""):
                    # Releasing a lock not held is XL002's; what its flags
                    # hold on that path says nothing more.
                    continue
                yield n, st, a.line, a.col, issue
            cur = transfer(cur, a)


def _replay_lock(s: State, e: Effect) -> State:
    from xenpatch.analysis.pathstate import Held

    if e.action == "release":
        return s.with_held(None, e.key)
    if s.get(e.key) is not None:
        return s
    return s.with_held(Held(e.key, e.kind, e.mode, e.flavour, e.owner, e.via, 1, False, -1, 0),
                       e.key)


def enables_on_every_path(res: Result, unknown: str) -> bool:
    """A function whose every return has just turned IRQs on (an _irq
    unlock, local_irq_enable(), a callee that does) with no restore or
    disable after it: calling it turns the caller's IRQs on."""
    if not res.path_sensitive or not res.exits:
        return False
    return all(after.fact("%en") == "1" and after.fact(unknown) is None
               for lst in res.exits.values() for after, _ in lst)


def irq_on_effect(name: str) -> Effect:
    return Effect(IRQ_ON, "spin", "", "any", IRQ_KEY, None, name, inferred=True)


__all__ = [
    "IRQ_ON", "EntryRoot", "IrqIssue", "IrqTable", "call_acts", "callee_act", "callee_after",
    "callee_off", "check", "enables_on_every_path", "irq_on_effect", "issues", "load_irq_table",
    "lock_acts", "transfer", "unsaved_locals",
]

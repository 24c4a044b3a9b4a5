"""This CPU's IRQ state on entry to a function, from its callers.

A function's entry state is unknown (irqstate.py) unless every caller the
analysis sees agrees: when each of its call sites -- direct, through a
struct field it is stored in (fnptrs.py), or an API that calls it back
with a known state (rules/locks.toml's [irqcallback]) -- is reached with
IRQs known off (or known on) on every path, so is its entry.  Any call
site of unknown or mixed state, an address that escapes where the index
does not follow, or no caller at all leaves it unknown.

States at call sites depend on the callers' own entry states, so the
states are a fixpoint: all unknown first, then each round re-runs the
callers whose entry became known, until no entry changes.  A chain of
calls reaching back to itself never knows more than its way in says.

Callers that disagree give no entry state, but each one that calls with
IRQs known off is a context of its own (caller_contexts(); other files'
calls: call_witnesses()): lint/irqcontext.py checks the function in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.extmemo import of_mapping
from xenpatch.analysis.fieldtexts import FIELD_CALL, fields_called_in
from xenpatch.analysis.irqstate import BOOT, IRQ_KEY, is_irq_move
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.onceguards import once_nodes
from xenpatch.analysis.pathstate import UNKNOWN, Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Cfg, Kind, call_args, call_name
from xenpatch.c.patterns import whole_word
from xenpatch.c.source import SourceFile, walk
from xenpatch.graphs import reachable

STATES = ("on", "off")
# A state a call or a way in can be stated in: BOOT is off, of a bring-up.
STATED = (*STATES, BOOT)
# Rounds of the fixpoint; one more entry known per round at the least, and
# chains of calls within a file are short.  Past it nothing is claimed.
ROUNDS = 12

Run = Callable[[FunctionUnit, "str | None"], "Result | None"]


def meet(states: Iterable[str | None]) -> str | None:
    """"on"/"off" when every state is that one, BOOT when each is "off" or
    BOOT and one is BOOT; None (unknown) when one is unknown, they differ,
    or there is none."""
    out: str | None = None
    for s in states:
        if s not in STATED:
            return None
        if out is None or s == out:
            out = s
        elif {out, s} == {"off", BOOT}:
            out = BOOT
        else:
            return None
    return out


def cfg_nodes(cfg: Cfg) -> dict[tuple[int, int, str], int]:
    """The CFG's statements by their text's span and type."""
    return {(n.ast.start_byte, n.ast.end_byte, n.ast.type): n.id
            for n in cfg.nodes if n.ast is not None}


def node_of(nodes: Mapping[tuple[int, int, str], int], call: Node) -> int | None:
    """The innermost CFG node whose text holds the call."""
    n: Node | None = call
    while n is not None and n.type != "function_definition":
        got = nodes.get((n.start_byte, n.end_byte, n.type))
        if got is not None:
            return got
        n = n.parent
    return None


def node_states(res: Result, info_acts: Sequence[Sequence[object]]
                ) -> dict[int, tuple[str | None, str | None]]:
    """The IRQ state on arrival at each node the run reached: "on"/"off"
    when every state there says so, else None; with the one callee whose
    call is the node's only move of the state (it moves it after it is
    entered), or "*" when other moves may come first (a call there may
    come after the move: its state is unknown)."""
    seen: dict[int, set[str | None]] = {}
    # The states of a run share few distinct facts: each read once (by
    # the tuple's identity: they all live in res.parents meanwhile).
    read: dict[int, str | None] = {}
    for n, st in res.parents:
        key = id(st.facts)
        if key in read:
            v = read[key]
        else:
            v = read[key] = None if st.fact(UNKNOWN) is not None else st.fact("%irq")
        seen.setdefault(n, set()).add(v)
    out: dict[int, tuple[str | None, str | None]] = {}
    for n, vals in seen.items():
        moves = [a for a in info_acts[n] if is_irq_move(a)] if n < len(info_acts) else []
        first: str | None = None
        if len(moves) == 1 and isinstance(moves[0], OpAct):
            first = moves[0].effect.via
        elif moves:
            first = "*"
        out[n] = (meet(vals), first)
    return out


# A constant argument: a literal, or an upper-case name (Xen's spelling of a
# constant macro or enumerator: cpu_callback(&nfb, CPU_UP_PREPARE, cpu)).
_LITERAL = re.compile(r"^\(?\s*(?:false|true|NULL|-?\d+[uUlL]*|0x[0-9a-fA-F]+[uUlL]*"
                      r"|[A-Z][A-Z0-9_]*)\s*\)?$")


def tested_params(f: FunctionUnit) -> frozenset[int]:
    """The parameters (by index) that a branch of f tests (kept on the
    parse per CFG: asked again for each call of f a chain follows)."""
    if f.cfg is None or f.info is None or not f.info.params:
        return frozenset()
    key = ("tested params", id(f.cfg))
    got = f.src.derived.get(key)
    params = tuple(f.info.params)
    if got is None or got[0] is not f.cfg or got[1] != params:
        got = f.src.derived[key] = (f.cfg, params, _tested_params(f))
    found: frozenset[int] = got[2]
    return found


def _tested_params(f: FunctionUnit) -> frozenset[int]:
    assert f.cfg is not None and f.info is not None
    where = {p: i for i, p in enumerate(f.info.params)}
    out: set[int] = set()
    for node in f.cfg.nodes:
        if node.kind in (Kind.COND, Kind.SWITCH) and node.ast is not None:
            for n in walk(node.ast):
                if n.type == "identifier" and (i := where.get(f.src.text(n))) is not None:
                    out.add(i)
    return frozenset(out)


def specialised(src: SourceFile, call: Node, tested: frozenset[int]) -> bool:
    """Does the call pass a constant where the callee branches on it?  The
    callee's paths are then the caller's choice (maybe_lock(v, 0) skips the
    lock): this call's state is not claimed for all of them."""
    args = call_args(call)
    return any(i < len(args) and _LITERAL.match(" ".join(src.text(args[i]).split()))
               for i in tested)


class Sites:
    """Per caller and entry state, the state at each of its calls."""

    def __init__(self, run: Run, first: Mapping[FunctionUnit, Result]) -> None:
        self.run = run
        self.first = first
        self.memo: dict[tuple[FunctionUnit, str | None],
                        dict[int, tuple[str | None, str | None]] | None] = {}
        self.calls: dict[FunctionUnit, dict[tuple[int, int, str], int]] = {}

    def state(self, g: FunctionUnit, entry: str | None, call: Node, name: str) -> str | None:
        key = (g, entry)
        if key not in self.memo:
            res = self.first.get(g) if entry is None else None
            if res is None:
                res = self.run(g, entry)
            if res is None or g.cfg is None or g.info is None:
                self.memo[key] = None
            else:
                self.memo[key] = node_states(res, g.info.acts)
                self.calls.setdefault(g, cfg_nodes(g.cfg))
        states = self.memo[key]
        if states is None:
            return None
        node = node_of(self.calls[g], call)
        if node is None or node in once_nodes(g.src, g.cfg):  # type: ignore[arg-type]
            # (A set-up run once, onceguards.py: the first caller's state.)
            return None
        if node not in states:
            return "-"  # a call no path reaches says nothing
        state, mover = states[node]
        if mover is not None and mover != name:
            return None
        return state


# The tree's summaries carry, per struct field, what the calls through it
# agree on across files: "%irq:->NAME" -> a summary whose one effect's mode
# is "on", "off" or "?" (lint: filelint.field_exports, run.tree_exports).
FIELD_KEY = "%irq:->"


# Direct calls of a function another file defines: "%irq:->()NAME" -> what
# this file's calls of NAME agree on, exported only when every mention of
# NAME in the file's code is such a call and its state is known (lint:
# irqcalls.py checks the whole tree's mentions before any file reads one).
# The prefix is FIELD_KEY's on purpose: every filter that keeps these
# whole-tree facts out of a function's summaries covers both.
CALL_KEY = FIELD_KEY + "()"
# The takes of locks over the tree, for XL017 across files (lint:
# irqwitness.py): no function's entry, under CALL_KEY for the same filters.
LOCKS_KEY = CALL_KEY + "&"

# What the other files' calls of a function say one call at a time, where
# their states differ (lint: irqcalls.settle(), whole-tree runs):
# "%irq:->()@NAME|STATE" -> a summary whose effect's mode is the state and
# whose ``via`` is "CALLER|FILE|LINE|ARGS" (ARGS: the indices of the
# arguments the call passes as literals, comma-separated).
WITNESS = CALL_KEY + "@"
# A file asking for WITNESS + NAME (state WANT) is given the calls with IRQs
# off; asking for WITNESS + NAME + ON_TOO too, those with IRQs on (XL017 in
# a caller's context, lint/irqsafectx.py: the IRQ checks read off ones only).
ON_TOO = "|on"


def field_summary(state: str) -> Summary:
    return Summary((Effect("irqentry", "spin", state, "plain", IRQ_KEY, None, "irqentry",
                           inferred=True),), None)


def summary_state(s: Summary) -> str:
    return s.effects[0].mode if len(s.effects) == 1 and s.effects[0].action == "irqentry" \
        else "?"


def external_entries(external: Mapping[str, Summary], me: str = "") -> dict[str, str]:
    """Field name -> what the calls through it in the tree agree on; for
    the file at ``me`` (its path under xen/), what the other files' calls agree on where the
    tree settled it (lint: irqcalls.settle(), "%irq:->FIELD|FILE"; "-": no
    other file calls through it)."""
    out, per_file = of_mapping(external, "field entries", lambda: _field_entries(external))
    out = dict(out)
    if me:
        out.update(per_file.get(me, {}))
    return {n: s for n, s in out.items() if s != "-"}


def _field_entries(external: Mapping[str, Summary]
                   ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """external_entries()'s scan: the tree's word per field, and per file
    what the tree settled for it."""
    out: dict[str, str] = {}
    per_file: dict[str, dict[str, str]] = {}
    for k, s in external.items():
        if not k.startswith(FIELD_KEY) or k.startswith(CALL_KEY):
            continue
        name, sep, who = k[len(FIELD_KEY):].partition("|")
        if not sep:
            out[name] = summary_state(s)
        elif who:
            per_file.setdefault(who, {})[name] = summary_state(s)
    return out, per_file


def external_calls(external: Mapping[str, Summary]) -> dict[str, str]:
    """Function name -> what the other files' calls of it agree on (only
    what irqcalls.settle() let through: every other mention is such a call)."""
    return dict(of_mapping(external, "calls", lambda: {
        k[len(CALL_KEY):]: summary_state(s) for k, s in external.items()
        if k.startswith(CALL_KEY) and not k.startswith(WITNESS)}))


# The state a file exports for a name or field whose entry it would use:
# irqcalls.settle() settles only those (what the tree's text is read for).
WANT = "want"


def entry_matters(wanted: Iterable[str], refs: fnptrs.FnRefs,
                  by_node: Mapping[int, FunctionUnit]) -> set[str]:
    """The ``wanted`` functions (whose checks read the entry state) and
    those of the file reaching one through its direct calls or the fields
    they are stored in: the functions whose entry state changes a finding."""

    def callers(n: str) -> Iterator[str]:
        sites = list(refs.direct.get(n, []))
        for f in refs.fields_of(n):
            sites.extend(refs.field_calls.get(f, []))
        for caller, _ in sites:
            g = by_node.get(caller.start_byte)
            if g is not None:
                yield g.name

    return reachable(wanted, callers)


_WORD = re.compile(rb"[A-Za-z_]\w*")
_CALLED = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")
_NOT_CALLS = frozenset({"if", "while", "for", "switch", "return", "sizeof", "typeof",
                        "__typeof__", "alignof", "_Alignof", "defined", "do", "case"})


def _direct_calls(g: FunctionUnit, code: bytes, mine: set[str]) -> Iterator[tuple[Node, str]]:
    """The calls in ``g``'s body of functions neither ``mine`` nor its own
    parameters or locals (function pointers), with the name called."""
    assert g.node is not None and g.info is not None
    return calls_in_body(g, code, mine | set(g.info.params) | g.info.locals)


def calls_in_body(g: FunctionUnit, code: bytes, skip: set[str]) -> Iterator[tuple[Node, str]]:
    """The calls in ``g``'s body of the names not in ``skip``, with the
    name called: found by their text (``code``: the file's, comments and
    strings blanked), then in the parse (walking every node of every body
    cost more than the rest of the IRQ call facts together)."""
    assert g.node is not None
    body = g.node.child_by_field_name("body")
    if body is None:
        return
    for m in _CALLED.finditer(code, body.start_byte, body.end_byte):
        n = m.group(1).decode()
        if n in skip or n in _NOT_CALLS:
            continue
        ident = g.src.root.descendant_for_byte_range(m.start(1), m.end(1))
        call = fnptrs.up(ident) if ident is not None and ident.type == "identifier" else None
        if call is not None and call.type == "call_expression" and call_name(g.src, call) == n:
            yield call, n


def direct_calls(g: FunctionUnit, code: bytes, mine: set[str]) -> Iterator[tuple[Node, str]]:
    """_direct_calls(), for the lock facts of such calls (lint/entryheld.py)."""
    return _direct_calls(g, code, mine)


def call_states(runs: Iterable[tuple[FunctionUnit, Result]], raw: bytes,
                defined: Iterable[str], boot: Iterable[FunctionUnit] = ()) -> dict[str, str]:
    """Per function the file calls but does not define, the IRQ state its
    calls agree on, for those whose every mention in the file's code is a
    call of a function analysed here reached with that state known ("on" or
    "off"): what the defining file may take as these callers' say.  The
    ``boot`` functions' runs are a bring-up's: IRQs off there are BOOT."""
    booting = set(boot)
    mine = set(defined)
    found: dict[str, list[str | None]] = {}
    code: bytes | None = None
    for g, res in runs:
        if g.cfg is None or g.info is None or g.node is None:
            continue
        if not any(st.fact("%irq") is not None for _, st in res.parents):
            continue  # no state known anywhere: its calls say nothing (counted short)
        if code is None:
            code = fnptrs.code_only(raw)
        calls = list(_direct_calls(g, code, mine))
        if not calls:
            continue
        states = node_states(res, g.info.acts)
        nodes = cfg_nodes(g.cfg)
        once = once_nodes(g.src, g.cfg)
        for c, n in calls:
            node = node_of(nodes, c)
            st, mover = states.get(node, (None, None)) if node is not None else (None, None)
            if node in once:
                st = None  # a set-up run once: the first caller's state
            elif node is not None and node not in states:
                st = "-"  # no path reaches it: says nothing, counted as seen
            elif mover is not None and mover != n:
                st = None
            elif st == "off" and g in booting:
                st = BOOT
            found.setdefault(n, []).append(st)
    if not found or code is None:
        return {}
    agreed = {n: s for n, got in found.items()
              if (s := meet(x for x in got if x != "-")) is not None}
    if not agreed:
        return {}
    # Any other mention (its address taken, a macro's body, a call in a
    # function not analysed) is a caller this file cannot state.
    counts: dict[str, int] = {}
    for w in _WORD.findall(code):
        if (t := w.decode()) in agreed:
            counts[t] = counts.get(t, 0) + 1
    return {n: s for n, s in agreed.items() if counts.get(n, 0) == len(found[n])}


def field_call_states(runs: Iterable[tuple[FunctionUnit, Result]],
                      raw: bytes) -> dict[str, str]:
    """Per field the file calls through, what its calls agree on ("?":
    they do not, or some is in a function not analysed).  The calls are
    found in the text, then in the parse and in their function's run."""
    code = fnptrs.code_only(raw)
    wanted = fields_called_in(code)
    if not wanted:
        return {}
    by_start = {g.node.start_byte: (g, res) for g, res in runs
                if g.cfg is not None and g.info is not None}
    found: dict[str, list[str | None]] = {}
    cache: dict[FunctionUnit, tuple[dict[int, tuple[str | None, str | None]],
                                    dict[tuple[int, int, str], int]]] = {}
    src = next(iter(by_start.values()))[0].src if by_start else None
    macros = fnptrs.field_macros(raw)
    for name, call in _field_calls(src, code, macros) if src is not None else ():
        fn: Node | None = call
        while fn is not None and fn.type != "function_definition":
            fn = fn.parent
        hit = by_start.get(fn.start_byte) if fn is not None else None
        if hit is None:
            continue  # in a function not analysed: counted short below
        g, res = hit
        if g not in cache:
            assert g.cfg is not None and g.info is not None
            cache[g] = (node_states(res, g.info.acts), cfg_nodes(g.cfg))
        states, nodes = cache[g]
        node = node_of(nodes, call)
        st, mover = states.get(node, (None, None)) if node is not None else (None, None)
        found.setdefault(name, []).append(None if mover is not None else st)
    out: dict[str, str] = {}
    for name, count in wanted.items():
        got = found.get(name, [])
        s = meet(got) if len(got) >= count else None
        out[name] = s if s is not None else "?"
    return out


def _field_calls(src: SourceFile, code: bytes,
                 macros: Mapping[str, int]) -> Iterable[tuple[str, Node]]:
    """(field, call) of the calls through a field the parse holds."""
    for m in FIELD_CALL.finditer(code):
        n = src.root.descendant_for_byte_range(m.start(1), m.end(1))
        if n is None or n.type != "field_identifier" or n.parent is None or \
                n.parent.type != "field_expression":
            continue
        call = fnptrs.up(n.parent)
        if call is not None and call.type == "call_expression":
            fn = call.child_by_field_name("function")
            if fn is not None and fnptrs.strip(fn) == n.parent:
                yield src.text(n), call
    for macro in macros:
        for m in whole_word(macro.encode()).finditer(code):
            n = src.root.descendant_for_byte_range(m.start(), m.end())
            p = n.parent if n is not None and n.type == "identifier" else None
            if p is not None and p.type == "call_expression" and \
                    (f := fnptrs.macro_field(src, p, macros)) is not None:
                yield f, p


# A note shown with a finding: (line, col, text), in the callee's file.
Note = tuple[int, int, str]



def witness_summary(state: str, caller: str, file: str, line: int,
                    literals: Iterable[int], unchecked: bool = False) -> Summary:
    """``unchecked``: the call may follow one after which Xen's
    check_lock() checks nothing (spin_debug_disable()): a context for the
    IRQ checks, none for XL017 (flavour ``UNCHECKED``)."""
    via = f"{caller}|{file}|{line}|{','.join(str(i) for i in sorted(literals))}"
    return Summary((Effect("irqentry", "spin", state, UNCHECKED if unchecked else "plain",
                           IRQ_KEY, None, via, inferred=True),), None)


UNCHECKED = "unchecked"


def external_witnesses(external: Mapping[str, Summary], checked: bool = False
                       ) -> dict[str, dict[str, tuple[str, str, int, frozenset[int]]]]:
    """Function name -> state -> (caller, file, line, literal arguments) of a
    call in another file reaching it in that state (WITNESS); ``checked``:
    only calls where check_lock() checks (witness_summary()).  Shared by
    the lints reading one mapping: read it, do not change it."""
    return of_mapping(external, ("witnesses", checked),
                      lambda: _external_witnesses(external, checked))


def _external_witnesses(external: Mapping[str, Summary], checked: bool
                        ) -> dict[str, dict[str, tuple[str, str, int, frozenset[int]]]]:
    out: dict[str, dict[str, tuple[str, str, int, frozenset[int]]]] = {}
    for k, s in external.items():
        if not k.startswith(WITNESS):
            continue
        if checked and any(e.flavour == UNCHECKED for e in s.effects):
            continue
        name, _, state = k[len(WITNESS):].partition("|")
        hops = witness_hops(s)
        if state not in STATES or not hops:
            continue
        out.setdefault(name, {})[state] = hops[0]
    return out


def witness_hops(s: Summary) -> list[tuple[str, str, int, frozenset[int]]]:
    """A WITNESS summary's calls, the nearest first: (caller, file, line,
    literal arguments) of the call of the function asked about, then of
    the calls that gave that caller its state, when the state came through
    other files' functions leaving IRQs as they found them
    (lint/witnesschain.py).  Empty when one is not such a call."""
    out: list[tuple[str, str, int, frozenset[int]]] = []
    for e in s.effects:
        parts = e.via.split("|")
        if e.action != "irqentry" or len(parts) != 4 or not parts[2].isdigit():
            return []
        lits = frozenset(int(i) for i in parts[3].split(",") if i.isdigit())
        out.append((parts[0], parts[1], int(parts[2]), lits))
    return out


def call_witnesses(runs: Iterable[tuple[FunctionUnit, Result]], raw: bytes,
                   defined: Iterable[str], states: frozenset[str] = frozenset({"off"}),
                   unchecked: Callable[[FunctionUnit], set[int]] | None = None
                   ) -> dict[str, dict[str, Summary]]:
    """Per function the file calls but does not define (nor ``defined``
    names: the lock table's), per IRQ state of ``states`` some direct call
    of it is reached in on every path (in a run whose entry is no guess),
    the first such call: one caller's word, which says what the callee
    meets in that caller's context even when other callers differ.  Only
    IRQs off by default: entered with them on, no IRQ check finds more than
    with the entry unknown.  ``unchecked(g)``: the CFG nodes of g where
    check_lock() checks nothing (irqtakes.unchecked_nodes()): a call there
    is marked so."""
    mine = set(defined)
    out: dict[str, dict[str, Summary]] = {}
    code: bytes | None = None
    for g, res in runs:
        if g.cfg is None or g.info is None or g.node is None:
            continue
        if not any(st.fact("%irq") is not None for _, st in res.parents):
            continue
        if code is None:
            code = fnptrs.code_only(raw)
        at: dict[int, tuple[str | None, str | None]] | None = None
        nodes: dict[tuple[int, int, str], int] = {}
        for call, n in _direct_calls(g, code, mine):
            if at is None:
                at, nodes = node_states(res, g.info.acts), cfg_nodes(g.cfg)
            node = node_of(nodes, call)
            st, mover = at.get(node, (None, None)) if node is not None else (None, None)
            if st not in states or (mover is not None and mover != n) or \
                    st in out.get(n, {}) or node in once_nodes(g.src, g.cfg):
                continue
            lits = [i for i, a in enumerate(call_args(call))
                    if _LITERAL.match(" ".join(g.src.text(a).split()))]
            out.setdefault(n, {})[st] = witness_summary(
                st, g.name, g.src.path, g.src.line_of(call.start_byte),
                lits, unchecked is not None and node in unchecked(g))
    return out


def caller_contexts(names: Iterable[str], units: Sequence[FunctionUnit],
                    refs: fnptrs.FnRefs, by_node: Mapping[int, FunctionUnit], run: Run,
                    first: Mapping[FunctionUnit, Result], entries: Mapping[str, str],
                    guessed: Iterable[str],
                    seeds: Mapping[str, Mapping[str, tuple[Note, ...]]] | None = None,
                    intended: Callable[[FunctionUnit, int], bool] | None = None,
                    states: frozenset[str] = frozenset({"off"})
                    ) -> dict[str, dict[str, tuple[Note, ...]]]:
    """Per function of ``names`` whose callers do not all agree (no entry in
    ``entries``), each IRQ state one of its callers calls it in on every
    path to that call, with the notes naming that caller (and its own
    callers', when its state there came from them): what the function
    meets in that caller's context.  ``guessed``: the functions whose entry
    in ``entries`` is this file's guess (irqsafe.sound_runs()): their call
    sites are read from the run with the entry unknown.  ``seeds``: the
    states other files' calls give (external_witnesses()).
    ``intended(g, node)``: is the call at g's CFG node one whose callee's
    IRQ moves the caller means (its own section handed over to the
    callee's enable): no context then.  ``states``: the contexts looked
    for (call_witnesses())."""
    by_name = {f.name: f for f in units}
    bad = set(guessed)
    want = {n for n in names if n not in entries and n in by_name}
    # Only the states looked for: another file's call in another state is
    # no context here.
    ctx: dict[str, dict[str, tuple[Note, ...]]] = {
        n: got for n, s in (seeds or {}).items() if n in want
        and (got := {st: v for st, v in s.items() if st in states})}
    sites = Sites(run, first)
    tested = {n: tested_params(by_name[n]) for n in want}
    # A direct call is a context whatever else the name is used for (an
    # escaping address only hides other callers).
    calls = {n: list(refs.direct.get(n, [])) if (c := refs.callers(n)) is None else c[0]
             for n in want}
    for _ in range(ROUNDS):
        changed = False
        for name in sorted(want):
            for caller, call in calls[name]:
                g = by_node.get(caller.start_byte)
                if g is None or specialised(g.src, call, tested[name]):
                    continue
                if g.name in entries:
                    opts: list[tuple[str | None, tuple[Note, ...]]] = \
                        [(None if g.name in bad else entries[g.name], ())]
                else:
                    opts = [(None, ())] + list(ctx.get(g.name, {}).items())
                for e, before in opts:
                    s = sites.state(g, e, call, name)
                    if s not in states or s in ctx.get(name, {}):
                        continue
                    node = node_of(sites.calls[g], call)
                    if intended is not None and node is not None and intended(g, node):
                        continue
                    line, col = g.src.line_col(call.start_byte)
                    note = (line, col, f"'{name}' called here with IRQs {s}, in '{g.name}'")
                    ctx.setdefault(name, {})[s] = (*before, note)
                    changed = True
        if not changed:
            break
    return ctx


def entry_states(units: list[FunctionUnit], refs: fnptrs.FnRefs,
                 by_node: Mapping[int, FunctionUnit], run: Run,
                 first: Mapping[FunctionUnit, Result] | None = None,
                 external: Mapping[str, str] | None = None,
                 settled: Mapping[str, str] | None = None,
                 own: Mapping[str, str] | None = None) -> dict[str, str]:
    """Function name -> "on"/"off" for the ``units`` whose callers all agree.

    ``by_node``: the file's functions by their definition's start byte (the
    callers); ``run(g, entry)``: g's dataflow with that entry state (None
    if it cannot run); ``first``: runs already made with the entry unknown;
    ``external``: per struct field, what the other files' calls through it
    agree on ("on"/"off"; any other value: they do not); ``settled``: per
    function the other files call, what all their mentions of it, calls
    each, agree on (irqcalls.settle()): the callers a function other files
    can call has besides this file's; ``own``: the functions, static ones
    too, whose own body states their way in (irqroots.self_stated()),
    their state met into ``settled``."""
    sites = Sites(run, first or {})
    ext = external or {}
    others = settled or {}
    mine = own or {}
    callers: dict[str, tuple[list[fnptrs.Site], list[str]]] = {}
    tested: dict[str, frozenset[int]] = {}
    for f in units:
        c = refs.callers(f.name)
        outside = [ext[n] for n in refs.fields_of(f.name) if n in ext]
        if f.name in others and (not f.is_static or f.name in mine):
            outside.append(others[f.name])
        if c is not None and (c[0] or c[1] or outside):
            callers[f.name] = (c[0], c[1] + outside)
            tested[f.name] = tested.get(f.name, frozenset()) | tested_params(f)
    entry: dict[str, str] = {}
    for _ in range(ROUNDS):
        new: dict[str, str] = {}
        for name, (calls, cbs) in callers.items():
            got: list[str | None] = list(cbs)
            for caller, call in calls:
                g = by_node.get(caller.start_byte)
                if g is None or specialised(g.src, call, tested[name]):
                    got.append(None)
                    continue
                s = sites.state(g, entry.get(g.name), call, name)
                if s != "-":
                    got.append(s)
            s = meet(got)
            if s is not None:
                new[name] = s
        if new == entry:
            return entry
        entry = new
    return {}


__all__ = ["BOOT", "CALL_KEY", "ON_TOO", "STATED", "Sites", "UNCHECKED", "WANT", "WITNESS",
           "call_states", "call_witnesses", "caller_contexts", "cfg_nodes", "direct_calls",
           "entry_matters", "entry_states", "external_calls", "external_witnesses", "meet",
           "node_of", "node_states", "witness_hops", "witness_summary"]

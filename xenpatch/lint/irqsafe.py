"""XL017: a lock taken with IRQs known off at one take and known on at
another, within one file.

Xen's check_lock() (common/spinlock.c) latches each lock's IRQ safety at
its first take and BUG()s in a debug build when a later take disagrees: an
IRQ-safe lock is always held with IRQs off, an IRQ-unsafe one always with
them on.  A lock held with IRQs on by a CPU whose interrupt handler (or an
IRQ-context rendezvous) then wants it, or spins for it with IRQs off while
the holder takes that interrupt, deadlocks.

A take's IRQ state is the one the held-lock dataflow carries
(analysis/irqstate.py, with the entry states of analysis/irqentry.py): an
``_irq``/``_irqsave`` form is a take with IRQs off; a plain one is off or on
when every path reaching it says so, or else when every path leaving it
states it before any IRQ move (irqtakes.ahead_states(): an ``_irq`` lock op,
whose Xen implementation asserts IRQs on, or an assertion on
local_irq_is_enabled()) and no path reaching it says otherwise; it says
nothing otherwise.  Trylocks
are left out: one with IRQs off cannot spin (Xen exempts it since 4.15),
and one with IRQs on is rare enough not to be worth the branch outcomes.
Locks are compared by shape (the declared struct type of the head and the
field path, or the file-scope expression): every lock of one struct field
keeps one convention.  Which lock kinds check_lock() covers depends on the
tree's era: rules/lint.toml's [[irqsafe.era]].
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch.analysis import fnptrs
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.functions import FunctionInfo, shape_fn
from xenpatch.analysis.irqstate import BOOT, IRQ_FLAVOURS, is_irq_move, transfer
from xenpatch.analysis.irqtakes import ahead_at, ahead_states, settle
from xenpatch.analysis.lockkeys import KEY_HEAD
from xenpatch.analysis.locktable import KINDS
from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.errors import XenpatchError
from xenpatch.graphs import reachable
from xenpatch.lint.checks import CHECKS, RawFinding

CODE = "XL017"


@dataclass(frozen=True)
class Era:
    """The lock kinds check_lock() covers in trees whose ``file`` (under
    the hypervisor directory) contains ``contains``; no file: any tree."""

    kinds: frozenset[str]
    file: str = ""
    contains: str = ""


def load_eras(data: Any, where: str) -> tuple[Era, ...]:
    """lint.toml's ``[[irqsafe.era]]`` list."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise XenpatchError(f"{where}: irqsafe.era must be an array of tables")
    out: list[Era] = []
    for i, e in enumerate(data):
        kinds = e.get("covers") if isinstance(e, dict) else None
        if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
            raise XenpatchError(f"{where}: irqsafe.era[{i}].covers must list lock kinds "
                                f"of {', '.join(KINDS)}")
        file, contains = str(e.get("file", "")), str(e.get("contains", ""))
        if bool(file) != bool(contains):
            raise XenpatchError(f"{where}: irqsafe.era[{i}]: file and contains go together")
        out.append(Era(frozenset(kinds), file, contains))
    return tuple(out)


def era_kinds(eras: Sequence[Era], xen: Path | None) -> frozenset[str]:
    """The kinds of the first era that applies to the tree at ``xen`` (the
    directory holding include/xen/); outside a tree only an era without a
    file applies."""
    for e in eras:
        if not e.file:
            return e.kinds
        if xen is None:
            continue
        try:
            text = (xen / e.file).read_text(errors="replace")
        except OSError:
            continue
        if e.contains in text:
            return e.kinds
    return frozenset()


Site = tuple[int, int, tuple[str, str], bool]  # node, act index, lock identity, plain


def sites(f: FunctionUnit, kinds: frozenset[str]) -> list[Site]:
    """f's takes of ``kinds`` of a lock with an identity (table ops and
    wrappers: a helper's take may follow its own IRQ moves)."""
    info = f.info
    if info is None:
        return []
    out: list[Site] = []
    for n, acts in enumerate(info.acts):
        for i, a in enumerate(acts):
            if isinstance(a, OpAct) and a.effect.action == "acquire" and \
                    not a.effect.inferred and a.effect.kind in kinds and \
                    (ident := identity(info, a.effect.key)) is not None:
                out.append((n, i, ident, a.effect.flavour not in IRQ_FLAVOURS))
    return out


def contested(units: Iterable[FunctionUnit], kinds: frozenset[str]
              ) -> dict[FunctionUnit, list[Site]]:
    """The takes that may meet another: of a lock the file takes at two
    sites or more, one of them plain (only a plain take can have IRQs on).
    What is worth knowing IRQ states for, by function."""
    by_fn = {f: sites(f, kinds) for f in units}
    count: dict[tuple[str, str], list[bool]] = {}
    for lst in by_fn.values():
        for _, _, ident, plain in lst:
            count.setdefault(ident, []).append(plain)
    keep = {k for k, v in count.items() if len(v) >= 2 and any(v)}
    out = {f: [x for x in lst if x[2] in keep] for f, lst in by_fn.items()}
    return {f: lst for f, lst in out.items() if lst}


@dataclass(frozen=True)
class Take:
    f: FunctionUnit
    node: int
    state: State | None  # a state reaching a plain take: the witness path's
    line: int
    col: int
    key: str
    via: str
    off: bool
    plain: bool
    ident: tuple[str, str]
    ahead: bool = False  # the state from the paths leaving it (irqtakes.ahead_at())


def identity(info: FunctionInfo, key: str) -> tuple[str, str] | None:
    """What names the same lock in every function: (struct type, field
    path) for a lock reached through a typed variable, ("", key) for one of
    file scope; None when the key names no class (``*l``: any lock; a
    variable of unknown type; an expression)."""
    m = KEY_HEAD.match(key)
    if m is None and key.startswith("&"):
        return _through_address(info, key[1:])
    if m is None or m.group(1):
        return None
    head, rest = m.group(2), key[m.end():]
    if head in info.params or head in info.locals:
        t, path = shape_fn(info)(key)
        if _untyped(t):
            # ``struct ring *r = data;`` names the lock as data->lock (the
            # alias is resolved): the local's type is the one it has.
            typed = {info.local_types.get(v) for v, a in info.aliases.items() if a == head}
            typed.discard(None)
            t = typed.pop() if len(typed) == 1 else ""  # type: ignore[assignment]
        if _untyped(t) or not rest.startswith(("->", ".")):
            return None
        return (" ".join(t.split()), path)
    if rest.startswith(".") and (through := _through_address(info, head + "->" + rest[1:])):
        # G.lock named through a typed local holding &G (the alias resolved).
        return through
    return ("", key)


def _through_address(info: FunctionInfo, key: str) -> tuple[str, str] | None:
    """``G->lock`` of ``G.lock`` or ``&G->lock``: a typed local pointing at
    the object G (``struct ch *ch = &G;``, the alias resolved) names its
    lock by the local's type."""
    m = KEY_HEAD.match(key)
    rest = key[m.end():] if m is not None else ""
    if m is None or m.group(1) or not rest.startswith("->"):
        return None
    typed = {info.local_types.get(v) or "" for v, a in info.aliases.items()
             if a.replace(" ", "") == "&" + m.group(2)}
    typed.discard("")
    t = typed.pop() if len(typed) == 1 else ""
    return None if _untyped(t) else (" ".join(t.split()), rest)


def _untyped(t: str) -> bool:
    """No type, or ``void *``: nothing that says which struct."""
    return t.replace("const", "").replace("volatile", "").strip(" *") in ("", "void")


def known_takes(f: FunctionUnit, res: Result, wanted: list[Site]) -> Iterable[Take]:
    """The takes at ``wanted`` whose IRQ state every path agrees on."""
    info = f.info
    if info is None or not wanted:
        return
    plain = {(n, i) for n, i, _, p in wanted if p}
    nodes = {n for n, _ in plain}
    # (node, index of the act) -> states seen there, and a witness state.
    seen: dict[tuple[int, int], set[str | None]] = {}
    witness: dict[tuple[int, int], State] = {}
    for n, st in res.parents if nodes else ():
        if n not in nodes:
            continue
        cur = st
        for i, a in enumerate(info.acts[n]):
            if (n, i) in plain:
                v = None if cur.fact(UNKNOWN) is not None else cur.fact("%irq")
                seen.setdefault((n, i), set()).add(v)
                witness.setdefault((n, i), st)
            if is_irq_move(a):
                cur = transfer(cur, a)  # type: ignore[arg-type]
    aheads: dict[int, str] | None = None
    for n, i, ident, p in wanted:
        said = False
        a = info.acts[n][i]
        assert isinstance(a, OpAct)
        if not p:
            off: bool = True
        elif seen.get((n, i)) in ({"on"}, {"off"}):
            off = seen[(n, i)] == {"off"}
        elif (n, i) in seen and f.cfg is not None:
            # Not known from the paths reaching it: from those leaving it,
            # where every one states the state before any move.
            if aheads is None:
                aheads = ahead_states(f.cfg, info.acts)
            got = settle(None, seen[(n, i)],
                         ahead_at(aheads, f.cfg, info.acts, n, a.line, a.col))
            if got is None:
                continue
            off = got == "off"
            said = True
        else:
            continue
        yield Take(f, n, witness.get((n, i)), a.line, a.col, a.effect.key, a.effect.via, off,
                    p, ident, said)


def sound_runs(order: Sequence[FunctionUnit], first: Mapping[FunctionUnit, Result],
               final: Mapping[FunctionUnit, Result], entries: Mapping[str, str],
               refs: Callable[[], fnptrs.FnRefs],
               settled: Mapping[str, str] | None = None) -> dict[FunctionUnit, Result]:
    """The runs whose IRQ states XL017 may read: those with the entry
    states of irqentry.py (``final``), except where the entry is a guess
    -- a function other files can call, entered as this file's callers
    alone say -- or rests on one: a function a call site of which (direct,
    or through a field it is stored in) is in such a function.  Those keep
    the run with the entry unknown (``first``).  ``refs``: the file's
    function references (fnptrs.index), asked only when there is a guess;
    ``settled``: the functions whose other files' callers the tree has
    stated (irqentry.external_calls()): their entry is no guess."""
    guessed = guessed_entries(order, entries, refs, settled)
    return {f: (first.get(f, res) if f.name in guessed else res) for f, res in final.items()}


def guessed_entries(order: Sequence[FunctionUnit], entries: Mapping[str, str],
                    refs: Callable[[], fnptrs.FnRefs],
                    settled: Mapping[str, str] | None = None) -> set[str]:
    """The functions of ``entries`` whose entry state is a guess or rests
    on one (sound_runs())."""
    others = settled or {}
    guessed = {f.name for f in order
               if not f.is_static and f.name in entries and f.name not in others}
    # A bring-up's state says nothing XL017 or another file reads
    # (irqstate.BOOT).
    guessed |= {n for n, s in entries.items() if s == BOOT}
    if guessed:
        index = refs()
        by_start = {f.node.start_byte: f.name for f in order}
        # Caller -> the functions with an entry state it calls.
        calls: dict[str, set[str]] = {}
        for name in set(entries) - guessed:
            sites = index.callers(name)
            for caller, _ in sites[0] if sites is not None else ():
                if (c := by_start.get(caller.start_byte)) is not None:
                    calls.setdefault(c, set()).add(name)
        guessed = reachable(guessed, lambda n: calls.get(n, ()))
    return guessed


def off_note(other: Take) -> tuple[int, int, str]:
    """The note at the take with IRQs off a finding names."""
    how = f"'{other.via}'" if not other.plain else \
        f"'{other.via}', every path from which states IRQs off" if other.ahead else \
        f"'{other.via}' with IRQs off on every path to it"
    return (other.line, other.col,
            f"'{other.key}' taken with IRQs off here, in '{other.f.name}' ({how})")


def irq_safety_findings(done: Iterable[tuple[FunctionUnit, Result]],
                        wanted: Mapping[FunctionUnit, list[Site]]
                        ) -> list[tuple[FunctionUnit, RawFinding]]:
    """One finding per take with IRQs known on of a lock some take of the
    file holds with IRQs known off, with a note at that take.  ``wanted``:
    the takes to look at (contested())."""
    by_lock: dict[tuple[str, str], tuple[list[Take], list[Take]]] = {}
    for f, res in done:
        for t in known_takes(f, res, wanted.get(f, [])):
            by_lock.setdefault(t.ident, ([], []))[t.off].append(t)
    out: list[tuple[FunctionUnit, RawFinding]] = []
    for ons, offs in by_lock.values():
        if not ons or not offs:
            continue
        other = min(offs, key=lambda t: (t.line, t.col))
        note = off_note(other)
        for t in sorted(ons, key=lambda t: (t.line, t.col)):
            msg = CHECKS[CODE].message.format(
                via=t.via, key=t.key, other_line=other.line, other_fn=other.f.name)
            out.append((t.f, RawFinding(CODE, t.node, t.state, t.line, t.col, t.key, msg,
                                        notes=(note,))))
    return out


__all__ = ["CODE", "Era", "Take", "contested", "era_kinds", "guessed_entries", "identity",
           "irq_safety_findings", "known_takes", "load_eras", "off_note", "sites", "sound_runs"]

"""Differential test of a lock conversion.

Each converted function comes as ``(name, before, after)``: its lock program
on the old lock (e.g. rwlock read/write) and on the new one (percpu ops with
the class).  Every multiset of 2-3 functions runs concurrently, once with
the before-programs and once with the after-programs, and the hazard kinds
found are compared.  A kind found only after the conversion is a
regression ("new"); one found on both sides is "preexisting", so a hazard in
converted code is never silent.  A kind found only before is "fixed" only
when it truly disappears: if the after side's release build (no ASSERTs)
still reaches it, an ASSERT merely fires first and it is "masked".
Likewise a kind found only after whose before side reaches it once its
ASSERTs are off is "preexisting".
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from xenpatch.runtime.explore import (
    Hazard,
    Result,
    explore,
    follow_op_order,
    format_replay,
    format_schedule,
    minimise,
    op_order,
)
from xenpatch.runtime.machine import Config, Machine
from xenpatch.runtime.programs import LockDecl, Program, Scenario, scenario
from xenpatch.runtime.sections import abstract_pair, mixes_in, reducible

Status = Literal["new", "fixed", "masked", "preexisting"]


@dataclass(frozen=True)
class Trace:
    """A schedule of one side, replayable.  ``hazard`` is what it reaches;
    None for the side where the hazard does not occur, whose schedule then
    runs the same interleaving of operations as the other side's hazard."""

    scenario: Scenario
    config: Config
    schedule: tuple[int, ...]
    hazard: Hazard | None
    replay: str  # step-by-step text


@dataclass(frozen=True)
class Divergence:
    functions: tuple[str, ...]  # the function on each CPU
    kind: str  # hazard kind (explore.HAZARD_KINDS)
    status: Status
    before: Trace
    after: Trace
    # Set when the traces are of the programs' abstraction (see sections.py):
    # the functions' own before/after scenarios, for ``concrete``.
    explored_as: tuple[Scenario, Scenario] | None = None

    @property
    def existed_before(self) -> bool:
        return self.status != "new"


@dataclass
class Report:
    """Divergences, and the combinations a bound stopped before they were
    explored in full (their absence of divergence proves nothing)."""

    divergences: list[Divergence] = field(default_factory=list)
    combinations: int = 0
    incomplete: list[tuple[str, ...]] = field(default_factory=list)
    states: int = 0
    explored: int = 0  # distinct multisets explored (the rest reused)


def difftest(
    pairs: Sequence[tuple[str, Program, Program]],
    cpus: Iterable[int] = (2, 3),
    before: Config | None = None,
    after: Config | None = None,
    locks_before: Sequence[LockDecl] = (),
    locks_after: Sequence[LockDecl] = (),
    max_states: int = 2_000_000,
) -> list[Divergence]:
    """Run every multiset of ``cpus`` functions before and after; return one
    Divergence per (combination, hazard kind) found on either side.

    Before- and after-programs of a function must have the same number of
    ops (a conversion replaces lock calls one for one), so that a hazard's
    interleaving of operations can be replayed on the other side.
    ``locks_before``/``locks_after`` fix lock types, owners and address order
    (first declared = lowest address); undeclared locks are inferred."""
    rep = difftest_report(pairs, cpus, before, after, locks_before, locks_after, max_states)
    if rep.incomplete:
        raise RuntimeError(f"state bound hit for {rep.incomplete[0]}")
    return rep.divergences


def difftest_report(
    pairs: Sequence[tuple[str, Program, Program]],
    cpus: Iterable[int] = (2, 3),
    before: Config | None = None,
    after: Config | None = None,
    locks_before: Sequence[LockDecl] = (),
    locks_after: Sequence[LockDecl] = (),
    max_states: int = 2_000_000,
    progress: Callable[[int, int], None] | None = None,
    reduce: bool = True,
    abstraction: Callable[[Program, Program], tuple[Program, Program]] = abstract_pair,
) -> Report:
    """``difftest`` that reports the combinations a bound cut short instead
    of raising; ``progress(done, total)`` is called after each combination.

    With ``reduce`` (and models the argument of xenpatch.runtime.sections
    holds for), each combination is explored as the multiset of its
    programs' ``abstraction``, once per multiset; every combination is still
    reported under its own functions.  ``abstraction`` is a parameter only
    so that tests can show a wrong one is caught."""
    cfg_b = before or Config()
    cfg_a = after or cfg_b
    for name, b, a in pairs:
        if len(b.ops) != len(a.ops):
            raise ValueError(f"{name}: {len(b.ops)} ops before, {len(a.ops)} after")
    on = reduce and reducible(cfg_b, cfg_a)
    # Each distinct explored pair gets an id; a combination's key is the
    # sorted ids, so the same multiset is explored once.
    ids: dict[tuple[Program, Program], int] = {}
    runs: list[tuple[Program, Program]] = []

    def rid(pair: tuple[Program, Program]) -> int:
        if pair not in ids:
            ids[pair] = len(runs)
            runs.append(pair)
        return ids[pair]

    exact = [rid((b, a)) for _, b, a in pairs]
    abstract = [rid(abstraction(b, a)) if on else exact[k] for k, (_, b, a) in enumerate(pairs)]
    rep = Report()
    memo: dict[tuple[int, ...], _Explored] = {}
    combos = [combo for n in cpus
              for combo in itertools.combinations_with_replacement(range(len(pairs)), n)]
    for done, combo in enumerate(combos, 1):
        real = [exact[k] for k in combo]
        use = [abstract[k] for k in combo]
        if use != real and mixes_in([p for k in combo for p in pairs[k][1:]]):
            use = real
        key = tuple(sorted(use))
        ex = memo.get(key)
        if ex is None:
            ex = memo[key] = explore_combination([runs[i] for i in use], use, cfg_b, cfg_a,
                                                 locks_before, locks_after, max_states)
            rep.states += ex.states
            rep.explored += 1
        # The functions in the CPU order the explored scenario has them.
        left = list(zip(combo, use, strict=True))
        order = []
        for i in ex.order:
            got = next(kv for kv in left if kv[1] == i)
            left.remove(got)
            order.append(got[0])
        names = tuple(pairs[k][0] for k in order)
        rep.combinations += 1
        if not ex.complete:
            rep.incomplete.append(names)
        shown = None
        if use != real:
            shown = (scenario([pairs[k][1] for k in order], locks_before),
                     scenario([pairs[k][2] for k in order], locks_after))
        for kind, status, tb, ta in ex.found:
            rep.divergences.append(Divergence(names, kind, status, tb, ta, shown))
        if progress is not None:
            progress(done, len(combos))
    return rep


@dataclass
class _Explored:
    """One explored multiset: its CPU order, and per hazard kind the status
    and both sides' traces."""

    order: tuple[int, ...]
    found: list[tuple[str, Status, Trace, Trace]]
    complete: bool
    states: int


def explore_combination(run: Sequence[tuple[Program, Program]], order: Sequence[int],
                        cfg_b: Config, cfg_a: Config, locks_before: Sequence[LockDecl],
                        locks_after: Sequence[LockDecl], max_states: int) -> _Explored:
    """One combination, its programs on CPUs 0.. in ``run``'s order, explored
    as it is on both sides (``order``: the ids to record)."""
    sb = scenario([b for b, _ in run], locks_before)
    sa = scenario([a for _, a in run], locks_after)
    mb, rb = _run(sb, cfg_b, max_states)
    ma, ra = _run(sa, cfg_a, max_states)
    found = _compare(sb, sa, mb, rb, ma, ra, cfg_b, cfg_a, max_states)
    return _Explored(tuple(order), found, rb.complete and ra.complete, rb.states + ra.states)


def _compare(sb: Scenario, sa: Scenario, mb: Machine, rb: Result, ma: Machine, ra: Result,
             cfg_b: Config, cfg_a: Config,
             max_states: int) -> list[tuple[str, Status, Trace, Trace]]:
    found: list[tuple[str, Status, Trace, Trace]] = []
    for kind in sorted(rb.kinds() | ra.kinds()):
        hb, ha = _first(mb, rb, kind), _first(ma, ra, kind)
        status: Status
        if hb and ha:
            status = "preexisting"
        elif ha:
            status = "preexisting" if _unmasked(sb, cfg_b, kind, max_states) else "new"
        else:
            status = "masked" if _unmasked(sa, cfg_a, kind, max_states) else "fixed"
        found.append((kind, status, _trace(mb, hb, ma, ha), _trace(ma, ha, mb, hb)))
    return found


def concrete(d: Divergence, max_states: int = 2_000_000) -> Divergence:
    """``d`` with traces of its functions' own programs, when it was found
    on their abstraction (the reduction decides kinds; a report shows the
    real schedule).  The real exploration must find the same kind with the
    same status, else the reduction was wrong: that raises."""
    if d.explored_as is None:
        return d
    sb, sa = d.explored_as
    cfg_b, cfg_a = d.before.config, d.after.config
    mb, rb = _run(sb, cfg_b, max_states)
    ma, ra = _run(sa, cfg_a, max_states)
    if not (rb.complete and ra.complete):
        return d  # the abstraction's traces, still labelled as such
    for kind, status, tb, ta in _compare(sb, sa, mb, rb, ma, ra, cfg_b, cfg_a, max_states):
        if kind == d.kind:
            if status != d.status:
                break
            return Divergence(d.functions, kind, status, tb, ta)
    raise AssertionError(f"difftest reduction unsound: {d.kind} ({d.status}) with "
                         f"{' | '.join(d.functions)} not found on the programs themselves")


def _unmasked(sc: Scenario, cfg: Config, kind: str, max_states: int) -> bool:
    """Does the side reach a hazard of this kind once its debug checks (the
    ASSERTs and lock tracking that stop a debug build first) are off?"""
    if not cfg.debug or kind in ("assert", "bug"):
        return False
    _, res = _run(sc, dataclasses.replace(cfg, build="release"), max_states)
    return kind in res.kinds()


def _run(sc: Scenario, cfg: Config, max_states: int) -> tuple[Machine, Result]:
    m = Machine(sc, cfg)
    # Symmetry: the same function on several CPUs is one orbit of states.
    return m, explore(m, max_states=max_states, symmetry=True, shortest=False)


class Progress:
    """A one-line counter on stderr, only when it is a terminal."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.on = sys.stderr.isatty()
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self.on:
            end = "\n" if done == total else ""
            print(f"\r{self.what}: {done}/{total}, {time.monotonic() - self.t0:.0f}s",
                  end=end, file=sys.stderr, flush=True)


def _first(m: Machine, res: Result, kind: str) -> Hazard | None:
    """The hazard of this kind to show, its schedule minimised (the search
    skips the unreduced shortest-schedule pass: only one per kind is shown)."""
    found = res.of_kind(kind)
    return minimise(m, found[0]) if found else None


def _trace(m: Machine, h: Hazard | None, other: Machine, other_h: Hazard | None) -> Trace:
    if h is not None:
        return Trace(m.sc, m.cfg, h.schedule, h, format_replay(m, h))
    assert other_h is not None
    sched = follow_op_order(m, op_order(other, other_h.schedule))
    title = "same interleaving of operations: no such hazard"
    return Trace(m.sc, m.cfg, sched, None, format_schedule(m, sched, title))


def summarise_repeats(divergences: list[Divergence]) -> list[str]:
    """One line per group of divergences of one status and kind that share a
    program, instead of one per combination: a one-sided program pairs with
    every other program and would otherwise repeat its hazard thousands of
    times.  Greedy: the program in most of the remaining combinations first;
    a combination no other shares keeps its own line."""
    lines: list[str] = []
    by_head: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for d in divergences:
        by_head.setdefault((d.status, d.kind), []).append(d.functions)
    for (status, kind), combos in by_head.items():
        left = sorted(set(combos))
        while left:
            count: dict[str, int] = {}
            for combo in left:
                for name in set(combo):
                    count[name] = count.get(name, 0) + 1
            name, n = min(count.items(), key=lambda kv: (-kv[1], kv[0]))
            if n < 2:
                lines.extend(f"{status}: {kind} with " + " | ".join(c) for c in left)
                break
            group = [c for c in left if name in c]
            partners = sorted({" + ".join(_without(c, name)) or name for c in group})
            lines.append(f"{status}: {kind} with {name} and each of {len(partners)}: "
                         + ", ".join(partners))
            left = [c for c in left if name not in c]
    return lines


def _without(combo: tuple[str, ...], name: str) -> tuple[str, ...]:
    """``combo`` less one occurrence of ``name`` (a program may be paired with itself)."""
    i = combo.index(name)
    return combo[:i] + combo[i + 1:]


def format_divergence(d: Divergence) -> str:
    """Both sides of a divergence, for people."""
    head = f"{d.status}: {d.kind} with " + " | ".join(
        f"cpu{i}={name}" for i, name in enumerate(d.functions))
    parts = [head]
    for side, t in (("before", d.before), ("after", d.after)):
        clean = "" if t.hazard else f", no {d.kind} on any schedule"
        parts.append(f"  {side} ({t.config.lock_model} {t.config.build}{clean}):")
        parts.extend("    " + line for line in t.replay.splitlines())
    if d.explored_as is not None:
        parts.append("  (schedules of the functions' read sections, each once: the "
                     "lock-relevant programs the combination was explored as)")
    return "\n".join(parts)

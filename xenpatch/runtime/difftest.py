"""Differential test of a lock conversion.

Each converted function comes as ``(name, before, after)``: its lock program
on the old lock (e.g. rwlock read/write) and on the new one (percpu ops with
the class).  Every multiset of 2-3 functions runs concurrently, once with
the before-programs and once with the after-programs, and the hazard kinds
found are compared.  A kind found only after the conversion is a
regression ("new"), only before a fix ("fixed"); one found on both sides is
reported as "preexisting" so a hazard in converted code is never silent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from xenpatch.runtime.explore import Hazard, Result, explore, format_replay
from xenpatch.runtime.machine import Config, Machine
from xenpatch.runtime.programs import LockDecl, Program, Scenario, scenario

Status = Literal["new", "fixed", "preexisting"]


@dataclass(frozen=True)
class Trace:
    """A hazard of one side with its minimal schedule, replayable."""

    scenario: Scenario
    config: Config
    hazard: Hazard
    replay: str  # step-by-step text


@dataclass(frozen=True)
class Divergence:
    functions: tuple[str, ...]  # the function on each CPU
    kind: str  # hazard kind (explore.HAZARD_KINDS)
    status: Status
    before: Trace | None
    after: Trace | None

    @property
    def existed_before(self) -> bool:
        return self.before is not None


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

    ``locks_before``/``locks_after`` fix lock types, owners and address order
    (first declared = lowest address); undeclared locks are inferred."""
    cfg_b = before or Config()
    cfg_a = after or cfg_b
    out: list[Divergence] = []
    for n in cpus:
        for combo in itertools.combinations_with_replacement(range(len(pairs)), n):
            names = tuple(pairs[k][0] for k in combo)
            sc_b = scenario([pairs[k][1] for k in combo], locks_before)
            sc_a = scenario([pairs[k][2] for k in combo], locks_after)
            res_b = _run(sc_b, cfg_b, max_states)
            res_a = _run(sc_a, cfg_a, max_states)
            kinds = sorted(res_b[1].kinds() | res_a[1].kinds())
            for kind in kinds:
                tb = _trace(sc_b, cfg_b, *res_b, kind)
                ta = _trace(sc_a, cfg_a, *res_a, kind)
                status: Status = "preexisting" if tb and ta else ("new" if ta else "fixed")
                out.append(Divergence(names, kind, status, tb, ta))
    return out


def _run(sc: Scenario, cfg: Config, max_states: int) -> tuple[Machine, Result]:
    m = Machine(sc, cfg)
    res = explore(m, max_states=max_states)
    if not res.complete:
        raise RuntimeError(f"state bound hit for {sc.programs}")
    return m, res


def _trace(sc: Scenario, cfg: Config, m: Machine, res: Result, kind: str) -> Trace | None:
    found = res.of_kind(kind)
    if not found:
        return None
    h = found[0]
    return Trace(sc, cfg, h, format_replay(m, h))


def format_divergence(d: Divergence) -> str:
    """Both sides of a divergence, for people."""
    head = f"{d.status}: {d.kind} with " + " | ".join(
        f"cpu{i}={name}" for i, name in enumerate(d.functions))
    parts = [head]
    for side, t in (("before", d.before), ("after", d.after)):
        if t is None:
            parts.append(f"  {side}: no {d.kind} on any schedule")
        else:
            parts.append(f"  {side} ({t.config.lock_model} {t.config.build}):")
            parts.extend("    " + line for line in t.replay.splitlines())
    return "\n".join(parts)

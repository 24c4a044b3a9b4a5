"""The state a path carries through the held-lock analysis (dataflow.py),
what a run returns, and how an observer watches it: shared by the engine,
the summaries and the lint's checks, none of which needs the engine itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from xenpatch.analysis.locktable import Effect
from xenpatch.c.cfg import Cfg

# A fact set on paths through an effect nothing can be said of (a helper
# the analysis could not follow): no finding is reported on such a path.
UNKNOWN = "!unknown"

@dataclass(frozen=True, slots=True)
class Held:
    key: str
    kind: str
    mode: str
    flavour: str
    owner: str | None
    via: str
    count: int
    entry: bool  # held by the caller on entry (the function only drops it)
    site: int  # CFG node of the acquire (-1 for entry)
    line: int
    # Whether it is held at all is unknown here (a release through a path
    # that may or may not name it, a helper that may or may not take it):
    # nothing about it is reported on this path (issue 9, items 3 and 7).
    unknown: bool = False
    # Unknown because a callee releases it on some of its paths only
    # (analysis/mayrelease.py): the call's CFG node and the callee,
    # for a release of it straight after the call (dataflow.py).
    dropped_at: int = -1
    dropped_by: str | None = None


Facts = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class OwedSwap:
    """A release whose IRQ flavour is not its acquire's (``spin_lock_irq(a);
    spin_unlock(a)``) and that no release the other way round has settled
    yet: if none does by the exit, the release is reported (XL003)."""

    node: int  # CFG node of the release
    line: int
    col: int
    via: str  # the releasing call
    acq_via: str  # the acquiring call
    key: str
    site: int  # CFG node of the acquire


# Owed swaps by direction ("irq>plain": taken with irq, released plain).
Owed = tuple[tuple[str, OwedSwap], ...]


@dataclass(frozen=True, slots=True)
class State:
    held: tuple[Held, ...]  # sorted by key, one per key
    facts: Facts
    owed: Owed = ()
    # Hashed once: the engine looks a state up (with its node) again and again.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.held, self.facts, self.owed)))

    def __hash__(self) -> int:
        return self._hash

    def get(self, key: str) -> Held | None:
        for h in self.held:
            if h.key == key:
                return h
        return None

    def with_held(self, h: Held | None, key: str) -> State:
        rest = [x for x in self.held if x.key != key]
        if h is not None:
            rest.append(h)
        rest.sort(key=lambda x: x.key)
        return State(tuple(rest), self.facts, self.owed)

    def fact(self, name: str) -> str | None:
        for k, v in self.facts:
            if k == name:
                return v
        return None

    def with_fact(self, name: str, value: str | None) -> State:
        if self.fact(name) == value:
            return self  # a third of the calls change nothing
        rest = [(k, v) for k, v in self.facts if k != name]
        if value is not None:
            rest.append((name, value))
        rest.sort()
        return State(self.held, tuple(rest), self.owed)

    def owed_swap(self, direction: str) -> OwedSwap | None:
        for k, v in self.owed:
            if k == direction:
                return v
        return None

    def with_owed(self, direction: str, swap: OwedSwap | None) -> State:
        if self.owed_swap(direction) == swap:
            return self
        rest = [(k, v) for k, v in self.owed if k != direction]
        if swap is not None:
            rest.append((direction, swap))
        rest.sort(key=lambda kv: kv[0])
        return State(self.held, self.facts, tuple(rest))


class Observer(Protocol):
    def acquire(self, node: int, state: State, eff: Effect, line: int, col: int,
                trying: bool) -> None: ...

    def release(self, node: int, state: State, eff: Effect, line: int, col: int,
                excused: bool) -> None: ...

    def query(self, node: int, state: State, eff: Effect, line: int, col: int) -> None: ...

    def restart(self) -> None:
        """The run starts over (without path sensitivity): forget what was seen."""


class TooManyStates(Exception):
    pass


@dataclass
class Result:
    cfg: Cfg
    # RETURN node -> (state after evaluating it, state on arrival) pairs
    exits: dict[int, list[tuple[State, State]]]
    parents: dict[tuple[int, State], tuple[int, State] | None]
    entry_keys: frozenset[str]
    path_sensitive: bool
    unknowns: frozenset[tuple[int, str, str]] = frozenset()

    def path(self, node: int, state: State) -> list[int]:
        """CFG nodes from the entry to ``node`` on the witness path."""
        out: list[int] = []
        cur: tuple[int, State] | None = (node, state)
        while cur is not None:
            out.append(cur[0])
            cur = self.parents.get(cur)
        out.reverse()
        return out


def return_class(state: State, ret_cls: str | None, ret_var: str | None) -> str | None:
    """What a return statement returns on this path, as a value class."""
    v = state.fact("$ret")
    if v is not None:
        return v
    if ret_cls is not None:
        return ret_cls
    if ret_var is not None:
        return state.fact(ret_var)
    return None


class RecordingObserver:
    """Keeps the calls of a dataflow run, to replay them to another observer.

    A helper is summarised by a run without checks, before the checks can be
    set up; the run with them would explore the same states (an observer
    only watches), so the file analysis replays this record instead."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def acquire(self, node: int, state: State, e: Effect, line: int, col: int,
                trying: bool) -> None:
        self.calls.append(("acquire", (node, state, e, line, col, trying)))

    def release(self, node: int, state: State, e: Effect, line: int, col: int,
                excused: bool = False) -> None:
        self.calls.append(("release", (node, state, e, line, col, excused)))

    def query(self, node: int, state: State, e: Effect, line: int, col: int) -> None:
        self.calls.append(("query", (node, state, e, line, col)))

    def restart(self) -> None:
        self.calls.clear()

    def replay(self, obs: Observer) -> None:
        for method, args in self.calls:
            getattr(obs, method)(*args)

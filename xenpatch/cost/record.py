"""The runtime's lock models with every shared-memory access observed.

The lock routines (xenpatch.runtime.locks) reach memory only through the
machine's ``Ctx``; ``RecordingCtx`` is a Ctx that also notes each access
(what kind, which words) in the step's trace.  The trace is what the machine
rolls back when a step ends before a second access, so a note never
outlives the access it describes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, NamedTuple

from xenpatch.runtime.ctx import Ctx
from xenpatch.runtime.machine import Machine

Kind = Literal["load", "store", "rmw", "fence"]


class Access(NamedTuple):
    """One access of a step: ``words`` are memory word indices; a fence has
    none and ``what`` names it (``smp_mb`` is the only full barrier)."""

    kind: Kind
    words: tuple[int, ...]
    what: str = ""


class RecordingCtx(Ctx):
    __slots__ = ()

    def _note(self, kind: Kind, words: Iterable[int], what: str = "") -> None:
        if self.trace is not None:
            self.trace.append(Access(kind, tuple(words), what))  # type: ignore[arg-type]

    def load(self, v: int) -> int:
        val = super().load(v)
        self._note("load", (v,))
        return val

    def load_many(self, vs: Iterable[int]) -> tuple[int, ...]:
        vs = tuple(vs)
        vals = super().load_many(vs)
        self._note("load", vs)
        return vals

    def store(self, v: int, val: int) -> None:
        super().store(v, val)
        self._note("store", (v,))

    def plain_add(self, v: int, delta: int, mask: int = 0xFFFFFFFF) -> int:
        old = super().plain_add(v, delta, mask)
        self._note("store", (v,))
        return old

    def xchg(self, v: int, val: int) -> int:
        old = super().xchg(v, val)
        self._note("rmw", (v,))
        return old

    def cas(self, v: int, old: int, new: int) -> bool:
        # A failed lock cmpxchg still takes the line exclusively.
        ok = super().cas(v, old, new)
        self._note("rmw", (v,))
        return ok

    def cas_many(self, vs: tuple[int, ...], old: tuple[int, ...], new: tuple[int, ...]) -> bool:
        ok = super().cas_many(vs, old, new)
        self._note("rmw", vs)
        return ok

    def fetch_add(self, v: int, delta: int, mask: int = 0xFFFFFFFF) -> int:
        old = super().fetch_add(v, delta, mask)
        self._note("rmw", (v,))
        return old

    def fetch_and(self, v: int, bits: int) -> int:
        old = super().fetch_and(v, bits)
        self._note("rmw", (v,))
        return old

    def await_(self, v: int, cond: Callable[[int], bool], what: str = "") -> int:
        val = super().await_(v, cond, what)
        self._note("load", (v,))
        return val

    def await_many(
        self, vs: tuple[int, ...], cond: Callable[[tuple[int, ...]], bool]
    ) -> tuple[int, ...]:
        # Only the step's enabling condition (the percpu writer's sweep moves
        # on once some reader left); the read itself is the own() that follows.
        return super().await_many(vs, cond)

    def own(self, v: int) -> int:
        val = super().own(v)
        self._note("load", (v,))
        return val

    def fold_store(self, v: int, val: int) -> None:
        super().fold_store(v, val)
        self._note("store", (v,))

    def fence(self, what: str) -> None:
        super().fence(what)
        self._note("fence", (), what)


class RecordingMachine(Machine):
    ctx_type = RecordingCtx


def line_names(m: Machine) -> list[str]:
    """The cache line of every memory word (docs/cost-model.md, "Lines").

    A lock's fields are one struct of a few words: one line (the rwlock
    word with its internal ticket lock; percpu_rwlock_t's writer_activating
    with its rwlock, as struct percpu_rwlock lays them out).  A per-CPU
    slot lives in its CPU's per-CPU area: a line of its own.
    """
    out = [""] * len(m.init_mem)
    for info in m.locks.values():
        for w in range(info.base, info.base + info.size):
            out[w] = info.name
        if info.wa >= 0:
            out[info.wa] = info.name
    for owner, s0 in m.slots.items():
        for c in range(m.ncpus):
            out[s0 + c] = f"{owner}[cpu{c}]"
    return out

"""A MESI-like model of cache lines shared by CPUs (docs/cost-model.md).

Each line is held by a set of CPUs; at most one of them holds it modified.
Only the events that cost a transfer between CPUs are modelled:

* a load by a CPU that does not hold the line: a transfer when another CPU
  holds it (a modified copy is forwarded and downgraded to shared; a clean
  one is forwarded), a fill from memory when nobody does;
* a store or atomic RMW by a CPU that is not the line's only holder: one
  transfer (the data and/or the invalidation of every other copy; one
  round trip, whatever the number of copies), after which the writer is
  the only holder;
* a hit (the CPU holds the line, or is its only holder for a write) and a
  barrier move nothing.

A transfer crosses sockets when a CPU it must reach (the holder that
forwards the data, or any copy to invalidate) is on another socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

AccessKind = Literal["load", "store", "rmw"]


@dataclass(frozen=True)
class Transfer:
    """One line movement, what caused it, and between which sockets."""

    line: str
    cpu: int
    kind: AccessKind
    cross: bool  # some other holder is on another socket
    modified: bool  # the line was modified in another CPU's cache


@dataclass
class _Line:
    holders: set[int] = field(default_factory=set)
    modified_by: int | None = None


class Lines:
    """The caches of ``len(socket_of)`` CPUs; ``socket_of[cpu]`` is its socket."""

    def __init__(self, socket_of: Sequence[int]) -> None:
        self.socket_of = tuple(socket_of)
        self.lines: dict[str, _Line] = {}
        self.fills = 0  # cold misses served by memory

    def _cross(self, cpu: int, others: set[int]) -> bool:
        mine = self.socket_of[cpu]
        return any(self.socket_of[o] != mine for o in others)

    def access(self, cpu: int, line: str, kind: AccessKind) -> Transfer | None:
        """Apply one access; the transfer it costs, or None for a hit or a fill."""
        st = self.lines.setdefault(line, _Line())
        others = st.holders - {cpu}
        if kind == "load":
            if cpu in st.holders:
                return None
            st.holders.add(cpu)
            if not others:
                self.fills += 1
                return None
            modified = st.modified_by is not None
            src = {st.modified_by} if st.modified_by is not None else others
            st.modified_by = None  # the owner keeps a shared copy
            return Transfer(line, cpu, kind, self._cross(cpu, src), modified)
        # store / RMW: needs the only copy
        modified = st.modified_by is not None and st.modified_by != cpu
        had = cpu in st.holders
        st.holders = {cpu}
        st.modified_by = cpu
        if not others:
            if not had:
                self.fills += 1
            return None
        return Transfer(line, cpu, kind, self._cross(cpu, others), modified)

    def holders(self, line: str) -> frozenset[int]:
        st = self.lines.get(line)
        return frozenset(st.holders) if st else frozenset()


def spread(ncpus: int, sockets: int) -> tuple[int, ...]:
    """CPU i on socket i mod sockets: every socket gets a fair share of the
    busy CPUs (the seed's 16 queues ran on both sockets of its host)."""
    return tuple(i % max(1, sockets) for i in range(ncpus))


def cross_fraction(ncpus: int, sockets: int) -> float:
    """The share of (holder, requester) pairs of distinct CPUs on different
    sockets: how often a line passed to a random other CPU crosses."""
    if ncpus < 2:
        return 0.0
    where = spread(ncpus, sockets)
    per = [where.count(s) for s in set(where)]
    same = sum(k * (k - 1) for k in per)
    return 1.0 - same / (ncpus * (ncpus - 1))

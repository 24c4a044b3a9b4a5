"""Per-operation and per-section counts: the lock models' steps run through
the line model (docs/cost-model.md, "Counts").

A *section* is one critical section as Xen's readers and writers take it:
``read_lock; body; read_unlock`` (or the write, spin or percpu form).  Each
CPU runs a few sections on one lock; the first round warms the caches and is
not counted.  Two schedules:

* ``together``: the machine steps every CPU in turn, one shared-memory
  access each, so all of them are inside their lock operations at once --
  the most contended schedule, where a compare-and-swap loop fails and
  retries as often as the other CPUs get in between;
* ``serial``: one CPU runs a whole section, then the next: no overlap, but
  the line still moves between CPUs.

With one CPU both are the uncontended case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Literal

from xenpatch.cost.coherence import Lines, Transfer
from xenpatch.cost.record import Access, RecordingMachine, line_names
from xenpatch.errors import XenpatchError
from xenpatch.runtime.machine import CRASHED, DONE, Config, LockModel, State
from xenpatch.runtime.programs import Op, Program, scenario

LockKind = Literal["rwlock", "spinlock", "percpu"]
Schedule = Literal["together", "serial"]
SECTION = 3  # lock, body, unlock
OWNER = "cls"  # the percpu class of the simulated lock


class CostError(XenpatchError, ValueError):
    """Bad input to the cost model."""


@dataclass(frozen=True)
class LockType:
    key: str
    title: str
    kind: LockKind
    model: LockModel | None  # None: the era the user chose


LOCK_TYPES = (
    LockType("rwlock16", "rwlock_t (2016 counter)", "rwlock", "rw16"),
    LockType("rwlock", "rwlock_t (queued)", "rwlock", "q417"),
    LockType("spinlock", "spinlock_t", "spinlock", None),
    LockType("percpu", "percpu_rwlock_t", "percpu", None),
)
BY_KEY = {t.key: t for t in LOCK_TYPES}


@dataclass
class Counts:
    """Per execution of an operation (or a section), averaged."""

    rmw: float = 0.0  # atomic read-modify-writes (lock cmpxchg/xadd/xchg/and)
    stores: float = 0.0  # plain stores to shared memory
    loads: float = 0.0
    full_barriers: float = 0.0  # smp_mb (the only barrier that costs on x86)
    transfers: float = 0.0  # line movements between CPUs
    critical: float = 0.0  # transfers the CPU waits for
    serialising: float = 0.0  # critical transfers of a line several CPUs write

    def add(self, other: Counts, k: float = 1.0) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + k * getattr(other, f.name))

    def scaled(self, k: float) -> Counts:
        out = Counts()
        out.add(self, k)
        return out

    def as_dict(self) -> dict[str, float]:
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self)}


@dataclass
class Run:
    """What one simulated run measured: per (section kind, op kind) the
    summed counts and how many times the op ran, and per section kind the
    number of measured sections."""

    ops: dict[tuple[str, str], Counts] = field(default_factory=dict)
    runs: dict[tuple[str, str], int] = field(default_factory=dict)
    sections: dict[str, int] = field(default_factory=dict)

    def per_op(self, section: str) -> dict[str, Counts]:
        return {op: c.scaled(1 / self.runs[(s, op)]) for (s, op), c in self.ops.items()
                if s == section}

    def total(self, section: str | None = None) -> Counts:
        out = Counts()
        for (s, _), c in self.ops.items():
            if section is None or s == section:
                out.add(c)
        return out


def section_ops(kind: LockKind, write: bool) -> list[Op]:
    if kind == "spinlock":
        return [Op("spin_lock", "L"), Op("cs"), Op("spin_unlock", "L")]
    mode = "write" if write else "read"
    if kind == "rwlock":
        return [Op(f"{mode}_lock", "L"), Op("cs"), Op(f"{mode}_unlock", "L")]
    return [Op(f"percpu_{mode}_lock", "L", OWNER), Op("cs"),
            Op(f"percpu_{mode}_unlock", "L", OWNER)]


def simulate(kind: LockKind, model: LockModel, ncpus: int, *, schedule: Schedule = "together",
             sections: int = 3, warm: int = 1,
             writes: frozenset[tuple[int, int]] = frozenset()) -> Run:
    """Run ``warm + sections`` sections on each of ``ncpus`` CPUs; section j
    of CPU c is a write section when (c, j) is in ``writes``."""
    if ncpus < 1:
        raise CostError(f"{ncpus} CPUs: give at least 1")
    total = warm + sections
    progs = [Program(tuple(op for j in range(total)
                           for op in section_ops(kind, (c, j) in writes)))
             for c in range(ncpus)]
    m = RecordingMachine(scenario(progs), Config(model, "release"))
    lines = line_names(m)
    # Which socket a transfer crosses is left to the throughput model: the
    # round-robin order here is not the order real CPUs take a line in.
    cache_ = Lines([0] * ncpus)
    run = Run()
    writers: dict[str, set[int]] = defaultdict(set)
    # Critical transfers, kept until the run says which lines several CPUs write.
    critical: list[tuple[tuple[str, str] | None, Transfer]] = []
    pending: list[list[tuple[tuple[str, str] | None, Transfer]]] = [[] for _ in range(ncpus)]
    current = [-1] * ncpus

    def op_key(cpu: int, k: int) -> tuple[str, str] | None:
        j = k // SECTION
        if j < warm:
            return None
        write = kind != "spinlock" and (cpu, j) in writes
        return ("write" if write else "read", progs[cpu].ops[k].kind)

    def account(cpu: int, k: int, accesses: list[Access]) -> None:
        if current[cpu] != k:
            # a store still in the buffer when its operation ends completes
            # in the background
            pending[cpu].clear()
            current[cpu] = k
            if k % SECTION == 0 and (key0 := op_key(cpu, k)) is not None:
                run.sections[key0[0]] = run.sections.get(key0[0], 0) + 1
            key = op_key(cpu, k)
            if key is not None:
                run.runs[key] = run.runs.get(key, 0) + 1
        key = op_key(cpu, k)
        c = run.ops.setdefault(key, Counts()) if key is not None else Counts()
        for acc in accesses:
            if acc.kind == "fence":
                if acc.what == "smp_mb":
                    c.full_barriers += 1
                    critical.extend(pending[cpu])
                    pending[cpu].clear()
                continue
            if acc.kind == "rmw":
                c.rmw += 1
            elif acc.kind == "store":
                c.stores += 1
            else:
                c.loads += 1
            seen: list[str] = []
            for w in acc.words:
                if lines[w] not in seen:
                    seen.append(lines[w])
            for line in seen:
                if acc.kind != "load":
                    writers[line].add(cpu)
                t = cache_.access(cpu, line, acc.kind)
                if t is None:
                    continue
                c.transfers += 1
                if acc.kind == "store":
                    pending[cpu].append((key, t))
                else:
                    critical.append((key, t))
            if acc.kind == "rmw":
                # a locked instruction drains the store buffer first
                critical.extend(pending[cpu])
                pending[cpu].clear()

    def step(state: State, cpu: int) -> State | None:
        k = m.blocked_index(state, cpu)
        res = m.step(state, cpu, trace=True)
        if res is None:
            return None
        if res.crash is not None:
            raise CostError(f"{kind} on {ncpus} CPUs: the model crashed: {res.crash.message}")
        # RecordingCtx puts its notes among the trace's text
        trace: tuple[object, ...] = res.trace
        account(cpu, k, [a for a in trace if isinstance(a, Access)])
        return res.state

    state = m.initial_state()
    if schedule == "together":
        while not all(c.status != 0 for c in state[1]):
            moved = False
            for cpu in range(ncpus):
                new = step(state, cpu)
                if new is not None:
                    state, moved = new, True
            if not moved:
                raise CostError(f"{kind} on {ncpus} CPUs: no CPU can move")
    else:
        for j in range(total):
            for cpu in range(ncpus):
                while state[1][cpu].status not in (DONE, CRASHED) and \
                        state[1][cpu].op_idx < SECTION * (j + 1):
                    new = step(state, cpu)
                    if new is None:
                        raise CostError(f"{kind}: a section alone cannot proceed")
                    state = new
    multi = {line for line, cpus in writers.items() if len(cpus) > 1}
    for key, t in critical:
        if key is None:
            continue
        c = run.ops[key]
        c.critical += 1
        if t.line in multi:
            c.serialising += 1
    return run


@dataclass(frozen=True)
class Contended:
    """Counts of one lock type with ``cpus`` CPUs inside their operations
    together: per read section, and what one write section adds (its own
    operations and the transfers it causes the readers), as a difference
    of two runs that differ in that one section."""

    cpus: int
    read: Counts
    write: Counts
    read_ops: dict[str, Counts]
    write_ops: dict[str, Counts]


@cache
def contended(kind: LockKind, model: LockModel, cpus: int,
              schedule: Schedule = "together") -> Contended:
    sections = 3
    reads = simulate(kind, model, cpus, sections=sections, schedule=schedule)
    n_read = reads.sections.get("read", 0)
    read = reads.total("read").scaled(1 / n_read)
    if kind == "spinlock":
        return Contended(cpus, read, read, reads.per_op("read"), reads.per_op("read"))
    one = frozenset({(0, 2)})  # CPU 0's second counted section
    mixed = simulate(kind, model, cpus, sections=sections, writes=one, schedule=schedule)
    write = mixed.total()
    write.add(reads.total(), -1)
    write.add(read)
    return Contended(cpus, read, write, reads.per_op("read"), mixed.per_op("write"))


@cache
def uncontended(kind: LockKind, model: LockModel) -> Contended:
    """One CPU, warm caches: what the shim's counters see single-threaded."""
    return contended(kind, model, 1)


def model_of(t: LockType, era: LockModel) -> LockModel:
    return t.model or era

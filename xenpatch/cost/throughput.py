"""Read-side throughput against CPU count (docs/cost-model.md, "Throughput").

Each of N CPUs runs sections back to back.  A section's time splits in two:

* what the CPU spends on its own -- the work between sections
  (``outside_ns``), the body (unless the section is
  exclusive), its atomic RMWs, full barriers and plain accesses at their
  local cost, and the transfers it waits for on lines that only it and one
  other party use (a percpu slot the writer polled);
* what is serialised on the lock: the transfers on the critical path of a
  line several CPUs write (one owner at a time), and the whole body of an
  exclusive section (a spinlock's, a writer's).

That is a closed queueing network of N customers, a delay station (the
own time Z) and one queue (the serialised demand D); mean value analysis
(Reiser and Lavenberg 1980) solves it exactly for a fixed D.  D is not fixed
here: the more CPUs contend at once, the more a compare-and-swap loop fails
and retries, so Z and D are read from the counts measured with c CPUs
contending, interpolated between the simulated CPU counts, and c must be
consistent with itself: with N CPUs and the demands of level c, an arriving
CPU finds c - 1 others at the lock (c = 1 + Q(N-1), the arrival theorem).
Of the levels that are, the least is taken: the one a lock reaches from
idle.  No bound is applied afterwards: MVA's answer never exceeds 1/D.

Why a fixed point: the level of N CPUs taken from the queue of N-1 (one
step of the recursion) under-states the retries, and the 1/D cap that made
up for it was not monotone in the latencies: slower transfers could raise
the predicted throughput.  With the level consistent, X = N / (Z (1 + c
phi(c))), phi being the inverse of the queue in D/Z; so when only D grows
with the latencies (every lock type but percpu's writer, whose polls are
own time), c and then Z(c) (own counts grow with contention) do not fall,
and neither does the time per section.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from xenpatch.cost.coherence import cross_fraction
from xenpatch.cost.counts import CostError, Counts, LockKind, contended
from xenpatch.runtime.machine import LockModel


@dataclass(frozen=True)
class Params:
    """The machine and the workload.  Latency defaults: docs/cost-model.md,
    "Parameters" (published measurements; none fitted to the seed)."""

    section_ns: float = 100.0  # the read section's body
    write_fraction: float = 0.0
    sockets: int = 2
    same_socket_ns: float = 40.0  # a modified line from another core, same socket
    cross_socket_ns: float = 120.0  # ... from a core on another socket
    rmw_ns: float = 7.0  # a locked RMW on a line already held (about 20 cycles)
    barrier_ns: float = 10.0  # mfence (about 30 cycles)
    access_ns: float = 1.0  # a plain load or store hitting L1
    outside_ns: float = 0.0  # work between sections, holding no lock (Amdahl's share)

    def check(self) -> None:
        if self.section_ns < 0:
            raise CostError(f"--section-ns {self.section_ns}: give a length >= 0")
        if not 0.0 <= self.write_fraction < 1.0:
            raise CostError(f"--write-fraction {self.write_fraction}: give a fraction "
                            "from 0 up to (not including) 1")
        if self.sockets < 1:
            raise CostError(f"--sockets {self.sockets}: give at least 1")
        for name in ("same_socket_ns", "cross_socket_ns", "rmw_ns", "barrier_ns", "access_ns",
                     "outside_ns"):
            if getattr(self, name) < 0:
                raise CostError(f"--{name.replace('_', '-')}: give a time >= 0")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def transfer_ns(ncpus: int, p: Params) -> float:
    """Mean latency of a transfer of a line passed to a random other CPU."""
    f = cross_fraction(ncpus, p.sockets)
    return f * p.cross_socket_ns + (1 - f) * p.same_socket_ns


def _split(c: Counts, t: float, p: Params) -> tuple[float, float]:
    """(own time, serialised time) of counts c, in ns."""
    own = (c.rmw * p.rmw_ns + c.full_barriers * p.barrier_ns
           + (c.loads + c.stores) * p.access_ns + (c.critical - c.serialising) * t)
    return own, c.serialising * t


@dataclass(frozen=True)
class Point:
    cpus: int
    read_per_us: float  # read sections per microsecond, all CPUs together (= M/s)
    own_ns: float  # Z
    serial_ns: float  # D at the population's contention
    contenders: float  # c = 1 + Q(n-1) at the demands of c


def sim_points(limit: int) -> list[int]:
    """CPU counts simulated for the contention curve: powers of two up to
    ``limit`` and ``limit`` itself."""
    pts = {1, limit}
    k = 2
    while k < limit:
        pts.add(k)
        k *= 2
    return sorted(pts)


def _interp(xs: Sequence[int], ys: Sequence[float], x: float) -> float:
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect_left(xs, x)
    if xs[i] == x:
        return ys[i]
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _queue(z: float, d: float, n: int) -> float:
    """Mean number at the lock of exact MVA with ``n`` CPUs, own time ``z``
    and serialised demand ``d`` both fixed."""
    q = 0.0
    for m in range(1, n + 1):
        r = d * (1.0 + q)
        q = m * r / (z + r) if r > 0 else 0.0
    return q


# Grid steps per interval between simulated CPU counts when looking for the
# first contention level that is consistent with itself (_least_root).
_STEPS = 32


def _least_root(excess: Callable[[float], float], knots: Sequence[float], hi: float) -> float:
    """The least c in [1, hi] above which ``excess`` turns positive:
    inf{c : excess(c) > 0}, or ``hi`` when it never does.

    Between two knots the demands are linear in c, so their ratio, and with
    it the queue, is monotone there: the excess crosses zero once where the
    queue falls, and where it rises more than once only if it bends back
    within an interval.  A grid of _STEPS per interval, then bisection on the
    first step that turns positive, finds the first crossing unless two of
    them fall within one step."""
    if excess(1.0) > 0:
        return 1.0
    grid = sorted({1.0, hi} | {k for k in knots if 1.0 < k < hi})
    lo = 1.0
    for a, b in itertools.pairwise(grid):
        for i in range(1, _STEPS + 1):
            c = a + (b - a) * i / _STEPS
            if excess(c) > 0:
                # excess(lo) <= 0 < excess(c): bisect down to the float
                while True:
                    mid = (lo + c) / 2
                    if not lo < mid < c:
                        return c
                    if excess(mid) > 0:
                        c = mid
                    else:
                        lo = mid
            lo = c
    return hi


def curve(kind: LockKind, model: LockModel, cpus: Sequence[int], p: Params) -> list[Point]:
    """Predicted read-side throughput at each CPU count of ``cpus``."""
    p.check()
    want = sorted(set(cpus))
    if not want or want[0] < 1:
        raise CostError("--cpus: give CPU counts of at least 1")
    ks = sim_points(want[-1])
    runs = [contended(kind, model, k) for k in ks]
    # One contender at a time among several CPUs still moves the line from
    # section to section: the serial schedule is the curve's start.
    passing = contended(kind, model, 2, "serial")
    w = 0.0 if kind == "spinlock" else p.write_fraction
    out: list[Point] = []
    for n in want:
        t = transfer_ns(n, p)
        zs, ds = [], []
        for r in ([passing] + runs[1:] if n > 1 else runs):
            zr, dr = _split(r.read, t, p)
            zw, dw = _split(r.write, t, p)
            if kind == "spinlock":
                # every section is exclusive: its body waits for the lock
                zs.append(zr + p.outside_ns)
                ds.append(dr + p.section_ns)
            else:
                zs.append((1 - w) * (p.section_ns + zr) + w * zw + p.outside_ns)
                ds.append((1 - w) * dr + w * (dw + p.section_ns))

        def demands(c: float, zs: list[float] = zs, ds: list[float] = ds) -> tuple[float, float]:
            return _interp(ks, zs, c), _interp(ks, ds, c)

        def excess(c: float, n: int = n) -> float:
            # > 0: the lock would hold fewer than c CPUs at contention c
            return c - 1.0 - _queue(*demands(c), n - 1)

        # The contention level of n CPUs: consistent with itself (the
        # queue that an arriving CPU finds, with the demands of that many
        # contenders, is the level less the CPU itself), the least such.
        c = _least_root(excess, ks, float(n))
        z, d = demands(c)
        r_ = d * (1.0 + _queue(z, d, n - 1))
        x = n / (z + r_) if z + r_ > 0 else float("inf")
        read = (1 - w) * x if kind != "spinlock" else x
        # x is in sections per ns; per microsecond is x * 1000
        out.append(Point(n, read * 1000.0, z, d, c))
    return out

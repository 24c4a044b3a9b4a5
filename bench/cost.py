"""`xenpatch cost` figures: how long the default table takes (every lock
type simulated at 1-64 CPUs, then the queueing model), and how the
simulation's cost grows with the CPU count per lock type.

    .venv/bin/python bench/cost.py

Prints figures only (wall and CPU seconds, and the load average, since the
machine is shared); nothing here asserts on time.
"""

from __future__ import annotations

import os
import time

from xenpatch.cost import counts
from xenpatch.cost.report import build
from xenpatch.cost.throughput import Params


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    w0, c0 = clock()
    build("rw16", Params(), [1, 2, 4, 8, 16, 32, 64])
    w1, c1 = clock()
    print(f"default table (rw16, 1-64 CPUs): {w1 - w0:.2f}s wall, {c1 - c0:.2f}s CPU")
    w0, c0 = clock()
    build("rw16", Params(write_fraction=0.01, outside_ns=5000), [1, 2, 4, 8, 16, 32, 64])
    w1, c1 = clock()
    print(f"  again with other parameters (counts cached): {w1 - w0:.3f}s wall, "
          f"{c1 - c0:.3f}s CPU")
    for kind, model in (("rwlock", "rw16"), ("rwlock", "q417"), ("spinlock", "q417"),
                        ("percpu", "rw16")):
        row = []
        for n in (8, 16, 32, 64):
            counts.contended.cache_clear()
            w0, c0 = clock()
            counts.contended(kind, model, n)  # type: ignore[arg-type]
            w1, c1 = clock()
            row.append(f"{n}: {c1 - c0:.3f}s")
        print(f"{kind} ({model}) CPU time per CPU count: " + ", ".join(row))


if __name__ == "__main__":
    main()

"""xenpatch cost: what a lock costs in cache-line traffic, and what that does
to throughput as CPUs are added (docs/cost-model.md).

* ``coherence`` -- a MESI-like line model: which accesses move a line
  between CPUs, and which of those the CPU must wait for
* ``record``    -- runs the runtime's lock models (the explorer's machine)
  and hands every shared-memory access of every step to the line model
* ``counts``    -- per operation and per critical section: atomic RMWs,
  stores, full barriers, line transfers (on the critical path, on a line
  several CPUs write)
* ``throughput``-- read-side throughput against CPU count: a closed
  queueing model (mean value analysis) over those counts
* ``mix``       -- a converted lock's read/write mix from a tree (the
  difftest's lock programs)
* ``report``    -- the table, JSON and plot
* ``cli``       -- the ``cost`` subcommand
"""

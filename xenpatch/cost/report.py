"""The cost table, its JSON and its plot."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xenpatch import journal
from xenpatch.cost.counts import LOCK_TYPES, Contended, CostError, LockType, contended, uncontended
from xenpatch.cost.mix import Mix
from xenpatch.cost.throughput import Params, Point, curve
from xenpatch.runtime.machine import MODEL_NAMES, LockModel

PLOT_HINT = "pip install 'xenpatch[plot]'"


@dataclass
class Row:
    lock: LockType
    model: LockModel
    alone: Contended  # one CPU
    passing: Contended  # two CPUs, one section at a time
    together: Contended  # every CPU of the largest count at once
    points: list[Point]


@dataclass
class Report:
    era: LockModel
    params: Params
    cpus: list[int]
    rows: list[Row]
    mix: Mix | None = None

    @property
    def baseline(self) -> Row:
        key = "rwlock16" if self.era == "rw16" else "rwlock"
        return next(r for r in self.rows if r.lock.key == key)

    @property
    def percpu(self) -> Row:
        return next(r for r in self.rows if r.lock.key == "percpu")

    def ratios(self) -> list[float]:
        return [p.read_per_us / b.read_per_us if b.read_per_us else float("inf")
                for p, b in zip(self.percpu.points, self.baseline.points, strict=True)]


def model_for(t: LockType, era: LockModel) -> LockModel:
    if t.model == "q417" and era != "rw16":
        return era  # the queued rwlock of the era asked for
    return t.model or era


MAX_CPUS = 128


def build(era: LockModel, params: Params, cpus: Sequence[int], mix: Mix | None = None) -> Report:
    params.check()
    want = sorted(set(cpus))
    if not want or want[0] < 1 or want[-1] > MAX_CPUS:
        raise CostError(f"--cpus: give CPU counts from 1 to {MAX_CPUS}")
    rows = []
    for t in LOCK_TYPES:
        model = model_for(t, era)
        rows.append(Row(t, model, uncontended(t.kind, model),
                        contended(t.kind, model, 2, "serial"),
                        contended(t.kind, model, want[-1]),
                        curve(t.kind, model, want, params)))
    return Report(era, params, want, rows, mix)


def _num(x: float) -> str:
    return f"{x:.0f}" if x == int(x) else f"{x:.2f}"


def format_table(rep: Report) -> str:
    p = rep.params
    top = rep.cpus[-1]
    lines = [
        f"lock model: {rep.era} ({MODEL_NAMES[rep.era]})",
        f"{p.sockets} sockets, read section {_num(p.section_ns)} ns, write fraction "
        f"{p.write_fraction:.4f}; transfer {_num(p.same_socket_ns)} ns same socket, "
        f"{_num(p.cross_socket_ns)} ns cross-socket; locked RMW {_num(p.rmw_ns)} ns, "
        f"mfence {_num(p.barrier_ns)} ns, L1 access {_num(p.access_ns)} ns; "
        f"{_num(p.outside_ns)} ns outside the lock per section",
        "",
        "per read section: atomic RMWs on 1 CPU; line transfers on the critical path "
        "(xfer) and of those, the ones serialised on a line several CPUs write (ser),",
        f"with 2 CPUs taking turns (turns) and with {top} CPUs in their lock operations at "
        f"once (all{top})",
    ]
    head = f"{'lock type':<25} {'RMWs':>5} {'turns:xfer':>11} {'turns:ser':>10} " \
           f"{f'all{top}:xfer':>11} {f'all{top}:ser':>10}"
    lines.append(head)
    for r in rep.rows:
        lines.append(f"{r.lock.title:<25} {_num(r.alone.read.rmw):>5} "
                     f"{_num(r.passing.read.critical):>11} {_num(r.passing.read.serialising):>10} "
                     f"{_num(r.together.read.critical):>11} "
                     f"{_num(r.together.read.serialising):>10}")
    lines.append("")
    lines.append("predicted read sections per microsecond (all CPUs together) at N CPUs")
    lines.append(f"{'lock type':<25}" + "".join(f"{n:>9}" for n in rep.cpus))
    for r in rep.rows:
        lines.append(f"{r.lock.title:<25}" + "".join(f"{pt.read_per_us:>9.2f}"
                                                       for pt in r.points))
    lines.append(f"{'ratio percpu/' + rep.baseline.lock.key:<25}"
                 + "".join(f"{x:>8.2f}x" for x in rep.ratios()))
    return "\n".join(lines)


def format_mix(mix: Mix) -> str:
    lines = [f"{mix.rule}: the tree's lock model {mix.model} ({mix.evidence}); "
             f"{len(mix.functions)} converted functions, read acquisitions "
             f"{mix.reads:.2f}, write acquisitions {mix.writes:.2f} per weighted call: "
             f"write fraction {mix.write_fraction:.4f}"]
    for f in mix.functions:
        lines.append(f"  {f.function}: {f.paths} paths, {f.reads:.2f} reads, "
                     f"{f.writes:.2f} writes per call, weight {_num(f.weight)}")
    return "\n".join(lines)


def as_json(rep: Report) -> dict[str, Any]:
    def ops(c: Contended, which: str) -> dict[str, Any]:
        table = c.read_ops if which == "read" else c.write_ops
        return {op: v.as_dict() for op, v in table.items()}

    out: dict[str, Any] = {
        "lock_model": rep.era,
        "params": rep.params.as_dict(),
        "cpus": rep.cpus,
        "locks": [],
        "ratio": {"percpu_over": rep.baseline.lock.key,
                  "values": [round(x, 4) for x in rep.ratios()]},
    }
    for r in rep.rows:
        out["locks"].append({
            "key": r.lock.key,
            "title": r.lock.title,
            "model": r.model,
            "per_operation": {
                "uncontended": {**ops(r.alone, "read"), **ops(r.alone, "write")},
                "two_cpus_in_turn": {**ops(r.passing, "read"), **ops(r.passing, "write")},
                "contended": {"cpus": r.together.cpus, **ops(r.together, "read"),
                              **ops(r.together, "write")},
            },
            "per_read_section": {"uncontended": r.alone.read.as_dict(),
                                 "two_cpus_in_turn": r.passing.read.as_dict(),
                                 "contended": r.together.read.as_dict()},
            "per_write_section": {"uncontended": r.alone.write.as_dict(),
                                  "two_cpus_in_turn": r.passing.write.as_dict(),
                                  "contended": r.together.write.as_dict()},
            "throughput": [{"cpus": pt.cpus, "read_sections_per_us": round(pt.read_per_us, 4),
                            "own_ns": round(pt.own_ns, 3), "serialised_ns": round(pt.serial_ns, 3),
                            "contenders": round(pt.contenders, 3)} for pt in r.points],
        })
    if rep.mix is not None:
        m = rep.mix
        out["mix"] = {"rule": m.rule, "tree_lock_model": m.model, "reads": round(m.reads, 4),
                      "writes": round(m.writes, 4), "write_fraction": round(m.write_fraction, 6),
                      "functions": [{"function": f.function, "paths": f.paths, "reads": f.reads,
                                     "writes": f.writes, "weight": f.weight}
                                    for f in m.functions],
                      "notes": m.notes}
    return out


def plot(rep: Report, path: Path) -> None:
    """Throughput against CPUs, one line per lock type (matplotlib), as a
    PNG at ``path``: rendered in memory, then written whole or not at all
    (a Ctrl-C or a full disk mid-write leaves the file as it was)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CostError(f"--plot needs matplotlib: {PLOT_HINT}") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rep.rows:
        ax.plot([pt.cpus for pt in r.points], [pt.read_per_us for pt in r.points],
                marker="o", label=r.lock.title)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("CPUs")
    ax.set_ylabel("read sections per µs (all CPUs)")
    p = rep.params
    ax.set_title(f"xenpatch cost: {p.sockets} sockets, section {_num(p.section_ns)} ns, "
                 f"write fraction {p.write_fraction:.3g}")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    target = path.resolve()
    journal.write_files(target.parent, {target: png.getvalue()}, what="cost --plot")

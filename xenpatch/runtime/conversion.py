"""The programs of a conversion: every function the rewrite's plan touches,
its lock programs before (the old source, the sites the plan names) and
after (the converted source, the percpu operations of the rule's owner),
paired path by path, with what each function's paths became (run, covered
through callers, or cut, and why).  cprograms.py walks one function; this
module decides which functions, on which copy of the tree, and how the two
sides pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.analysis.config import AnalysisConfig
from xenpatch.analysis.locktable import Effect
from xenpatch.runtime.cprograms import (
    MAX_OPS,
    MAX_STATES,
    Step,
    abstract,
    analyse,
    balanced,
    compose_halves,
    function_programs,
    helper_halves,
    shape,
)
from xenpatch.runtime.programs import Op, Program

# The rewrite's plan names a converted site in a macro body's text so
# (rewrite/plan.py), in place of a function.
MACRO = "(macro)"


@dataclass
class Coverage:
    """What became of one converted function's paths.

    ``found`` counts its distinct non-empty lock-operation sequences; each is
    either run (as a program, or already run for another function with the
    same program), covered through the callers it is inlined into (a lock
    helper's halves), or cut, with the reason.  ``cut`` also counts partial
    paths abandoned for length, each standing for one or more whole paths."""

    path: str
    function: str
    found: int = 0
    run: int = 0
    via_callers: int = 0
    cut: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.cut and not self.problems

    @property
    def in_macro(self) -> bool:
        """Converted code in a macro body (one entry per file), not a function."""
        return self.function == MACRO

    def add_cut(self, reason: str, n: int = 1) -> None:
        self.cut[reason] = self.cut.get(reason, 0) + n

    def describe(self) -> str:
        parts = [f"{self.found} paths found", f"{self.run} run"]
        if not (self.found or self.via_callers or self.cut or self.problems):
            # Its converted sites only initialise or test the lock (an
            # ASSERT): fully covered, with nothing to run, which says so.
            parts = ["no lock section to run (its converted sites initialise or test the lock)"]
        if self.via_callers:
            parts.append(f"{self.via_callers} covered through the callers it is inlined into")
        if self.cut:
            parts.append("cut: " + ", ".join(f"{n} {why}" for why, n in sorted(self.cut.items())))
        text = f"{self.path}: {self.function}: " + ", ".join(parts)
        if self.problems:
            text += "; " + "; ".join(self.problems)
        return text


@dataclass
class ConversionPrograms:
    """Per function: the paired programs, and what could not be paired."""

    pairs: list[tuple[str, Program, Program]] = field(default_factory=list)
    locks: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    functions: int = 0
    coverage: list[Coverage] = field(default_factory=list)
    # Per converted function, its paths' lock-operation sequences on the
    # old source (the read/write mix of the lock, for xenpatch cost).
    sequences: dict[str, list[tuple[Step, ...]]] = field(default_factory=dict)

    @property
    def incomplete(self) -> list[Coverage]:
        return [c for c in self.coverage if not c.complete]


LONG = f"longer than {MAX_OPS} lock operations (lock operations in a loop)"
SHAPE = "changed shape in the conversion"

# The folder of the converted tree's copy: its run's process id after it.
_SCRATCH_PREFIX = "xenpatch-difftest-"
_SCRATCH = re.compile(re.escape(_SCRATCH_PREFIX) + r"(\d+)-\w+")


def in_irq(p: Program) -> Program:
    """p run from interrupt context."""
    return Program((Op("irq_enter"), *p.ops, Op("irq_exit")), p.loop)


def conversion_programs(root: Path, rule, result, only: set[str] | None = None,
                        per_function: int | None = None,
                        irq_functions: frozenset[str] = frozenset()) -> ConversionPrograms:
    """Programs of every function a conversion touches, before and after it.

    ``result`` is the rewrite's Result: its site lines say which calls of the
    old source are on the converted lock (types decided that, not names);
    the new source is analysed as written, so the after-programs come from
    what the converted code really calls (the wrappers included).
    ``per_function`` caps the paths run per function (the rest are cut and
    reported); None runs them all.  Programs of ``irq_functions`` run in
    interrupt context.
    """
    import os
    import shutil
    import tempfile

    from xenpatch import cachefiles

    out = ConversionPrograms()
    sites: dict[str, dict[str, set[int]]] = {}
    for s in result.plan.sites:
        if s.function != MACRO:
            sites.setdefault(s.path, {}).setdefault(s.function, set()).add(s.line)
        else:
            sites.setdefault(s.path, {}).setdefault(s.function, set())
    config = AnalysisConfig.load()
    owner = rule.lock.owner
    seen: set[tuple[Program, Program]] = set()
    # Named after this run: one a killed run left behind (a copy of the
    # whole tree) is removed by the next.
    scratch = Path(tempfile.gettempdir())
    cachefiles.sweep_dead(scratch, _SCRATCH)
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-",
                                     dir=scratch) as tmp:
        after_root = Path(tmp) / "tree"
        shutil.copytree(root, after_root, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        for rel in result.changed:
            (after_root / rel).write_bytes(result.new[rel])
        for rel in sorted(sites):
            names = sorted(n for n in sites[rel] if only is None or n in only)
            if not names:
                continue
            if MACRO in names:
                # A macro body is not a function to walk: say so.
                cov = Coverage(rel, MACRO)
                cov.problems.append("converted code in a macro body is not analysed")
                out.coverage.append(cov)
                names.remove(MACRO)
            if not names:
                continue
            lines = {line for fn_lines in sites[rel].values() for line in fn_lines}
            before_fa = analyse(root, rel, result.old.get(rel, (root / rel).read_bytes()),
                                config=config)
            after_fa = analyse(after_root, rel, result.new.get(rel, (root / rel).read_bytes()),
                               config=config)
            inlined: set[str] = set()
            def on_site(e: Effect, line: int, lines: set[int] = lines) -> bool:
                return line in lines

            before = function_programs(before_fa, names, on_site,
                                       False, rule.lock.field, inlined=inlined)
            after = function_programs(
                after_fa, names,
                lambda e, line: e.kind == "percpu" and (e.owner or "").strip("&") == owner,
                True, rule.lock.field)
            halves = helper_halves(before, after, inlined)
            for b, a in zip(before, after, strict=True):
                out.functions += 1
                cov = Coverage(rel, b.function)
                out.coverage.append(cov)
                for p in dict.fromkeys(b.problems + a.problems):
                    out.problems.append(f"{rel}: {b.function}: {p}")
                if b.long_cut:
                    cov.add_cut(LONG, b.long_cut)
                if b.truncated:
                    cov.problems.append(f"path walk stopped at {MAX_STATES} states")
                if "not found in the file" in b.problems:
                    cov.problems.append("not found in the file")
                elif b.unwalked or a.unwalked:
                    cov.problems.append(f"not walked: {b.unwalked or a.unwalked}")
                by_shape = {shape(seq): seq for seq in a.sequences}
                kept = 0
                for seq in b.sequences:
                    if not seq:
                        continue
                    cov.found += 1
                    out.sequences.setdefault(b.function, []).append(seq)
                    one_sided = not balanced(seq)
                    if one_sided and b.function in inlined:
                        # A lock helper's halves run inside its callers' programs.
                        cov.via_callers += 1
                        continue
                    if one_sided and b.function in halves:
                        # A lock or unlock helper (mm-locks.h's _mm_read_lock):
                        # run composed with each helper of the same file that
                        # undoes it, as its callers pair them.
                        made = compose_halves(b.function, seq, halves)
                        if made:
                            cov.run += 1
                            for label, sb, sa in made:
                                pb, pa = abstract(sb, None), abstract(sa, owner)
                                if b.function in irq_functions:
                                    pb, pa, label = in_irq(pb), in_irq(pa), label + " (in IRQ)"
                                if (pb, pa) not in seen:
                                    seen.add((pb, pa))
                                    out.pairs.append((label, pb, pa))
                            continue
                    # Any other one-sided path (an early return holding the
                    # lock) runs as it is: what it leaves behind is a hazard.
                    twin = by_shape.get(shape(seq))
                    if twin is None:
                        out.problems.append(f"{rel}: {b.function}: a path's lock operations "
                                            f"changed shape in the conversion: {seq}")
                        cov.add_cut(SHAPE)
                        continue
                    if per_function is not None and kept >= per_function:
                        cov.add_cut(f"over the cap of {per_function} paths per function")
                        continue
                    kept += 1
                    cov.run += 1
                    swaps = (False, True) if seq not in b.address_ordered else (False,)
                    for swap in swaps:
                        pb, pa = abstract(seq, None, swap), abstract(twin, owner, swap)
                        if b.function in irq_functions:
                            pb, pa = in_irq(pb), in_irq(pa)
                        if (pb, pa) in seen:
                            continue  # the same program is already run
                        seen.add((pb, pa))
                        label = (f"{b.function}#{kept}{'~' if swap else ''}"
                                 f"{' (one-sided)' if one_sided else ''}"
                                 f"{' (in IRQ)' if b.function in irq_functions else ''}")
                        out.pairs.append((label, pb, pa))
    used = sorted({op.lock for _, p, _ in out.pairs for op in p.ops if op.lock})
    out.locks = tuple(used)
    return out

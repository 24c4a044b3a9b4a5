"""`xenpatch difftest`: a conversion's lock behaviour before and after, on the models.

Exit codes: 0 the conversion changes no behaviour and every converted
function's paths were run (hazards that exist on both sides are still
printed), 1 a divergence (a hazard only before or only after; with
``--fail-on preexisting`` also one on both sides), 2 bad input, 3 incomplete:
a converted function not fully covered or a combination cut short by
``--max-states`` (``--allow-incomplete`` turns that into 0); also, whatever
the options, a run that compared nothing: a tree with no conversion to make,
or converted functions with no lock section to run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xenpatch.paths import tree_arg


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "difftest",
        help="run the lock programs of every converted function before and after the "
        "conversion, paired on 2-3 CPUs, and report divergences",
    )
    p.add_argument("tree", type=tree_arg,
                   help="the Xen tree (the folder holding xen/, or xen/ itself)")
    p.add_argument("--rule", type=Path, required=True,
                   help="a conversion rule (a .toml file, or a bundled rule's name: "
                   "xenpatch rewrite --list-rules)")
    p.add_argument("--cpus", default="2", help="CPU counts to pair functions on, e.g. 2,3")
    p.add_argument("--lock-model", choices=("auto", "rw16", "q47", "q417", "qrw"), default="auto",
                   help="rw16: 2016 counter rwlock; q47: 4.7-4.13 queued rwlock; q417: "
                   "4.14-4.18 queued rwlock; qrw: 4.19+ "
                   "layout; auto (default): as the tree's rwlock.h/spinlock.h say")
    p.add_argument("--build", choices=("debug", "release"), default="release")
    p.add_argument("--function", action="append", default=None,
                   help="only these functions (repeatable)")
    p.add_argument("--paths", type=int, default=None,
                   help="cap on the paths run per function (the rest count as cut); "
                   "default: all")
    p.add_argument("--max-states", type=int, default=2_000_000,
                   help="state bound per exploration; a combination that hits it is incomplete")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="exit 0 (not 3) when some paths or combinations were not covered")
    p.add_argument("--irq-context", action="append", default=[], metavar="FUNC",
                   help="run FUNC's programs in interrupt context (repeatable); handlers "
                   "passed to the tree's IRQ registration calls are found on their own")
    p.add_argument("--no-reduce", action="store_true",
                   help="explore every combination as it is, not reader-only programs as "
                   "their sets of read sections (see README: the difftest)")
    p.add_argument("--fail-on", choices=("new", "preexisting"), default="new",
                   help="new (default): exit 1 on divergences; preexisting: also on hazards "
                   "found on both sides")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from xenpatch.rewrite.run import NOT_MODELLED, TreeError, refusal, refused_sites, run_rule
    from xenpatch.rules import RuleError, find_rule
    from xenpatch.runtime.conversion import conversion_programs
    from xenpatch.runtime.difftest import (
        Divergence,
        concrete,
        format_divergence,
        summarise_repeats,
    )
    from xenpatch.runtime.machine import Config
    from xenpatch.runtime.programs import LockDecl

    try:
        cpus = tuple(int(c) for c in args.cpus.split(","))
        if not cpus or any(c < 1 or c > 4 for c in cpus):
            raise ValueError
    except ValueError:
        print(f"xenpatch: --cpus {args.cpus}: give CPU counts from 1 to 4, e.g. 2,3",
              file=sys.stderr)
        return 2
    try:
        rule = find_rule(args.rule, tree=args.tree)
        result = run_rule(args.tree, rule)
    except (RuleError, TreeError) as exc:
        print(f"xenpatch: {exc}", file=sys.stderr)
        return 2
    if result.plan.clashes:
        for d in result.plan.clashes:
            print(str(d), file=sys.stderr)
        return 2
    refused = refusal(rule, result.plan, NOT_MODELLED)
    if refused is not None:
        # a refused plan: the same line and exit status as `xenpatch rewrite`;
        # a difftest of a partial conversion would test less than it claims
        for line in refused_sites(result.plan):
            print(line, file=sys.stderr)
        print(f"xenpatch: {refused}", file=sys.stderr)
        return 1
    if result.plan.nothing_to_do:
        # Unlike rewrite, where a converted tree is the goal reached, a
        # difftest with no conversion compared nothing: not a pass.
        print(f"xenpatch: {rule.name}: nothing to test: {result.plan.nothing_to_do}; "
              "difftest compares a tree before the conversion with the conversion "
              "(exit 3)", file=sys.stderr)
        return 3
    from xenpatch.runtime.conversion import MACRO

    converted = sorted({s.function for s in result.plan.sites if s.function != MACRO})
    for option, names in (("--function", args.function or ()), ("--irq-context",
                                                                args.irq_context)):
        unknown = sorted(set(names) - set(converted))
        if unknown:
            # A misspelt name would otherwise select nothing and pass.
            listed = ", ".join(converted[:8]) + (", ..." if len(converted) > 8 else "")
            print(f"xenpatch: {option} {unknown[0]}: not a function the conversion "
                  f"changes ({len(converted)} do: {listed or 'none'})", file=sys.stderr)
            return 2
    from xenpatch.runtime.difftest import Progress, difftest_report
    from xenpatch.runtime.era import EraError, detect
    from xenpatch.runtime.machine import MODEL_NAMES

    if args.paths is not None and args.paths < 1:
        print(f"xenpatch: --paths {args.paths}: give a positive number", file=sys.stderr)
        return 2
    if args.lock_model == "auto":
        try:
            era = detect(args.tree)
        except EraError as exc:
            print(f"xenpatch: {exc}", file=sys.stderr)
            return 2
        cfg = era.config(args.build)
        how = f"{era.description}, detected from {era.evidence}"
    else:
        cfg = Config(args.lock_model, args.build)
        how = f"{MODEL_NAMES[args.lock_model]}, --lock-model {args.lock_model}"
    from xenpatch.runtime.irqctx import irq_handlers

    only = set(args.function) if args.function else None
    irq = frozenset(irq_handlers(args.tree, list(rule.paths) or None)) | set(args.irq_context)
    progs = conversion_programs(args.tree, rule, result, only=only, per_function=args.paths,
                                irq_functions=irq)
    irq_converted = sorted(irq & {c.function for c in progs.coverage})
    for problem in progs.problems:
        print(f"note: {problem}", file=sys.stderr)
    rep = difftest_report(
        progs.pairs, cpus=cpus, before=cfg, after=cfg,
        locks_before=[LockDecl(name, "rwlock") for name in progs.locks],
        locks_after=[LockDecl(name, "percpu", rule.lock.owner) for name in progs.locks],
        max_states=args.max_states, progress=Progress("difftest combinations"),
        reduce=not args.no_reduce,
    )
    divergences = rep.divergences
    covered = sum(c.complete for c in progs.coverage)
    macros = sum(c.in_macro for c in progs.coverage)
    bodies = f", {macros} macro bod{'y' if macros == 1 else 'ies'}" if macros else ""
    print(f"{rule.name}: {progs.functions} functions{bodies} ({covered} of "
          f"{len(progs.coverage)} fully covered), {len(progs.pairs)} programs, "
          f"{rep.combinations} combinations on CPUs {','.join(map(str, cpus))}, "
          f"{args.build} build, model: {how}: "
          f"{sum(d.status != 'preexisting' for d in divergences)} divergences, "
          f"{sum(d.status == 'preexisting' for d in divergences)} hazards on both sides")
    if rep.explored < rep.combinations:
        print(f"explored: {rep.explored} distinct combinations of lock-relevant programs "
              f"for the {rep.combinations} (reader-only programs as their sets of read "
              "sections; --no-reduce to explore each)")
    if irq_converted:
        print("in interrupt context: " + ", ".join(irq_converted))
    for cov in progs.coverage:
        print(("coverage: " if cov.complete else "incomplete: ") + cov.describe())
    for names in rep.incomplete:
        print(f"incomplete: state bound {args.max_states} hit with " + " | ".join(names))
    shown: set[tuple[str, str]] = set()
    rest: list[Divergence] = []
    for dv in sorted(divergences, key=lambda v: (v.status != "new", v.kind, v.functions)):
        # One full report per (status, kind); the rest grouped by shared program.
        if (dv.status, dv.kind) in shown:
            rest.append(dv)
            continue
        shown.add((dv.status, dv.kind))
        print(format_divergence(concrete(dv, args.max_states)))
    for line in summarise_repeats(rest):
        print(line)
    if not progs.pairs:
        print(f"xenpatch: {rule.name}: nothing run: no program to run came of the "
              "converted functions (exit 3)", file=sys.stderr)
        return 3
    failing = [dv for dv in divergences
               if dv.status != "preexisting" or args.fail_on == "preexisting"]
    if failing:
        return 1
    incomplete = bool(progs.incomplete or rep.incomplete)
    if incomplete and not args.allow_incomplete:
        print(f"incomplete: {len(progs.incomplete)} converted functions or macro bodies not "
              "fully covered, "
              f"{len(rep.incomplete)} combinations cut short (exit 3; --allow-incomplete "
              "to accept)", file=sys.stderr)
        return 3
    return 0

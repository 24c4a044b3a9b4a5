"""`xenpatch difftest`: a conversion's lock behaviour before and after, on the models.

Exit codes: 0 the conversion changes no behaviour (hazards that exist on both
sides are still printed), 1 a divergence (a hazard only before or only
after), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "difftest",
        help="run the lock programs of every converted function before and after the "
        "conversion, paired on 2-3 CPUs, and report divergences",
    )
    p.add_argument("tree", type=Path, help="the Xen tree (the folder holding xen/)")
    p.add_argument("--rule", type=Path, required=True, help="a conversion rule (rules/*.toml)")
    p.add_argument("--cpus", default="2", help="CPU counts to pair functions on, e.g. 2,3")
    p.add_argument("--lock-model", choices=("rw16", "qrw"), default="rw16",
                   help="the rwlock_t of the tree's era (default rw16, the 2016 tree)")
    p.add_argument("--build", choices=("debug", "release"), default="release")
    p.add_argument("--function", action="append", default=None,
                   help="only these functions (repeatable)")
    p.add_argument("--paths", type=int, default=4, help="programs kept per function")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from xenpatch.rewrite.run import TreeError, refusal, run_rule
    from xenpatch.rules import RuleError, load_rule
    from xenpatch.runtime.cprograms import conversion_programs
    from xenpatch.runtime.difftest import difftest, format_divergence
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
        rule = load_rule(args.rule, tree=args.tree)
        result = run_rule(args.tree, rule)
    except (RuleError, TreeError) as exc:
        print(f"xenpatch: {exc}", file=sys.stderr)
        return 2
    if result.plan.clashes:
        for d in result.plan.clashes:
            print(str(d), file=sys.stderr)
        return 2
    refused = refusal(rule, result.plan)
    if refused is not None:
        # a refused plan: the same line and exit status as `xenpatch rewrite`;
        # a difftest of a partial conversion would test less than it claims
        for d in result.plan.errors + result.plan.remaining:
            print(str(d), file=sys.stderr)
        print(refused, file=sys.stderr)
        return 1
    if result.plan.nothing_to_do:
        print(f"{rule.name}: nothing to do: {result.plan.nothing_to_do}", file=sys.stderr)
        return 0
    only = set(args.function) if args.function else None
    progs = conversion_programs(args.tree, rule, result, only=only, per_function=args.paths)
    for problem in progs.problems:
        print(f"note: {problem}", file=sys.stderr)
    cfg = Config(args.lock_model, args.build)
    divergences = difftest(
        progs.pairs, cpus=cpus, before=cfg, after=cfg,
        locks_before=[LockDecl(name, "rwlock") for name in progs.locks],
        locks_after=[LockDecl(name, "percpu", rule.lock.owner) for name in progs.locks],
    )
    print(f"{rule.name}: {progs.functions} functions, {len(progs.pairs)} programs, "
          f"CPUs {','.join(map(str, cpus))}, {args.lock_model} {args.build}: "
          f"{sum(d.status != 'preexisting' for d in divergences)} divergences, "
          f"{sum(d.status == 'preexisting' for d in divergences)} hazards on both sides")
    shown: set[tuple[str, str]] = set()
    for dv in sorted(divergences, key=lambda v: (v.status != "new", v.kind, v.functions)):
        # One full report per (status, kind); the rest as one line each.
        if (dv.status, dv.kind) in shown:
            print(f"{dv.status}: {dv.kind} with " + " | ".join(dv.functions))
            continue
        shown.add((dv.status, dv.kind))
        print(format_divergence(dv))
    return 1 if any(dv.status != "preexisting" for dv in divergences) else 0

"""`xenpatch explore`: run a lock program file through the explorer.

Exit codes: 0 no hazard on any schedule, 1 hazard found, 2 bad input
(``file: reason``), 3 incomplete: a bound (``--max-states``, ``--max-memory``)
stopped the search before it had seen every schedule, and it found nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.runtime.explore import Result


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "explore",
        help="explore every schedule of a lock program on the Xen lock models",
        description="Programs are text files: 'lock NAME TYPE [OWNER]' lines, then one "
        "'cpuN: op op ...' line per CPU ('cpuN*:' loops forever).  See "
        "xenpatch/runtime/programs.py for the op names.",
    )
    p.add_argument("program", type=Path, help="lock program file")
    p.add_argument("--lock-model", choices=("rw16", "q47", "q417", "qrw"), default="qrw",
                   help="rw16: the 2016 counter rwlock; q47: the 4.7-4.13 queued rwlock "
                   "(writer byte, no writer CPU); q417: the 4.17 queued rwlock "
                   "(12-bit writer CPU); qrw: the 4.19+ layout (default)")
    p.add_argument("--build", choices=("debug", "release"), default="release",
                   help="debug builds check ASSERTs (and HEAD's lock tracking)")
    p.add_argument("--no-lock-tracking", action="store_true",
                   help="debug builds without HEAD's held-lock list "
                   "(Xen 4.17 is --lock-model qrw with this)")
    p.add_argument("--random", type=int, metavar="N",
                   help="sample N seeded random schedules instead of exhausting")
    p.add_argument("--seed", type=int, default=0, help="seed for --random")
    p.add_argument("--replay", action="store_true",
                   help="print each hazard's minimal schedule step by step")
    p.add_argument("--no-reduce", action="store_true",
                   help="explore without the partial-order and symmetry reductions")
    p.add_argument("--max-states", type=int, default=5_000_000,
                   help="stop exhaustive search after this many states (then: exit 3)")
    p.add_argument("--max-memory", type=int, default=None, metavar="MB",
                   help="stop exhaustive search when the process grows past MB megabytes "
                   "(then: exit 3)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from xenpatch.runtime.explore import explore, format_replay, random_walks
    from xenpatch.runtime.machine import Config, Machine
    from xenpatch.runtime.programs import ProgramError, parse_program_text

    path: Path = args.program
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        print(f"{path}: not UTF-8 (byte {exc.start})", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        sc = parse_program_text(text, str(path))
    except ProgramError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 2
    if args.random is not None and args.random < 1:
        print(f"{path}: --random needs a positive number of runs", file=sys.stderr)
        return 2
    tracking = False if args.no_lock_tracking else None
    m = Machine(sc, Config(args.lock_model, args.build, lock_tracking=tracking))
    if args.random is not None:
        res = random_walks(m, args.random, args.seed)
        mode = f"random, {args.random} runs, seed {args.seed}"
    else:
        res = explore(m, reduce=not args.no_reduce, max_states=args.max_states,
                      max_memory_mb=args.max_memory, progress=sys.stderr.isatty(),
                      symmetry=not args.no_reduce)
        mode = "exhaustive" + ("" if res.complete else
                               f" (INCOMPLETE: stopped by {res.stopped_by})")
    print(_summary(res, mode, args))
    for h in sorted(res.hazards.values(), key=lambda h: (h.kind, len(h.schedule), h.message)):
        if args.replay:
            print()
            print(format_replay(m, h))
        else:
            sched = " ".join(str(c) for c in h.schedule)
            print(f"{h.kind}: {h.message}\n  schedule ({len(h.schedule)} steps): {sched}")
    if res.hazards:
        return 1
    if not res.complete and args.random is None:
        print(f"{path}: incomplete: {res.stopped_by} stopped the search; 0 hazards proves "
              "nothing (exit 3)", file=sys.stderr)
        return 3
    return 0


def _summary(res: Result, mode: str, args: argparse.Namespace) -> str:
    from xenpatch.runtime.machine import MODEL_NAMES

    return (f"{args.program}: {MODEL_NAMES[args.lock_model]}, {args.build}, {mode}: "
            f"{res.states} states, "
            f"{res.transitions} transitions, {res.seconds:.2f}s, "
            f"{len(res.outcomes)} final outcomes, {len(res.hazards)} hazards")

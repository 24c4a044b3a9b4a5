"""`xenpatch cost`: what a lock costs in cache-line transfers, and the
read-side throughput that follows, per lock type and CPU count.

Exit codes: 0 the table was printed; 2 bad input (one line: what and why);
3 incomplete: with ``--rule``, the tree gave no read or write site of the
lock, or some of its paths were cut (``--allow-incomplete`` turns the
latter into 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

from xenpatch.paths import tree_arg

if TYPE_CHECKING:
    from xenpatch.runtime.machine import LockModel


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "cost",
        help="predict, from the lock models, what converting a lock to percpu_rwlock_t "
        "does to read-side throughput as CPUs are added",
        description="Runs each lock type's operations on the runtime's lock models "
        "through a cache-line model and a queueing model (docs/cost-model.md).",
    )
    p.add_argument("tree", type=tree_arg, nargs="?", help="with --rule: the Xen tree "
                   "(the folder holding xen/) to take the lock's read/write mix from")
    p.add_argument("--rule", type=Path, help="a conversion rule (a .toml file, or a bundled "
                   "rule's name: grant_table): predict for the lock it converts, with the "
                   "read/write mix of its sites in TREE")
    p.add_argument("--weights", type=Path, metavar="FILE",
                   help="with --rule: 'function count' lines (a profile); functions not "
                   "listed count 0; default: every converted function once")
    p.add_argument("--cpus", default="1,2,4,8,16,32,64", help="CPU counts (default "
                   "1,2,4,8,16,32,64; at most 128)")
    p.add_argument("--write-fraction", type=float, default=None,
                   help="share of sections that are write sections (default 0; with --rule "
                   "taken from the tree)")
    p.add_argument("--section-ns", type=float, default=100.0,
                   help="length of a read section's body in ns (default 100)")
    p.add_argument("--sockets", type=int, default=2, help="sockets the CPUs spread over "
                   "(default 2)")
    p.add_argument("--same-socket-ns", type=float, default=40.0,
                   help="line transfer between cores of one socket (default 40)")
    p.add_argument("--cross-socket-ns", type=float, default=120.0,
                   help="line transfer between sockets (default 120)")
    p.add_argument("--rmw-ns", type=float, default=7.0,
                   help="a locked RMW on a line the CPU holds (default 7)")
    p.add_argument("--barrier-ns", type=float, default=10.0, help="a full barrier (default 10)")
    p.add_argument("--access-ns", type=float, default=1.0,
                   help="a plain load or store hitting L1 (default 1)")
    p.add_argument("--outside-ns", type=float, default=0.0,
                   help="work each CPU does between sections, holding no lock (default 0: "
                   "the lock alone)")
    p.add_argument("--lock-model", choices=("rw16", "q47", "q417", "qrw"), default=None,
                   help="the era of spinlock_t, percpu_rwlock_t and the baseline rwlock_t "
                   "(default: the tree's with --rule, else rw16)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="also draw throughput against CPUs (needs xenpatch[plot])")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="with --rule: exit 0 (not 3) when some of the lock's paths were cut")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from xenpatch.cost.counts import CostError
    from xenpatch.cost.mix import read_weights, tree_mix
    from xenpatch.cost.report import as_json, build, format_mix, format_table, plot
    from xenpatch.cost.throughput import Params

    try:
        cpus = [int(c) for c in args.cpus.split(",")]
    except ValueError:
        raise CostError(f"--cpus {args.cpus}: give CPU counts like 1,2,4") from None
    if (args.rule is None) != (args.tree is None):
        raise CostError("--rule and TREE go together: xenpatch cost --rule RULE TREE")
    if args.weights is not None and args.rule is None:
        raise CostError("--weights needs --rule RULE TREE")
    if args.rule is not None and args.write_fraction is not None:
        raise CostError("--write-fraction and --rule both set the write fraction: give one")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise CostError(f"--plot {args.plot}: give a .png file")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            from xenpatch.cost.report import PLOT_HINT

            print(f"xenpatch: --plot needs matplotlib: {PLOT_HINT}", file=sys.stderr)
            return 2
    mix = None
    era: LockModel = args.lock_model or "rw16"
    write_fraction = args.write_fraction or 0.0
    if args.rule is not None:
        weights = read_weights(args.weights) if args.weights is not None else None
        mix = tree_mix(args.tree, args.rule, weights, args.lock_model)
        era = args.lock_model or cast("LockModel", mix.model)
        for note in mix.notes:
            print(f"note: {note}", file=sys.stderr)
        for name in mix.unweighted:
            print(f"note: {args.weights}: {name} is not a converted function", file=sys.stderr)
        if mix.reads + mix.writes == 0:
            print(f"{args.tree}: {mix.rule}: no read or write acquisition of the lock "
                  "(with these weights): nothing to predict (exit 3)", file=sys.stderr)
            return 3
        write_fraction = mix.write_fraction
    params = Params(args.section_ns, write_fraction, args.sockets, args.same_socket_ns,
                    args.cross_socket_ns, args.rmw_ns, args.barrier_ns, args.access_ns,
                    args.outside_ns)
    rep = build(era, params, cpus, mix)
    if args.json:
        print(json.dumps(as_json(rep), indent=2))
    else:
        if mix is not None:
            print(format_mix(mix))
            print()
        print(format_table(rep))
    if args.plot is not None:
        plot(rep, args.plot)
    if mix is not None and any(n.startswith("incomplete") for n in mix.notes) \
            and not args.allow_incomplete:
        print("incomplete: some of the lock's paths were cut, the mix leaves them out "
              "(exit 3; --allow-incomplete to accept)", file=sys.stderr)
        return 3
    return 0

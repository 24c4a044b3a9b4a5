"""`xenpatch difftest --cpus 2,3` on the 2016 grant table (issue 12's last
scale target: <= 60 s), against the unreduced path in the same process.

    .venv/bin/python bench/difftest_scale.py [--tree DIR] [--rule FILE]
        [--sample N] [--no-old]

Prints, with wall and CPU seconds and the load average:
* the command itself, end to end (a child process: its CPU time from
  getrusage(RUSAGE_CHILDREN));
* the reduced difftest in-process (programs derived once, then explored);
* the old path: every 2-CPU combination explored as it is, and the 3-CPU
  ones estimated from N sampled combinations (all of them take hours), and
  the ratio; the sampled combinations' hazard kinds and labels are compared
  with the reduced run's, a spot check of the reduction on real programs.
Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xenpatch.rewrite.run import run_rule  # noqa: E402
from xenpatch.rules import load_rule  # noqa: E402
from xenpatch.runtime.conversion import conversion_programs  # noqa: E402
from xenpatch.runtime.difftest import (  # noqa: E402
    Report,
    difftest_report,
    explore_combination,
)
from xenpatch.runtime.era import detect  # noqa: E402
from xenpatch.runtime.machine import Config  # noqa: E402
from xenpatch.runtime.programs import LockDecl  # noqa: E402


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def labels(rep: Report) -> dict[tuple[str, ...], set[tuple[str, str]]]:
    out: dict[tuple[str, ...], set[tuple[str, str]]] = {}
    for d in rep.divergences:
        out.setdefault(tuple(sorted(d.functions)), set()).add((d.kind, d.status))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=Path("/work/trees/ef9dd43ddd"))
    ap.add_argument("--rule", type=Path, default=ROOT / "rules/grant_table.toml")
    ap.add_argument("--sample", type=int, default=40,
                    help="3-CPU combinations explored the old way for the estimate")
    ap.add_argument("--no-old", action="store_true", help="skip the old path")
    args = ap.parse_args()
    if not (args.tree / "xen").is_dir():
        print(f"{args.tree}: no xen/ here: nothing to measure", file=sys.stderr)
        sys.exit(2)
    print(f"tree {args.tree}, rule {args.rule.name}; load before: {load()}")

    cmd = [str(ROOT / ".venv/bin/xenpatch"), "difftest", str(args.tree), "--rule",
           str(args.rule), "--cpus", "2,3"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    head = proc.stdout.splitlines()[:2]
    print(f"command `difftest --cpus 2,3`: {wall:.1f} s wall, {cpu:.1f} CPU s, exit "
          f"{proc.returncode}, load after: {load()}")
    for line in head:
        print(f"  {line[:220]}")

    rule = load_rule(args.rule, tree=args.tree)
    c0, t0 = time.process_time(), time.perf_counter()
    result = run_rule(args.tree, rule)
    progs = conversion_programs(args.tree, rule, result)
    era = detect(args.tree)
    print(f"programs derived: {len(progs.pairs)} in {time.perf_counter() - t0:.1f} s wall, "
          f"{time.process_time() - c0:.1f} CPU s; model {era.lock_model}")
    cfg = Config(era.lock_model, "release", lock_tracking=era.lock_tracking)
    kw = dict(before=cfg, after=cfg,
              locks_before=[LockDecl(n, "rwlock") for n in progs.locks],
              locks_after=[LockDecl(n, "percpu", rule.lock.owner) for n in progs.locks])
    c0, t0 = time.process_time(), time.perf_counter()
    red = difftest_report(progs.pairs, cpus=(2, 3), **kw)  # type: ignore[arg-type]
    new_cpu, new_wall = time.process_time() - c0, time.perf_counter() - t0
    print(f"reduced, CPUs 2,3: {red.combinations} combinations as {red.explored} explorations, "
          f"{red.states} states, {new_wall:.1f} s wall, {new_cpu:.1f} CPU s; "
          f"{sum(d.status != 'preexisting' for d in red.divergences)} divergences, "
          f"{sum(d.status == 'preexisting' for d in red.divergences)} on both sides; "
          f"load: {load()}")
    if args.no_old:
        return

    c0 = time.process_time()
    old2 = difftest_report(progs.pairs, cpus=(2,), reduce=False, **kw)  # type: ignore[arg-type]
    old2_cpu = time.process_time() - c0
    red_labels = labels(red)
    same2 = all(red_labels.get(k, set()) == v for k, v in labels(old2).items())
    print(f"old path, CPUs 2: {old2.combinations} explorations, {old2_cpu:.1f} CPU s; "
          f"labels as the reduced run's: {'yes' if same2 else 'NO'}")
    combos3 = list(itertools.combinations_with_replacement(range(len(progs.pairs)), 3))
    rng = random.Random(12)
    sample = rng.sample(combos3, min(args.sample, len(combos3)))
    c0 = time.process_time()
    agree = 0
    for combo in sample:
        one = explore_combination([progs.pairs[k][1:] for k in combo], list(combo), cfg, cfg,
                                  kw["locks_before"], kw["locks_after"],  # type: ignore[arg-type]
                                  2_000_000)
        want = {(kind, status) for kind, status, _, _ in one.found}
        got = red_labels.get(tuple(sorted(progs.pairs[k][0] for k in combo)), set())
        agree += want == got
    per = (time.process_time() - c0) / len(sample)
    old3_cpu = per * len(combos3)
    print(f"old path, CPUs 3: {len(sample)} of {len(combos3)} combinations sampled, "
          f"{per:.2f} CPU s each, "
          f"estimate {old3_cpu:.0f} CPU s; labels as the reduced run's in {agree} of "
          f"{len(sample)}")
    old_cpu = old2_cpu + old3_cpu
    print(f"ratio old/new (CPU, CPUs 2,3, exploration only): x{old_cpu / new_cpu:.0f} "
          f"({old_cpu:.0f} / {new_cpu:.1f}); load after: {load()}")


if __name__ == "__main__":
    main()

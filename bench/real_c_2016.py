"""The 2016 lock model against the 2016 C: the grant-table conversion's parent
tree (its spinlock.c holds spinlocks, the counter rwlock and the percpu
rwlock) built for user space with the test shim, run on threads for every
case of tests/runtime/test_real_c.py, and every outcome the threads show
(final lock words, acquisition order, trylock and query results, overlaps,
hangs, ASSERTs) checked against the ``rw16`` model's outcomes.

    .venv/bin/python bench/real_c_2016.py [--tree /work/trees/ef9dd43ddd] [--runs N]

Prints, per case, how the runs ended (R finished, S hung, A asserted), the
model's outcomes and the real outcomes the model does not allow (there
should be none); exits 1 if there are any, 2 if the tree or gcc is missing.
The machine's load changes how many interleavings the threads show.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))

import test_real_c as T  # noqa: E402  (the cases and both sides' renderers)

from xenpatch.runtime.explore import explore  # noqa: E402
from xenpatch.runtime.machine import Config, Machine  # noqa: E402
from xenpatch.runtime.programs import parse_program_text  # noqa: E402

CSHIM = ROOT / "tests" / "runtime" / "cshim"


def build(tree: Path, out: Path, debug: bool) -> Path:
    """The harness over the 2016 spinlock.c.  Two headers the 2016 tree
    includes and the 4.17 shim lacks are written here: an empty
    <xen/config.h>, and <xen/rwlock.h> (the harness's include) pointing at
    <xen/spinlock.h>, where 2016 kept its rwlocks."""
    inc = out / "inc16" / "xen"
    inc.mkdir(parents=True, exist_ok=True)
    (inc / "config.h").write_text("/* empty: xenshim.h provides the configuration */\n")
    (inc / "rwlock.h").write_text("#include <xen/spinlock.h>\n")
    exe = out / ("h16-debug" if debug else "h16-release")
    cmd = ["gcc", "-O2", "-std=gnu99", "-fgnu89-inline", "-pthread",
           "-include", str(CSHIM / "xenshim.h"), "-I", str(out / "inc16"),
           "-I", str(CSHIM / "include"), "-I", str(tree / "xen/include"),
           "-o", str(exe), str(CSHIM / "harness.c"), str(tree / "xen/common/spinlock.c")]
    if not debug:
        cmd.insert(1, "-DNDEBUG")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"building the 2016 harness failed:\n{proc.stderr[-3000:]}")
    return exe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=Path("/work/trees/ef9dd43ddd"))
    ap.add_argument("--runs", type=int, default=None, help="runs per case and seed")
    args = ap.parse_args()
    if shutil.which("gcc") is None or not (args.tree / "xen/common/spinlock.c").is_file():
        print(f"{args.tree}: no 2016 spinlock.c (or no gcc)", file=sys.stderr)
        return 2
    bad = 0
    with tempfile.TemporaryDirectory(prefix="xenpatch-h16-") as tmp:
        exes = {b: build(args.tree, Path(tmp), b == "debug") for b in ("release", "debug")}
        print(f"{'case':36} {'build':7} {'runs':>5} {'ends R/S/A':>11} {'model outcomes':>14} "
              f"{'not allowed':>11} {'seconds':>8}")
        for case in T.CASES:
            t0 = time.perf_counter()
            sc = parse_program_text(case.text, case.name)
            m = Machine(sc, Config("rw16", case.build, record_order=True))  # type: ignore[arg-type]
            res = explore(m)
            outcomes, overlaps = T.model_view(m, res)
            runs = args.runs or case.runs
            wrong: list[str] = []
            tags = {"R": 0, "S": 0, "A": 0}
            for seed in (1, 2):
                for line in T.run_harness(exes[case.build], sc, runs, case.timeout_ms, seed):
                    tag, _, rest = line.partition(" ")
                    tags[tag] = tags.get(tag, 0) + 1
                    if tag == "R":
                        f = dict(x.split("=", 1) for x in rest.split(" "))
                        if (f["order"], f["obs"], f["fin"]) not in outcomes:
                            wrong.append(line)
                        wrong += [f"overlap {ov}" for ov in filter(None, f["ov"].split(","))
                                  if ov not in overlaps]
                    elif tag == "S":
                        stuck = tuple(None if x == "-1" else int(x) for x in rest.split(","))
                        if stuck not in res.stuck:
                            wrong.append(line)
                    elif tag == "A":
                        cpu, op, _ = rest.split(" ", 2)
                        if ("assert", int(cpu), int(op)) not in res.crash_points:
                            wrong.append(line)
            bad += len(wrong)
            ends = f"{tags['R']}/{tags['S']}/{tags['A']}"
            print(f"{case.name:36} {case.build:7} {2 * runs:5d} {ends:>11} {len(outcomes):14d} "
                  f"{len(wrong):11d} {time.perf_counter() - t0:8.2f}")
            for w in sorted(set(wrong))[:5]:
                print(f"    not allowed by the model: {w}")
    print(f"2016 C vs rw16 model: {bad} outcomes the model does not allow")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

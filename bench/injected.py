"""Lock bugs injected into real Xen trees, each file linted alone as the
pre-commit hook lints it (lazy cross-file summaries from the tree's cache).

    .venv/bin/python bench/injected.py [--per-shape N] [--spread K] TREE/xen ...

The shapes and how their sites are found: tests/lint/injection.py.  For
each injection: reported (the expected check at the expected line, with the
lock and the bug's lines among its path's notes), or missed, with what the
lint said there instead.  Prints per shape and tree, then the CPU and wall
time and the load.  Exit 0 when every injection is reported, 1 otherwise.

With ``--whole``, the injections the hook missed are linted again in a
whole-tree run of their tree (``xenpatch lint TREE/xen``'s files, as many
injected files at once as hold one injection each), which says whether a
miss is the hook's alone (its lazy summaries stop short of what the
whole-tree rounds follow) or the lint's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from lint.injection import Injection, injections  # noqa: E402

from xenpatch.lint.findings import Finding  # noqa: E402
from xenpatch.lint.inputs import collect_files  # noqa: E402
from xenpatch.lint.run import default_jobs, lint_files  # noqa: E402


def lint_injected(xen: Path, inj: Injection) -> list[Finding]:
    path = xen / inj.rel
    [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
    return r.findings


def verdict(inj: Injection, found: list[Finding]) -> Finding | None:
    """The finding that reports ``inj`` with its path, if any."""
    for f in found:
        if f.check == inj.check and f.line == inj.line:
            shown = {s.line for s in f.flow} | {f.line}
            if set(inj.path_lines) <= shown:
                return f
    return None


def whole_tree(xen: Path, missed: list[Injection]) -> list[Injection]:
    """Of ``missed``, the ones a whole-tree run of ``xen`` reports."""
    files = collect_files([xen])
    caught: list[Injection] = []
    rest = list(missed)
    while rest:
        batch: dict[str, Injection] = {}
        for inj in rest:
            batch.setdefault(inj.rel, inj)
        rest = [inj for inj in rest if batch[inj.rel] is not inj]
        results = lint_files(files, jobs=default_jobs(),
                             contents={xen / r: inj.text for r, inj in batch.items()})
        found = [f for r in results for f in r.findings]
        for rel, inj in batch.items():
            mine = [f for f in found if f.path == rel or f.path.endswith("/" + rel)]
            if verdict(inj, mine) is not None:
                caught.append(inj)
    return caught


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trees", nargs="+", type=Path, help="xen/ folders")
    ap.add_argument("--per-shape", type=int, default=8)
    ap.add_argument("--spread", type=int, default=1)
    ap.add_argument("--whole", action="store_true",
                    help="lint the tree whole for each injection the hook missed")
    args = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    missed = 0
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XENPATCH_CACHE"] = cache
        for xen in args.trees:
            tally: Counter[tuple[str, bool]] = Counter()
            misses: list[Injection] = []
            for inj in injections(xen, args.per_shape, args.spread):
                found = lint_injected(xen, inj)
                ok = verdict(inj, found) is not None
                tally[(inj.shape, ok)] += 1
                if not ok:
                    missed += 1
                    misses.append(inj)
                    near = [f"{f.line}:{f.check}" for f in found if f.function == inj.function]
                    print(f"  MISSED {xen} {inj} (in that function: {near or 'nothing'})")
            print(f"{xen}:")
            for shape in sorted({s for s, _ in tally}):
                ok, bad = tally[(shape, True)], tally[(shape, False)]
                print(f"  {shape:24} {ok}/{ok + bad} reported")
            if args.whole and misses:
                caught = whole_tree(xen, misses)
                for inj in misses:
                    said = "reported" if inj in caught else "missed too"
                    print(f"  whole-tree run: {said}: {inj}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"time: wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - c0:.1f} s "
          f"(maxrss {usage.ru_maxrss // 1024} MB), load {load}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
